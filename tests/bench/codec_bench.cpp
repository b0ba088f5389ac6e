// Codec cost: encode and decode of every SOCKS5 message (RFC 1928, RFC 1929), plus
// the pipelined greeting+request a client writes in one go.
#include <benchmark/benchmark.h>

#include <array>
#include <string>

#include "protocol/messages.hpp"

namespace socksify::proto {
namespace {

Address ipv4() {
    Address a;
    a.type = AddrType::kIpv4;
    a.ip = {198, 51, 100, 1};
    a.port = 1080;
    return a;
}

Address ipv6() {
    Address a;
    a.type = AddrType::kIpv6;
    a.ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    a.port = 443;
    return a;
}

Address domain() {
    Address a;
    a.type = AddrType::kDomain;
    a.domain = "www.example.com";
    a.port = 443;
    return a;
}

// Registers BM_Encode/<name> and BM_Decode/<name> for one message. The decoder gets
// the encoder's bytes; a fresh message object each iteration, as callers use it.
template <typename Msg>
void add(const std::string& name, Msg m, size_t (*encode)(Out, const Msg&),
         Result (*decode)(Bytes, Msg&)) {
    benchmark::RegisterBenchmark(("BM_Encode/" + name).c_str(), [=](benchmark::State& state) {
        std::array<uint8_t, kMaxUserPass> buf{};
        for (auto _ : state) {
            size_t n = encode(buf, m);
            benchmark::DoNotOptimize(n);
            benchmark::DoNotOptimize(buf.data());
            benchmark::ClobberMemory();
        }
    });
    benchmark::RegisterBenchmark(("BM_Decode/" + name).c_str(), [=](benchmark::State& state) {
        std::array<uint8_t, kMaxUserPass> buf{};
        size_t n = encode(buf, m);
        if (n == 0) {
            state.SkipWithError("encoding failed");
            return;
        }
        for (auto _ : state) {
            Msg out;
            Result r = decode(Bytes(buf.data(), n), out);
            benchmark::DoNotOptimize(r);
            benchmark::DoNotOptimize(out);
        }
    });
}

constexpr uint8_t kNoAuth[] = {0x00};
constexpr uint8_t kNoAuthOrUserPass[] = {0x00, 0x02};

[[maybe_unused]] const bool kRegistered = [] {
    add("greeting_noauth", Greeting{Bytes(kNoAuth)}, encode_greeting, decode_greeting);
    add("greeting_two", Greeting{Bytes(kNoAuthOrUserPass)}, encode_greeting, decode_greeting);
    add("method_selection", MethodSelection{Method::kNoAuth}, encode_method_selection,
        decode_method_selection);
    add("userpass_request", UserPassRequest{"alice", "correct horse battery staple"},
        encode_userpass_request, decode_userpass_request);
    add("userpass_status", UserPassStatus{0}, encode_userpass_status, decode_userpass_status);
    add("request_ipv4", Request{Command::kConnect, ipv4()}, encode_request, decode_request);
    add("request_ipv6", Request{Command::kConnect, ipv6()}, encode_request, decode_request);
    add("request_domain", Request{Command::kConnect, domain()}, encode_request, decode_request);
    add("udp_associate", Request{Command::kUdpAssociate, Address{}}, encode_request,
        decode_request);
    add("reply_ipv4", ReplyMessage{Reply::kSucceeded, ipv4()}, encode_reply, decode_reply);
    add("reply_ipv6", ReplyMessage{Reply::kSucceeded, ipv6()}, encode_reply, decode_reply);
    add("reply_domain", ReplyMessage{Reply::kSucceeded, domain()}, encode_reply, decode_reply);
    return true;
}();

// What the handshake driver writes for a pipelined no-auth CONNECT by name.
void BM_EncodePipelinedConnect(benchmark::State& state) {
    std::array<uint8_t, kMaxGreeting + kMaxRequest> buf{};
    const Request r{Command::kConnect, domain()};
    for (auto _ : state) {
        size_t n = encode_greeting(buf, Greeting{Bytes(kNoAuth)});
        n += encode_request(Out(buf).subspan(n), r);
        benchmark::DoNotOptimize(n);
        benchmark::DoNotOptimize(buf.data());
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_EncodePipelinedConnect);

}  // namespace
}  // namespace socksify::proto
