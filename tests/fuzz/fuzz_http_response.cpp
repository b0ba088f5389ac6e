// libFuzzer target: the HTTP CONNECT response-head decoder. It has no encoder, so the
// invariants are checked directly: consumed ≤ size and ends on an LF; prefixes are
// need-more, then done at one length, or malformed for good; the errno table is total.
#include "protocol/http_connect.hpp"
#include "tests/fuzz/invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace socksify::proto;
    using socksify::fuzz::require;
    const Bytes in(data, size);
    http::Response r;
    const Result whole = http::decode_response(in, r);
    require(whole.consumed <= size);
    require((whole.status == Status::kDone) == (whole.consumed != 0));
    if (whole.status == Status::kDone) {
        require(data[whole.consumed - 1] == '\n');
        require(r.status >= 100 && r.status <= 599);
        (void)http::status_errno(r.status);
    }
    const size_t last = size < http::kMaxResponseHead + 1 ? size : http::kMaxResponseHead + 1;
    bool malformed = false;
    // Every prefix up to 512 bytes, then every 97th: bounded work per input.
    for (size_t len = 0; len <= last; len += len < 512 ? 1 : 97) {
        http::Response p;
        const Result pr = http::decode_response(in.first(len), p);
        if (whole.status == Status::kDone) {
            require(len < whole.consumed ? pr == Result{Status::kNeedMore, 0} : pr == whole);
        } else if (whole.status == Status::kNeedMore) {
            require(pr == Result{Status::kNeedMore, 0});
        } else {
            require(pr.status != Status::kDone);
            require(!malformed || pr.status == Status::kMalformed);
            malformed = pr.status == Status::kMalformed;
        }
    }
    return 0;
}
