// UDP wrap/unwrap cost (RFC 1928 §7): the header codec per address type, a whole
// 512-byte datagram wrapped into an iovec and unwrapped, and the same datagram
// through a datagram socketpair (IPv4) with and without the header.
#include <benchmark/benchmark.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "protocol/messages.hpp"

namespace socksify::proto {
namespace {

constexpr size_t kPayload = 512;

UdpHeader header_of(AddrType type) {
    UdpHeader h;
    h.address.type = type;
    h.address.port = 53;
    if (type == AddrType::kIpv4) h.address.ip = {198, 51, 100, 7};
    if (type == AddrType::kIpv6)
        h.address.ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
    if (type == AddrType::kDomain) h.address.domain = "dns.example.com";
    return h;
}

void BM_UdpHeaderEncode(benchmark::State& state, AddrType type) {
    const UdpHeader h = header_of(type);
    std::array<uint8_t, kMaxUdpHeader> buf{};
    for (auto _ : state) {
        size_t n = encode_udp_header(buf, h);
        benchmark::DoNotOptimize(n);
        benchmark::DoNotOptimize(buf.data());
        benchmark::ClobberMemory();
    }
}
BENCHMARK_CAPTURE(BM_UdpHeaderEncode, ipv4, AddrType::kIpv4);
BENCHMARK_CAPTURE(BM_UdpHeaderEncode, ipv6, AddrType::kIpv6);
BENCHMARK_CAPTURE(BM_UdpHeaderEncode, domain, AddrType::kDomain);

// The header followed by a payload, as a relay sends it: the decoder must stop at
// the header.
void BM_UdpHeaderDecode(benchmark::State& state, AddrType type) {
    std::array<uint8_t, kMaxUdpHeader + kPayload> datagram{};
    size_t h = encode_udp_header(datagram, header_of(type));
    Bytes in(datagram.data(), h + kPayload);
    for (auto _ : state) {
        UdpHeader out;
        Result r = decode_udp_header(in, out);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(out);
    }
}
BENCHMARK_CAPTURE(BM_UdpHeaderDecode, ipv4, AddrType::kIpv4);
BENCHMARK_CAPTURE(BM_UdpHeaderDecode, ipv6, AddrType::kIpv6);
BENCHMARK_CAPTURE(BM_UdpHeaderDecode, domain, AddrType::kDomain);

// Stands in for the kernel: gathers an iovec into one datagram, scatters it into
// another iovec, returns the datagram's length. Both the plain and the wrapped
// variants pay it, so their difference is the wrap/unwrap work alone. Out of line,
// like the system call it replaces, so the copies cannot be optimised away.
[[gnu::noipa]] size_t transfer(const iovec* out, size_t nout, uint8_t* wire, const iovec* in,
                               size_t nin) {
    size_t len = 0;
    for (size_t i = 0; i < nout; ++i) {
        memcpy(wire + len, out[i].iov_base, out[i].iov_len);
        len += out[i].iov_len;
    }
    size_t pos = 0;
    for (size_t i = 0; i < nin && pos < len; ++i) {
        size_t n = in[i].iov_len < len - pos ? in[i].iov_len : len - pos;
        memcpy(in[i].iov_base, wire + pos, n);
        pos += n;
    }
    return len;
}

struct Datagram {
    Datagram() {
        for (size_t i = 0; i < kPayload; ++i) payload[i] = static_cast<uint8_t>(i);
    }
    std::array<uint8_t, kPayload> payload{};
    std::array<uint8_t, kPayload> received{};
    std::array<uint8_t, kMaxUdpHeader + kPayload> wire{};
};

// Baseline: the same datagram without SOCKS.
void BM_UdpDatagramPlain(benchmark::State& state) {
    Datagram d;
    for (auto _ : state) {
        iovec out[1] = {{d.payload.data(), kPayload}};
        iovec in[1] = {{d.received.data(), kPayload}};
        size_t n = transfer(out, 1, d.wire.data(), in, 1);
        benchmark::DoNotOptimize(n);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_UdpDatagramPlain);

// Wrap: header into a stack buffer, iovec {header, payload} (the payload is never
// copied by us). Unwrap: receive into {scratch sized like the last header sent,
// user buffer}, decode the header from the scratch; the payload lands in place.
// The sockaddr → Address conversion (shim/proxy/socks_address.cpp) is not included.
void BM_UdpDatagramWrapUnwrap(benchmark::State& state, AddrType type) {
    Datagram d;
    const Address dest = header_of(type).address;
    uint8_t probe[kMaxUdpHeader];
    const size_t expect = encode_udp_header(probe, UdpHeader{0, dest});
    for (auto _ : state) {
        uint8_t header[kMaxUdpHeader];
        size_t h = encode_udp_header(header, UdpHeader{0, dest});
        iovec out[2] = {{header, h}, {d.payload.data(), kPayload}};
        uint8_t scratch[kMaxUdpHeader];
        iovec in[2] = {{scratch, expect}, {d.received.data(), kPayload}};
        size_t n = transfer(out, 2, d.wire.data(), in, 2);
        UdpHeader got;
        Result r = decode_udp_header(Bytes(scratch, expect), got);
        size_t payload = r.status == Status::kDone && r.consumed == expect ? n - expect : 0;
        benchmark::DoNotOptimize(payload);
        benchmark::DoNotOptimize(got);
        benchmark::ClobberMemory();
    }
}
BENCHMARK_CAPTURE(BM_UdpDatagramWrapUnwrap, ipv4, AddrType::kIpv4);
BENCHMARK_CAPTURE(BM_UdpDatagramWrapUnwrap, ipv6, AddrType::kIpv6);
BENCHMARK_CAPTURE(BM_UdpDatagramWrapUnwrap, domain, AddrType::kDomain);

// The same through the kernel: an AF_UNIX datagram socketpair, one sendmsg and one
// recvmsg per iteration in both variants (no extra system call for the header).
struct Pair {
    Pair() { ok = socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) == 0; }
    ~Pair() {
        if (ok) {
            close(fds[0]);
            close(fds[1]);
        }
    }
    int fds[2] = {-1, -1};
    bool ok = false;
};

void BM_UdpSocketpairPlain(benchmark::State& state) {
    Pair p;
    if (!p.ok) {
        state.SkipWithError("socketpair failed");
        return;
    }
    Datagram d;
    for (auto _ : state) {
        iovec out[1] = {{d.payload.data(), kPayload}};
        msghdr sm{};
        sm.msg_iov = out;
        sm.msg_iovlen = 1;
        ssize_t s = sendmsg(p.fds[0], &sm, 0);
        iovec in[1] = {{d.received.data(), kPayload}};
        msghdr rm{};
        rm.msg_iov = in;
        rm.msg_iovlen = 1;
        ssize_t r = recvmsg(p.fds[1], &rm, 0);
        benchmark::DoNotOptimize(s);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_UdpSocketpairPlain);

void BM_UdpSocketpairWrapped(benchmark::State& state) {
    Pair p;
    if (!p.ok) {
        state.SkipWithError("socketpair failed");
        return;
    }
    Datagram d;
    const Address dest = header_of(AddrType::kIpv4).address;
    const size_t expect = 10;
    for (auto _ : state) {
        uint8_t header[kMaxUdpHeader];
        size_t h = encode_udp_header(header, UdpHeader{0, dest});
        iovec out[2] = {{header, h}, {d.payload.data(), kPayload}};
        msghdr sm{};
        sm.msg_iov = out;
        sm.msg_iovlen = 2;
        ssize_t s = sendmsg(p.fds[0], &sm, 0);
        uint8_t scratch[kMaxUdpHeader];
        iovec in[2] = {{scratch, expect}, {d.received.data(), kPayload}};
        msghdr rm{};
        rm.msg_iov = in;
        rm.msg_iovlen = 2;
        ssize_t r = recvmsg(p.fds[1], &rm, 0);
        UdpHeader got;
        Result res = decode_udp_header(Bytes(scratch, expect), got);
        ssize_t payload = res.status == Status::kDone ? r - static_cast<ssize_t>(res.consumed) : -1;
        benchmark::DoNotOptimize(s);
        benchmark::DoNotOptimize(payload);
        benchmark::DoNotOptimize(got);
    }
}
BENCHMARK(BM_UdpSocketpairWrapped);

}  // namespace
}  // namespace socksify::proto
