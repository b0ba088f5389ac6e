// libFuzzer target: decode_dns_query, and encode_dns_answer on what it decoded.
// Invariants: consumed <= size and non-zero exactly when done; the name is NUL-ended
// at name_len; an answer's question decodes back to the same name; encoding never
// claims more than the buffer and fails cleanly one byte short.
#include <cstring>

#include "protocol/dns_message.hpp"
#include "tests/fuzz/invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace socksify::proto;
    using socksify::fuzz::require;
    DnsQuery q;
    const Result r = decode_dns_query(Bytes(data, size), q);
    require(r.consumed <= size);
    require((r.status == Status::kDone) == (r.consumed != 0));
    require(q.has_question == (r.status == Status::kDone));
    require(q.name_len <= kDnsMaxName && q.name[q.name_len] == '\0');
    require(std::strlen(q.name) == q.name_len);
    static const uint8_t kAddrs[kDnsMaxAnswers * 16] = {198, 18, 0, 1};
    uint8_t out[kDnsMaxAnswer];
    for (size_t len : {size_t{4}, size_t{16}}) {
        const size_t count = size % (kDnsMaxAnswers + 1);
        const size_t n = encode_dns_answer(Out(out), q, DnsRcode::kNoError, kAddrs, len, count, 60);
        require(n != 0 && n <= sizeof out);
        require(encode_dns_answer(Out(out, n - 1), q, DnsRcode::kNoError, kAddrs, len, count, 60) ==
                0);
        if (!q.has_question) {
            require(n == kDnsHeaderSize);
            continue;
        }
        out[2] &= 0x7f;  // the answer's header and question, read as a query
        out[6] = out[7] = 0;
        DnsQuery again;
        require(decode_dns_query(Bytes(out, n), again).status == Status::kDone);
        require(again.name_len == q.name_len && std::memcmp(again.name, q.name, q.name_len) == 0);
        require(again.qtype == q.qtype && again.qclass == q.qclass && again.id == q.id);
    }
    return 0;
}
