// libFuzzer target: decode_address (RFC 1928 §5) against the codec invariants.
#include "tests/fuzz/invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace socksify::proto;
    return socksify::fuzz::check<Address, decode_address, encode_address>(data, size);
}
