// libFuzzer target: decode_request (RFC 1928 §4) against the codec invariants.
#include "tests/fuzz/invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace socksify::proto;
    return socksify::fuzz::check<Request, decode_request, encode_request>(data, size);
}
