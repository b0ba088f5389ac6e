// libFuzzer target: decode_userpass_status (RFC 1929 §2) against the codec invariants.
#include "tests/fuzz/invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace socksify::proto;
    return socksify::fuzz::check<UserPassStatus, decode_userpass_status, encode_userpass_status>(
        data, size);
}
