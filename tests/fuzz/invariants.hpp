// The invariants every decoder fuzz target checks; a violation traps, so libFuzzer (and
// the plain replay main) stops on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "protocol/messages.hpp"

namespace socksify::fuzz {

inline void require(bool ok) {
    if (!ok) __builtin_trap();
}

// Decodes data, then checks: consumed <= size and is non-zero exactly when done; over
// growing prefixes the answer is need-more, then either done at one fixed length or
// malformed for good; a done message re-encodes to exactly the consumed bytes and does
// not fit a buffer one byte short.
template <typename M, proto::Result (*Decode)(proto::Bytes, M&),
          size_t (*Encode)(proto::Out, const M&)>
int check(const uint8_t* data, size_t size) {
    using proto::Status;
    const proto::Bytes in(data, size);
    M m{};
    const proto::Result r = Decode(in, m);
    require(r.consumed <= size);
    require((r.status == Status::kDone) == (r.consumed != 0));
    if (r.status == Status::kDone) {
        uint8_t buf[proto::kMaxUserPass + 1];  // the largest message
        const proto::Out out(buf);
        require(Encode(out, m) == r.consumed);
        require(std::memcmp(buf, data, r.consumed) == 0);
        require(Encode(out.first(r.consumed - 1), m) == 0);
    }
    // Decoders read a bounded header, so past the largest message nothing changes.
    const size_t last = size < proto::kMaxUserPass + 1 ? size : proto::kMaxUserPass + 1;
    bool malformed = false;
    for (size_t len = 0; len <= last; ++len) {
        M p{};
        const proto::Result pr = Decode(in.first(len), p);
        if (r.status == Status::kDone) {
            require(len < r.consumed ? pr == proto::Result{Status::kNeedMore, 0} : pr == r);
        } else if (r.status == Status::kNeedMore) {
            require(pr == proto::Result{Status::kNeedMore, 0});
        } else {
            require(pr.consumed == 0 && pr.status != Status::kDone);
            require(!malformed || pr.status == Status::kMalformed);
            malformed = pr.status == Status::kMalformed;
        }
    }
    return 0;
}

}  // namespace socksify::fuzz
