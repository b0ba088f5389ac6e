// libFuzzer target: decode_userpass_request (RFC 1929 §2) against the codec invariants.
#include "tests/fuzz/invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace socksify::proto;
    return socksify::fuzz::check<UserPassRequest, decode_userpass_request, encode_userpass_request>(
        data, size);
}
