// libFuzzer target: decode_method_selection (RFC 1928 §3) against the codec invariants.
#include "tests/fuzz/invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace socksify::proto;
    return socksify::fuzz::check<MethodSelection, decode_method_selection, encode_method_selection>(
        data, size);
}
