// libFuzzer target: decode_reply (RFC 1928 §6) against the codec invariants.
#include "tests/fuzz/invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace socksify::proto;
    return socksify::fuzz::check<ReplyMessage, decode_reply, encode_reply>(data, size);
}
