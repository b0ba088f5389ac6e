// Codec cost: encode and decode of the messages on the connect path.
#include <benchmark/benchmark.h>

#include <array>

#include "protocol/messages.hpp"

namespace socksify::proto {
namespace {

Request connect_request() {
    Request r;
    r.command = Command::kConnect;
    r.address.type = AddrType::kDomain;
    r.address.domain = "www.example.com";
    r.address.port = 443;
    return r;
}

void BM_EncodeGreetingAndRequest(benchmark::State& state) {
    static constexpr uint8_t kMethods[] = {0x00};
    std::array<uint8_t, kMaxGreeting + kMaxRequest> buf{};
    Request r = connect_request();
    for (auto _ : state) {
        size_t n = encode_greeting(buf, Greeting{Bytes(kMethods)});
        n += encode_request(Out(buf).subspan(n), r);
        benchmark::DoNotOptimize(n);
        benchmark::DoNotOptimize(buf.data());
    }
}
BENCHMARK(BM_EncodeGreetingAndRequest);

void BM_DecodeReplyIpv4(benchmark::State& state) {
    static constexpr uint8_t kReply[] = {5, 0, 0, 1, 198, 51, 100, 1, 0x04, 0x38};
    for (auto _ : state) {
        ReplyMessage m;
        Result r = decode_reply(Bytes(kReply), m);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(m);
    }
}
BENCHMARK(BM_DecodeReplyIpv4);

void BM_DecodeRequestDomain(benchmark::State& state) {
    std::array<uint8_t, kMaxRequest> buf{};
    size_t n = encode_request(buf, connect_request());
    for (auto _ : state) {
        Request m;
        Result r = decode_request(Bytes(buf.data(), n), m);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(m);
    }
}
BENCHMARK(BM_DecodeRequestDomain);

}  // namespace
}  // namespace socksify::proto
