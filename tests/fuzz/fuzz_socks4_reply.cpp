// libFuzzer target: the SOCKS4 reply decoder against the codec invariants.
#include "protocol/socks4.hpp"
#include "tests/fuzz/invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace socksify::proto;
    return socksify::fuzz::check<socks4::Reply, socks4::decode_reply, socks4::encode_reply>(data,
                                                                                          size);
}
