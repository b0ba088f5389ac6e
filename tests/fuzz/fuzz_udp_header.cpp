// libFuzzer target: decode_udp_header (RFC 1928 §7) against the codec invariants.
#include "tests/fuzz/invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace socksify::proto;
    return socksify::fuzz::check<UdpHeader, decode_udp_header, encode_udp_header>(data, size);
}
