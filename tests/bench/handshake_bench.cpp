// A full no-auth CONNECT handshake through run_handshake over an AF_UNIX
// socketpair whose other end answers with the codec's server side; next to it, a
// client that writes the pre-encoded bytes itself (the limit).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "protocol/messages.hpp"
#include "shim/proxy/handshake.hpp"
#include "shim/io.hpp"

namespace socksify::shim {
namespace {

using proto::Bytes;
using proto::Out;
using proto::Status;

bool write_all(int fd, const uint8_t* p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

// A SOCKS5 server reduced to the codec: decodes greeting and request as they
// arrive, answers "no auth" and "succeeded, bound 192.0.2.1:4321". The answers to
// every message one read brought are written together, as a pipelining-aware
// server does. Runs until the client end closes.
//
// The server is a forked child, not a thread: the first thread a process creates
// makes glibc route every later read/write through its cancellation-point path
// for good (+22 ns per call here), which would skew hooks_bench in the same run.
// Both ends share one CPU while it runs: on a small VM a wake-up across CPUs
// costs tens of microseconds and varies tenfold between runs, which would drown
// the driver's own cost (measured: stddev ~25 us unpinned, ~30 ns pinned).
class Proxy {
  public:
    Proxy() {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_) != 0) return;
        pinned_ = pin_to_current_cpu();  // the child inherits the affinity
        pid_ = fork();
        if (pid_ == 0) {
            close(fds_[0]);
            serve(fds_[1]);
            _exit(0);
        }
        close(fds_[1]);
    }
    ~Proxy() {
        if (fds_[0] >= 0) close(fds_[0]);  // the server sees EOF and exits
        if (pid_ > 0) waitpid(pid_, nullptr, 0);
        if (pinned_) sched_setaffinity(0, sizeof saved_, &saved_);
    }
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    bool ok() const { return pid_ > 0; }
    int client_fd() const { return fds_[0]; }

  private:
    bool pin_to_current_cpu() {
        int cpu = sched_getcpu();
        if (cpu < 0 || sched_getaffinity(0, sizeof saved_, &saved_) != 0) return false;
        cpu_set_t one{};
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        return sched_setaffinity(0, sizeof one, &one) == 0;
    }

    static void serve(int fd) {
        std::array<uint8_t, 4096> buf{};
        size_t have = 0;
        bool want_greeting = true;
        proto::ReplyMessage reply;
        reply.bound.ip = {192, 0, 2, 1};
        reply.bound.port = 4321;
        for (;;) {
            ssize_t n = read(fd, buf.data() + have, buf.size() - have);
            if (n <= 0) return;
            have += static_cast<size_t>(n);
            std::array<uint8_t, 64> out{};
            size_t out_len = 0;
            size_t pos = 0;
            for (;;) {
                Bytes in(buf.data() + pos, have - pos);
                proto::Result r;
                if (want_greeting) {
                    proto::Greeting g;
                    r = proto::decode_greeting(in, g);
                    if (r.status == Status::kDone)
                        out_len += proto::encode_method_selection(
                            Out(out).subspan(out_len),
                            proto::MethodSelection{proto::Method::kNoAuth});
                } else {
                    proto::Request q;
                    r = proto::decode_request(in, q);
                    if (r.status == Status::kDone)
                        out_len += proto::encode_reply(Out(out).subspan(out_len), reply);
                }
                if (r.status == Status::kMalformed) return;
                if (r.status == Status::kNeedMore) break;
                pos += r.consumed;
                want_greeting = !want_greeting;
            }
            memmove(buf.data(), buf.data() + pos, have - pos);
            have -= pos;
            if (out_len > 0 && !write_all(fd, out.data(), out_len)) return;
        }
    }

    int fds_[2] = {-1, -1};
    pid_t pid_ = -1;
    bool pinned_ = false;
    cpu_set_t saved_{};
};

proto::Request connect_request() {
    proto::Request r;
    r.command = proto::Command::kConnect;
    r.address.type = proto::AddrType::kDomain;
    r.address.domain = "www.example.com";  // what a fake address turns into
    r.address.port = 443;
    return r;
}

void BM_Handshake(benchmark::State& state, HandshakeMode mode) {
    Proxy proxy;
    if (!proxy.ok() || fcntl(proxy.client_fd(), F_SETFL, O_NONBLOCK) != 0) {
        state.SkipWithError("socketpair/fork failed");
        return;
    }
    const proto::Request request = connect_request();
    for (auto _ : state) {
        HandshakeResult result;
        run_handshake(proxy.client_fd(), request, Credentials{}, mode, Deadline::after_ms(5000),
                      result);
        if (result.err != 0) [[unlikely]] {
            state.SkipWithError(strerror(result.err));
            break;
        }
        benchmark::DoNotOptimize(result);
    }
}
BENCHMARK_CAPTURE(BM_Handshake, pipelined, HandshakeMode::kPipelined)->UseRealTime();
BENCHMARK_CAPTURE(BM_Handshake, stepwise, HandshakeMode::kStepwise)->UseRealTime();

// The limit: a client that speaks SOCKS5 itself writes greeting+request in one
// blocking write and reads the 2 + 10 reply bytes it knows to expect.
void BM_HandshakeRaw(benchmark::State& state) {
    Proxy proxy;
    if (!proxy.ok()) {
        state.SkipWithError("socketpair/fork failed");
        return;
    }
    static constexpr uint8_t kNoAuth[] = {0x00};
    std::array<uint8_t, proto::kMaxGreeting + proto::kMaxRequest> msg{};
    size_t len = proto::encode_greeting(msg, proto::Greeting{Bytes(kNoAuth)});
    len += proto::encode_request(Out(msg).subspan(len), connect_request());
    int fd = proxy.client_fd();
    for (auto _ : state) {
        std::array<uint8_t, 12> in{};
        bool ok = write_all(fd, msg.data(), len);
        size_t got = 0;
        while (ok && got < in.size()) {
            ssize_t n = read(fd, in.data() + got, in.size() - got);
            ok = n > 0;
            got += ok ? static_cast<size_t>(n) : 0;
        }
        if (!ok || in[1] != 0 || in[3] != 0) [[unlikely]] {
            state.SkipWithError("raw exchange failed");
            break;
        }
        benchmark::DoNotOptimize(in);
    }
}
BENCHMARK(BM_HandshakeRaw)->UseRealTime();

}  // namespace
}  // namespace socksify::shim
