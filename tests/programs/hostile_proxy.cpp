// The hostile proxy of issues 5 and 17: plays one fault per run, chosen by a script
// name, so tests/integration/hostile*.sh can check what the shim gives the program.
// Usage: hostile_proxy [--listen IP:PORT] [--record FILE] [--user U --pass P]
//                      [--speak socks5|socks4|http] SCRIPT
// --speak: the protocol served (default socks5). socks4 answers SOCKS4 and 4a CONNECT
// with the 8-byte reply; http answers HTTP/1.1 CONNECT (with --user, a request
// without the right Proxy-Authorization: Basic gets 407).
//
// SCRIPT (one per run; the rest of the exchange is that of a correct proxy):
//   ok                     no-auth (user/pass with --user), CONNECT → success, then echo;
//                          UDP ASSOCIATE → a relay that echoes wrapped datagrams back
//   close-read-N           close (FIN) once N bytes of the client's exchange are read
//   close-write-N          close (FIN) after the first N bytes of our side of the exchange
//   bad-version            method selection with VER 4
//   method-unknown         method 0x09 (never offered by anyone)
//   method-ff              method 0xFF (no acceptable method)
//   method-unoffered       a method the client did not offer (0x02, else 0x00, else 0x01)
//   auth-bad-status        user/pass chosen, status 1 (refused) whatever was sent
//   auth-bad-version       user/pass chosen, status message with VER 2
//   rep-N                  reply code N (1..255; above 8 is unassigned)
//   reply-bad-version      success reply with VER 4
//   reply-bad-rsv          success reply with RSV 1
//   atyp-unknown           success reply with ATYP 5
//   domain-len-0           success reply with a DOMAINNAME of length 0
//   domain-longer-than-sent  DOMAINNAME declared 20 bytes, 5 sent, then close
//   truncated-bnd          IPv4 reply cut after two address bytes, then close
//   truncated-bnd-stall    the same, then silence
//   stall                  accept, read, never answer
//   stall-after-method     answer the method selection, then never again
//   slow-reply-N           a correct answer, the reply N ms after the request (a proxy
//                          whose own connect to the destination is slow)
//   gather-N               a correct answer, held until N CONNECTs have arrived (at most
//                          10 s); the log says how many had arrived when each was
//                          answered ("answered at K of N"): a client that runs its
//                          connections at once gets every answer at N of N
//   relay                  a correct proxy: CONNECT reaches the destination (a name is
//                          resolved here), bytes are relayed both ways instead of echoed
//   drip                   a correct answer, one byte per second
//   reset                  read the client's first bytes, then RST (SO_LINGER 0)
//   reset-at-accept        RST at once, before reading anything
//   bnd-other-family       UDP ASSOCIATE answered with an IPv6 BND (::1)
//   bnd-zeros              UDP ASSOCIATE answered with BND 0.0.0.0:<relay port>
//   frag-nonzero           the relay answers the first datagram with FRAG=1
//   bad-rsv                the relay answers the first datagram with RSV=0x0001
//   spoofed-source         the relay answers the first datagram from another port
//   lossy                  a correct proxy that drops whatever arrived in the same read
//                          after each message it parsed (microsocks 1.0.3, issue #105)
//   bnd-far                UDP ASSOCIATE answered with BND 203.0.113.99 (TEST-NET-3,
//                          which the test world's client side has no route to)
//   bnd-loopback           UDP ASSOCIATE answered with BND 127.0.0.1:<relay port>
// Any protocol:
//   stall-write-N          after the first N bytes of our side, silence
//   trickle                a correct answer, one byte per write 5 ms apart (the client
//                          reads it in 1-byte pieces)
//   early-data             the success reply and the tunnel's first bytes ("EARLY!") in
//                          one write, then echo (a server that speaks first)
// socks4: rep-N is the reply code CD (90 granted, 91..93 refusals, others unassigned);
//   reply-bad-version answers with VN 4 (a reply's VN is 0).
// http (each a complete response head unless said otherwise):
//   status-N               "HTTP/1.1 N Hostile" (100..999); a 2xx then echoes
//   http-not-http          "SSH-2.0-hostile" instead of a status line
//   http-bad-code          "HTTP/1.1 2x0 OK"
//   http-no-reason         "HTTP/1.1 200" with no reason phrase: a success
//   http-bare-lf           "HTTP/1.0 200 OK\n\n" (LF line ends): a success
//   http-huge-head         200, then header lines past 16 KiB before the blank line
//   http-huge-line         a status line of 20000 bytes
// For the UDP scripts later datagrams get a correct echo: the test can tell "dropped"
// from "the association never worked". Parts combine with '+': rep-2+close-write-4.
//
// One log line per connection on stderr. --record appends every byte received, as
// hex, one line per read: "tcp <conn> <hex>" or "udp <conn> <hex>". SIGTERM: exit 0.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/http_connect.hpp"
#include "protocol/messages.hpp"
#include "protocol/socks4.hpp"

namespace {

namespace proto = socksify::proto;

constexpr int kIdleMs = 15000;  // a peer silent this long is given up on
constexpr long kUnlimited = -1;

volatile sig_atomic_t g_stop = 0;
int g_record_fd = -1;
std::atomic<int> g_next_id{1};
std::atomic<int> g_active{0};  // connections not yet logged

struct Options {
    sockaddr_storage listen{};
    socklen_t listen_len = 0;
    std::string listen_text = "127.0.0.1:1080";
    std::string user;
    std::string pass;
    std::string speak = "socks5";
};
Options g_opt;

void log_line(const std::string& s) {
    std::string line = "hostile_proxy[" + std::to_string(getpid()) + "]: " + s + "\n";
    (void)!write(2, line.data(), line.size());
}

std::string hex(const uint8_t* p, size_t n) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += kHex[p[i] >> 4];
        s += kHex[p[i] & 15];
    }
    return s;
}

// --record: what the client sent, as "<kind> <conn> <hex>" lines.
void record(const char* kind, int id, const uint8_t* p, size_t n) {
    if (g_record_fd < 0 || n == 0) return;
    std::string line = std::string(kind) + " " + std::to_string(id) + " " + hex(p, n) + "\n";
    (void)!write(g_record_fd, line.data(), line.size());  // O_APPEND: one line, one write
}

std::string address_text(const proto::Address& a) {
    char ip[INET6_ADDRSTRLEN] = "?";
    switch (a.type) {
        case proto::AddrType::kIpv4: inet_ntop(AF_INET, a.ip.data(), ip, sizeof ip); break;
        case proto::AddrType::kIpv6: inet_ntop(AF_INET6, a.ip.data(), ip, sizeof ip); break;
        case proto::AddrType::kDomain: return std::string(a.domain) + ":" + std::to_string(a.port);
    }
    return (a.type == proto::AddrType::kIpv6 ? "[" + std::string(ip) + "]" : std::string(ip)) +
           ":" + std::to_string(a.port);
}

proto::Address address_of(const sockaddr_storage& ss) {
    proto::Address a;
    if (ss.ss_family == AF_INET6) {
        auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
        a.type = proto::AddrType::kIpv6;
        memcpy(a.ip.data(), &in6.sin6_addr, 16);
        a.port = ntohs(in6.sin6_port);
    } else {
        auto& in = reinterpret_cast<const sockaddr_in&>(ss);
        a.type = proto::AddrType::kIpv4;
        memcpy(a.ip.data(), &in.sin_addr, 4);
        a.port = ntohs(in.sin_port);
    }
    return a;
}

proto::Address address_of_text(const char* ip, uint16_t port) {
    proto::Address a;
    a.type = proto::AddrType::kIpv4;
    inet_pton(AF_INET, ip, a.ip.data());
    a.port = port;
    return a;
}

bool parse_endpoint(const std::string& text, sockaddr_storage& out, socklen_t& len) {
    memset(&out, 0, sizeof out);
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    std::string host = text.substr(0, colon);
    int port = atoi(text.c_str() + colon + 1);
    if (port <= 0 || port > 65535) return false;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        auto& in6 = reinterpret_cast<sockaddr_in6&>(out);
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(static_cast<uint16_t>(port));
        len = sizeof in6;
        return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &in6.sin6_addr) == 1;
    }
    auto& in = reinterpret_cast<sockaddr_in&>(out);
    in.sin_family = AF_INET;
    in.sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof in;
    return inet_pton(AF_INET, host.c_str(), &in.sin_addr) == 1;
}

// Every fault the server can play, decoded once from the script name.
struct Script {
    std::string name;                // as given, for the log
    std::string fault;               // the one named fault, if any
    long read_budget = kUnlimited;   // close-read-N
    long write_budget = kUnlimited;  // close-write-N
    long stall_budget = kUnlimited;  // stall-write-N
    int rep = 0;                     // rep-N
    int status = 0;                  // status-N (http)
    long reply_delay_ms = 0;         // slow-reply-N
    long gather = 0;                 // gather-N
    bool relay = false;
    bool drip = false;
    bool trickle = false;

    bool is(std::string_view s) const { return fault == s; }
};

bool number_after(std::string_view name, std::string_view prefix, long lo, long hi, long& out) {
    if (name.substr(0, prefix.size()) != prefix || name.size() == prefix.size()) return false;
    long v = 0;
    for (char c : name.substr(prefix.size())) {
        if (c < '0' || c > '9' || v > hi) return false;
        v = v * 10 + (c - '0');
    }
    if (v < lo || v > hi) return false;
    out = v;
    return true;
}

// One part of a script: a numbered form or a named fault.
bool parse_part(std::string_view part, Script& s) {
    static const char* const kNamed[] = {"ok",
                                         "bad-version",
                                         "method-unknown",
                                         "method-ff",
                                         "method-unoffered",
                                         "auth-bad-status",
                                         "auth-bad-version",
                                         "reply-bad-version",
                                         "reply-bad-rsv",
                                         "atyp-unknown",
                                         "domain-len-0",
                                         "domain-longer-than-sent",
                                         "truncated-bnd",
                                         "truncated-bnd-stall",
                                         "stall",
                                         "stall-after-method",
                                         "drip",
                                         "reset",
                                         "reset-at-accept",
                                         "bnd-other-family",
                                         "bnd-zeros",
                                         "frag-nonzero",
                                         "bad-rsv",
                                         "spoofed-source",
                                         "lossy",
                                         "bnd-far",
                                         "bnd-loopback",
                                         "trickle",
                                         "early-data",
                                         "http-not-http",
                                         "http-bad-code",
                                         "http-no-reason",
                                         "http-bare-lf",
                                         "http-huge-head",
                                         "http-huge-line"};
    long n = 0;
    if (number_after(part, "close-read-", 0, 100000, n))
        s.read_budget = n;
    else if (number_after(part, "close-write-", 0, 100000, n))
        s.write_budget = n;
    else if (number_after(part, "stall-write-", 0, 100000, n))
        s.stall_budget = n;
    else if (number_after(part, "status-", 100, 999, n))
        s.status = static_cast<int>(n);
    else if (number_after(part, "slow-reply-", 1, 600000, n))
        s.reply_delay_ms = n;
    else if (number_after(part, "rep-", 1, 255, n))
        s.rep = static_cast<int>(n);
    else if (number_after(part, "gather-", 1, 10000, n))
        s.gather = n;
    else if (part == "relay")
        s.relay = true;
    else {
        for (const char* named : kNamed) {
            if (part == named && s.fault.empty()) {
                s.fault = part;
                s.drip = part == "drip";
                s.trickle = part == "trickle";
                return true;
            }
        }
        return false;
    }
    return true;
}

// A script is one part or several joined by '+', e.g. "rep-2+close-write-4": a
// failure reply cut after its REP byte.
bool parse_script(const std::string& name, Script& s) {
    s.name = name;
    std::string_view rest = name;
    for (;;) {
        size_t plus = rest.find('+');
        if (!parse_part(rest.substr(0, plus), s)) return false;
        if (plus == std::string_view::npos) return true;
        rest.remove_prefix(plus + 1);
    }
}

Script g_script;

// One client connection: a fixed buffer for the handshake (decoded fields point
// into it, so it never moves), the read and write budgets, and the log line.
struct Conn {
    int fd = -1;
    int id = 0;
    long read_left = kUnlimited;
    long write_left = kUnlimited;
    long stall_left = kUnlimited;
    uint8_t in[4096];
    size_t len = 0;  // bytes in `in`
    size_t pos = 0;  // bytes of `in` already decoded
    size_t read_total = 0;
    size_t written_total = 0;
    std::string note;

    void say(const std::string& s) { note += note.empty() ? s : "; " + s; }
};

// Waits up to ms for input and reads what the budget allows into c.in (or a scratch
// buffer once c.in is full). Returns bytes read, 0 on EOF, -1 on error, time-out or
// an exhausted budget.
ssize_t pump(Conn& c, int ms) {
    if (c.read_left == 0) return -1;
    pollfd p{c.fd, POLLIN, 0};
    int n = poll(&p, 1, ms);
    if (n <= 0) return -1;
    uint8_t scratch[4096];
    bool into_buffer = c.len < sizeof c.in;
    uint8_t* dst = into_buffer ? c.in + c.len : scratch;
    size_t room = into_buffer ? sizeof c.in - c.len : sizeof scratch;
    if (c.read_left != kUnlimited && static_cast<size_t>(c.read_left) < room)
        room = static_cast<size_t>(c.read_left);
    ssize_t got = recv(c.fd, dst, room, 0);
    if (got <= 0) return got;
    record("tcp", c.id, dst, static_cast<size_t>(got));
    if (into_buffer) c.len += static_cast<size_t>(got);
    c.read_total += static_cast<size_t>(got);
    if (c.read_left != kUnlimited) c.read_left -= got;
    return got;
}

// Reads until decode() accepts one message at c.pos; false on EOF, malformed input,
// time-out or an exhausted read budget.
template <typename Msg>
bool read_msg(Conn& c, proto::Result (*decode)(proto::Bytes, Msg&), Msg& out, const char* what) {
    for (;;) {
        proto::Result r = decode(proto::Bytes(c.in + c.pos, c.len - c.pos), out);
        if (r.status == proto::Status::kDone) {
            c.pos += r.consumed;
            if (g_script.is("lossy") && c.pos < c.len) {
                // One message per read, the rest of that read thrown away.
                c.say("dropped " + std::to_string(c.len - c.pos) + " bytes after the " + what);
                c.pos = c.len;
            }
            return true;
        }
        if (r.status == proto::Status::kMalformed) {
            c.say(std::string("malformed ") + what);
            return false;
        }
        if (c.read_left == 0) {
            c.say("read budget spent after " + std::to_string(c.read_total) + " bytes");
            return false;
        }
        if (pump(c, kIdleMs) <= 0) {
            c.say(std::string("no complete ") + what);
            return false;
        }
    }
}

// Sends what the write budget allows, one byte a second when dripping; false when
// the budget cut the message short or the peer went away.
void stall(Conn& c);

bool send_bytes(Conn& c, const uint8_t* p, size_t n) {
    bool cut = false;
    bool silent = false;
    if (c.write_left != kUnlimited && n > static_cast<size_t>(c.write_left)) {
        n = static_cast<size_t>(c.write_left);
        cut = true;
    }
    if (c.stall_left != kUnlimited && n > static_cast<size_t>(c.stall_left)) {
        n = static_cast<size_t>(c.stall_left);
        silent = true;
    }
    for (size_t i = 0; i < n;) {
        if (g_script.trickle && i > 0) poll(nullptr, 0, 5);
        if (g_script.drip && c.written_total > 0) {
            // The pause doubles as a watch for the client giving up (input does not
            // wake it: only POLLRDHUP is asked for).
            pollfd pf{c.fd, POLLRDHUP, 0};
            if (poll(&pf, 1, 1000) > 0) {
                c.say("client left while dripping");
                return false;
            }
        }
        size_t chunk = g_script.drip || g_script.trickle ? 1 : n - i;
        ssize_t w = send(c.fd, p + i, chunk, MSG_NOSIGNAL);
        if (w <= 0) {
            c.say(std::string("send: ") + strerror(errno));
            return false;
        }
        i += static_cast<size_t>(w);
        c.written_total += static_cast<size_t>(w);
        if (c.write_left != kUnlimited) c.write_left -= w;
        if (c.stall_left != kUnlimited) c.stall_left -= w;
    }
    if (silent) {
        c.say("silent after " + std::to_string(c.written_total) + " bytes");
        stall(c);
        return false;
    }
    if (cut) c.say("write budget spent after " + std::to_string(c.written_total) + " bytes");
    return !cut;
}

bool send_bytes(Conn& c, const std::vector<uint8_t>& v) {
    return send_bytes(c, v.data(), v.size());
}

// Our half closed with FIN, then everything the client still sends is read (and
// recorded) until it closes: a close with unread input would be a reset instead.
void finish(Conn& c) {
    shutdown(c.fd, SHUT_WR);
    c.read_left = kUnlimited;
    while (pump(c, kIdleMs) > 0) {
    }
}

// Silence: read (and record) until the client gives up.
void stall(Conn& c) {
    c.say("stalling");
    c.read_left = kUnlimited;
    while (pump(c, 60000) > 0) {
    }
}

void reset(Conn& c) {
    linger l{1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    c.say("reset");
}

std::vector<uint8_t> encoded_reply(proto::Reply rep, const proto::Address& bnd) {
    std::vector<uint8_t> out(proto::kMaxRequest);
    out.resize(proto::encode_reply(out, proto::ReplyMessage{rep, bnd}));
    return out;
}

// The reply the script gives to a request; `ok` when the exchange goes on after it
// (a success), else the connection is closed once it is sent.
std::vector<uint8_t> reply_for(const proto::Address& bnd, bool& ok) {
    const Script& s = g_script;
    ok = false;
    proto::Address v4;  // 0.0.0.0:0, what failure replies usually carry
    if (s.rep != 0) {
        if (s.rep <= 8) return encoded_reply(static_cast<proto::Reply>(s.rep), v4);
        std::vector<uint8_t> r = encoded_reply(proto::Reply::kGeneralFailure, v4);
        r[1] = static_cast<uint8_t>(s.rep);  // unassigned: the codec will not encode it
        return r;
    }
    std::vector<uint8_t> r = encoded_reply(proto::Reply::kSucceeded, bnd);
    if (s.is("reply-bad-version"))
        r[0] = 4;
    else if (s.is("reply-bad-rsv"))
        r[2] = 1;
    else if (s.is("atyp-unknown"))
        r = {5, 0, 0, 5, 0, 0, 0, 0, 0, 0};
    else if (s.is("domain-len-0"))
        r = {5, 0, 0, 3, 0, 0, 7};
    else if (s.is("domain-longer-than-sent"))
        r = {5, 0, 0, 3, 20, 'h', 'o', 's', 't', 'i'};
    else if (s.is("truncated-bnd") || s.is("truncated-bnd-stall"))
        r = {5, 0, 0, 1, 127, 0};
    else
        ok = true;
    return r;
}

// The method selection the script answers with; 0 continues with no auth, 2 with
// user/pass, anything else ends the exchange after it is sent.
std::vector<uint8_t> method_for(proto::Bytes offered, int& next) {
    auto has = [&](uint8_t m) {
        for (uint8_t o : offered)
            if (o == m) return true;
        return false;
    };
    const Script& s = g_script;
    uint8_t want = g_opt.user.empty() ? 0x00 : 0x02;
    uint8_t m = has(want) ? want : 0xFF;
    if (s.is("auth-bad-status") || s.is("auth-bad-version")) m = 0x02;
    if (s.is("method-unknown")) m = 0x09;
    if (s.is("method-ff")) m = 0xFF;
    if (s.is("method-unoffered")) m = !has(0x02) ? 0x02 : !has(0x00) ? 0x00 : 0x01;
    next = m == 0x00 || m == 0x02 ? m : -1;
    if (s.is("method-unoffered")) next = -1;
    std::vector<uint8_t> out(2);
    proto::encode_method_selection(out, proto::MethodSelection{static_cast<proto::Method>(m)});
    if (s.is("bad-version")) {
        out[0] = 4;
        next = -1;
    }
    return out;
}

// gather-N: CONNECTs arrived so far, and the wait for all N.
std::mutex g_gather_mu;
std::condition_variable g_gather_cv;
long g_gathered = 0;

// Counts this CONNECT and waits (at most 10 s) for the N-th; the count seen then.
long gather_wait() {
    std::unique_lock<std::mutex> lock(g_gather_mu);
    ++g_gathered;
    g_gather_cv.notify_all();
    g_gather_cv.wait_for(lock, std::chrono::seconds(10),
                         [] { return g_gathered >= g_script.gather; });
    return g_gathered;
}

// relay: a connection to the CONNECT's destination (a name resolved here), or -1.
int connect_destination(const proto::Address& a) {
    std::string host;
    char ip[INET6_ADDRSTRLEN] = "";
    if (a.type == proto::AddrType::kDomain)
        host = std::string(a.domain);
    else if (a.type == proto::AddrType::kIpv4)
        host = inet_ntop(AF_INET, a.ip.data(), ip, sizeof ip);
    else
        host = inet_ntop(AF_INET6, a.ip.data(), ip, sizeof ip);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), std::to_string(a.port).c_str(), &hints, &res) != 0) return -1;
    int fd = -1;
    for (addrinfo* i = res; i != nullptr && fd < 0; i = i->ai_next) {
        fd = socket(i->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, i->ai_addr, i->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

// Copies bytes both ways until either side closes (or is idle too long).
void relay_bytes(Conn& c, int dest) {
    if (c.len > c.pos) send(dest, c.in + c.pos, c.len - c.pos, MSG_NOSIGNAL);
    size_t up = c.len - c.pos, down = 0;
    for (;;) {
        pollfd p[2] = {{c.fd, POLLIN, 0}, {dest, POLLIN, 0}};
        if (poll(p, 2, kIdleMs) <= 0) break;
        uint8_t buf[16384];
        int from = p[0].revents ? c.fd : dest;
        int to = from == c.fd ? dest : c.fd;
        ssize_t n = recv(from, buf, sizeof buf, 0);
        if (n <= 0) break;
        if (from == c.fd) record("tcp", c.id, buf, static_cast<size_t>(n));
        if (send(to, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
        (from == c.fd ? up : down) += static_cast<size_t>(n);
    }
    c.say("relayed " + std::to_string(up) + " up, " + std::to_string(down) + " down");
}

// early-data: what a server that speaks first sends, in the reply's own write.
constexpr std::string_view kEarly = "EARLY!";

// Echoes the tunnel until the client closes.
void echo(Conn& c) {
    if (c.len > c.pos) send(c.fd, c.in + c.pos, c.len - c.pos, MSG_NOSIGNAL);
    size_t echoed = c.len - c.pos;
    for (;;) {
        pollfd p{c.fd, POLLIN, 0};
        if (poll(&p, 1, kIdleMs) <= 0) break;
        uint8_t buf[4096];
        ssize_t n = recv(c.fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        record("tcp", c.id, buf, static_cast<size_t>(n));
        if (send(c.fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
        echoed += static_cast<size_t>(n);
    }
    c.say("echoed " + std::to_string(echoed) + " bytes");
}

int udp_socket_near(const sockaddr_storage& like) {
    sockaddr_storage a = like;
    socklen_t len = a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (a.ss_family == AF_INET6)
        reinterpret_cast<sockaddr_in6&>(a).sin6_port = 0;
    else
        reinterpret_cast<sockaddr_in&>(a).sin_port = 0;
    int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// The relay of one UDP association; it lives as long as the control connection.
void relay(Conn& c, int udp, int spoof) {
    int datagrams = 0;
    for (;;) {
        pollfd p[2] = {{c.fd, POLLIN, 0}, {udp, POLLIN, 0}};
        if (poll(p, 2, kIdleMs) <= 0) break;
        if (p[0].revents) {
            uint8_t buf[512];
            ssize_t n = recv(c.fd, buf, sizeof buf, 0);
            if (n <= 0) break;  // the association ends with its control connection
            record("tcp", c.id, buf, static_cast<size_t>(n));
        }
        if (!(p[1].revents & POLLIN)) continue;
        uint8_t dg[65536];
        sockaddr_storage from{};
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(udp, dg, sizeof dg, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
        if (n <= 0) continue;
        record("udp", c.id, dg, static_cast<size_t>(n));
        proto::UdpHeader h;
        proto::Result r = proto::decode_udp_header(proto::Bytes(dg, static_cast<size_t>(n)), h);
        if (r.status != proto::Status::kDone) {
            c.say("malformed datagram");
            continue;
        }
        ++datagrams;
        // The answer comes "from" the destination the client wrote to.
        uint8_t out[65536 + proto::kMaxUdpHeader];
        size_t hl = proto::encode_udp_header(out, proto::UdpHeader{0, h.address});
        size_t payload = static_cast<size_t>(n) - r.consumed;
        memcpy(out + hl, dg + r.consumed, payload);
        int via = udp;
        std::string how = "echo";
        if (datagrams == 1 && g_script.is("frag-nonzero")) {
            out[2] = 1;
            how = "echo with FRAG=1";
        } else if (datagrams == 1 && g_script.is("bad-rsv")) {
            out[1] = 1;
            how = "echo with RSV=0x0001";
        } else if (datagrams == 1 && g_script.is("spoofed-source") && spoof >= 0) {
            via = spoof;
            how = "echo from another port";
        }
        sendto(via, out, hl + payload, 0, reinterpret_cast<sockaddr*>(&from), from_len);
        c.say("datagram " + std::to_string(datagrams) + " to " + address_text(h.address) + ": " +
              how);
    }
}

void udp_associate(Conn& c, const proto::Request& req) {
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    getsockname(c.fd, reinterpret_cast<sockaddr*>(&local), &local_len);
    int udp = udp_socket_near(local);
    int spoof = g_script.is("spoofed-source") ? udp_socket_near(local) : -1;
    sockaddr_storage relay_addr{};
    socklen_t relay_len = sizeof relay_addr;
    getsockname(udp, reinterpret_cast<sockaddr*>(&relay_addr), &relay_len);
    proto::Address bnd = address_of(relay_addr);
    if (g_script.is("bnd-zeros")) bnd.ip = {};
    if (g_script.is("bnd-far")) bnd = address_of_text("203.0.113.99", bnd.port);
    if (g_script.is("bnd-loopback")) bnd = address_of_text("127.0.0.1", bnd.port);
    if (g_script.is("bnd-other-family")) {
        bnd.type =
            bnd.type == proto::AddrType::kIpv4 ? proto::AddrType::kIpv6 : proto::AddrType::kIpv4;
        bnd.ip = {};
        if (bnd.type == proto::AddrType::kIpv6)
            bnd.ip[15] = 1;  // ::1
        else
            bnd.ip = {127, 0, 0, 1};
    }
    bool ok = false;
    std::vector<uint8_t> reply = reply_for(bnd, ok);
    c.say("UDP ASSOCIATE " + address_text(req.address) + ", relay " +
          address_text(address_of(relay_addr)) + ", BND " + address_text(bnd));
    if (udp < 0) {
        c.say("no relay socket");
        ok = false;
    }
    if (send_bytes(c, reply) && ok)
        relay(c, udp, spoof);
    else if (g_script.is("truncated-bnd-stall"))
        stall(c);
    if (udp >= 0) close(udp);
    if (spoof >= 0) close(spoof);
}

void connect_reply(Conn& c, const proto::Request& req) {
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    getsockname(c.fd, reinterpret_cast<sockaddr*>(&local), &local_len);
    bool ok = false;
    std::vector<uint8_t> reply = reply_for(address_of(local), ok);
    if (req.address.port == 0 && ok) {
        // As a real server's connect(2) to port 0: refused at once.
        reply = encoded_reply(proto::Reply::kConnectionRefused, proto::Address{});
        ok = false;
    }
    int dest = -1;
    if (g_script.relay && ok) {
        dest = connect_destination(req.address);
        if (dest < 0) {
            reply = encoded_reply(proto::Reply::kHostUnreachable, proto::Address{});
            ok = false;
        }
    }
    c.say("CONNECT " + address_text(req.address) + ", reply " + hex(reply.data(), reply.size()));
    if (g_script.gather > 0) {
        long seen = gather_wait();
        c.say("answered at " + std::to_string(seen) + " of " + std::to_string(g_script.gather));
    }
    if (g_script.reply_delay_ms > 0) {
        pollfd p{c.fd, POLLRDHUP, 0};  // the wait ends early if the client gives up
        if (poll(&p, 1, static_cast<int>(g_script.reply_delay_ms)) > 0) {
            c.say("client left before the slow reply");
            if (dest >= 0) close(dest);
            return;
        }
        c.say("replied after " + std::to_string(g_script.reply_delay_ms) + " ms");
    }
    if (ok && g_script.is("early-data")) reply.insert(reply.end(), kEarly.begin(), kEarly.end());
    if (send_bytes(c, reply) && ok) {
        if (dest >= 0)
            relay_bytes(c, dest);
        else
            echo(c);
    } else if (g_script.is("truncated-bnd-stall")) {
        stall(c);
    }
    if (dest >= 0) close(dest);
}

// Reads until the input holds n bytes from c.pos on, or a byte equal to stop at or
// after c.pos + from (stop < 0: none); false on EOF, time-out or a spent budget.
bool read_until(Conn& c, size_t n, int stop, size_t from, size_t& at, const char* what) {
    for (;;) {
        size_t have = c.len - c.pos;
        if (stop >= 0) {
            for (size_t i = from; i < have; ++i) {
                if (c.in[c.pos + i] == stop) {
                    at = i;
                    return true;
                }
            }
        } else if (have >= n) {
            return true;
        }
        if (c.len == sizeof c.in || pump(c, kIdleMs) <= 0) {
            c.say(std::string("no complete ") + what);
            return false;
        }
    }
}

// SOCKS4/4a: VN CD DSTPORT DSTIP USERID NUL [HOST NUL when DSTIP is 0.0.0.x, x != 0].
void socks4_exchange(Conn& c) {
    namespace s4 = proto::socks4;
    size_t at = 0;
    if (!read_until(c, 8, -1, 0, at, "socks4 request")) return;
    const uint8_t* r = c.in + c.pos;
    if (r[0] != s4::kVersion || r[1] != s4::kConnect) return c.say("not a socks4 CONNECT");
    uint16_t port = static_cast<uint16_t>(r[2] << 8 | r[3]);
    if (!read_until(c, 0, 0, 8, at, "socks4 user id")) return;
    std::string user(reinterpret_cast<const char*>(c.in + c.pos + 8), at - 8);
    size_t end = at + 1;
    std::string host;
    r = c.in + c.pos;
    if (r[4] == 0 && r[5] == 0 && r[6] == 0 && r[7] != 0) {
        if (!read_until(c, 0, 0, end, at, "socks4a host")) return;
        host.assign(reinterpret_cast<const char*>(c.in + c.pos + end), at - end);
        end = at + 1;
    } else {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, r + 4, ip, sizeof ip);
        host = ip;
    }
    c.pos += end;
    if (g_script.is("reset")) return reset(c);
    s4::Reply reply;
    reply.code = g_script.rep != 0 ? static_cast<uint8_t>(g_script.rep)
                                   : static_cast<uint8_t>(s4::Code::kGranted);
    uint8_t out[s4::kReplySize + kEarly.size()];
    size_t n = s4::encode_reply(out, reply);
    if (g_script.is("reply-bad-version")) out[0] = 4;
    bool ok = reply.code == static_cast<uint8_t>(s4::Code::kGranted) && out[0] == 0;
    if (ok && g_script.is("early-data")) {
        memcpy(out + n, kEarly.data(), kEarly.size());
        n += kEarly.size();
    }
    c.say("CONNECT " + host + ":" + std::to_string(port) + " user '" + user + "', reply " +
          hex(out, s4::kReplySize));
    if (send_bytes(c, out, n) && ok) echo(c);
}

// The response head the script gives; ok when the tunnel then opens (2xx).
std::string http_head(int status, bool& ok) {
    const Script& s = g_script;
    ok = false;
    if (s.is("http-not-http")) return "SSH-2.0-hostile\r\n";
    if (s.is("http-bad-code")) return "HTTP/1.1 2x0 OK\r\n\r\n";
    if (s.is("http-huge-line")) return "HTTP/1.1 200 " + std::string(20000, 'a') + "\r\n\r\n";
    if (s.is("http-huge-head")) {
        std::string h = "HTTP/1.1 200 OK\r\n";
        while (h.size() < 20000) h += "X-Padding: " + std::string(100, 'p') + "\r\n";
        return h + "\r\n";
    }
    ok = status >= 200 && status <= 299;
    if (s.is("http-no-reason")) return "HTTP/1.1 " + std::to_string(status) + "\r\n\r\n";
    if (s.is("http-bare-lf")) return "HTTP/1.0 " + std::to_string(status) + " OK\n\n";
    return "HTTP/1.1 " + std::to_string(status) + " Hostile\r\n\r\n";
}

// HTTP/1.1 CONNECT: the request head up to its blank line, then the script's answer.
void http_exchange(Conn& c) {
    size_t at = 0;
    std::string_view head;
    for (size_t from = 0;; from = at + 1) {
        if (!read_until(c, 0, '\n', from, at, "http request head")) return;
        head = std::string_view(reinterpret_cast<const char*>(c.in + c.pos), at + 1);
        if (head.size() >= 4 && head.substr(head.size() - 4) == "\r\n\r\n") break;
        if (head.size() >= 2 && head.substr(head.size() - 2) == "\n\n") break;
    }
    c.pos += head.size();
    if (g_script.is("reset")) return reset(c);
    std::string_view line = head.substr(0, head.find("\r\n"));
    if (line.substr(0, 8) != "CONNECT ") return c.say("not a CONNECT: " + std::string(line));
    std::string target(line.substr(8, line.find(' ', 8) - 8));
    int status = g_script.status != 0 ? g_script.status : 200;
    if (!g_opt.user.empty()) {
        std::string cred = g_opt.user + ":" + g_opt.pass;
        uint8_t b64[1024];
        size_t n = proto::http::base64(
            proto::Bytes(reinterpret_cast<const uint8_t*>(cred.data()), cred.size()), b64);
        std::string want = "Proxy-Authorization: Basic " +
                           std::string(reinterpret_cast<const char*>(b64), n) + "\r\n";
        bool good = head.find(want) != std::string_view::npos;
        c.say(std::string("credentials ") + (good ? "good" : "missing or bad"));
        if (!good) status = 407;
    }
    bool ok = false;
    std::string out = http_head(status, ok);
    c.say("CONNECT " + target + ", answered " +
          std::string(out.substr(0, std::min<size_t>(out.find('\n'), 40))));
    if (ok && g_script.is("early-data")) out += kEarly;
    if (send_bytes(c, reinterpret_cast<const uint8_t*>(out.data()), out.size()) && ok) echo(c);
}

// The whole exchange with one client, as the script says.
void exchange(Conn& c) {
    const Script& s = g_script;
    if (s.is("reset-at-accept")) return reset(c);
    if (s.is("stall")) return stall(c);
    if (g_opt.speak == "socks4") return socks4_exchange(c);
    if (g_opt.speak == "http") return http_exchange(c);
    proto::Greeting greeting;
    if (!read_msg(c, proto::decode_greeting, greeting, "greeting")) return;
    c.say("methods " + hex(greeting.methods.data(), greeting.methods.size()));
    if (s.is("reset")) return reset(c);
    int next = -1;
    std::vector<uint8_t> sel = method_for(greeting.methods, next);
    c.say("method selection " + hex(sel.data(), sel.size()));
    if (!send_bytes(c, sel) || next < 0) return;
    if (next == 0x02) {
        proto::UserPassRequest up;
        if (!read_msg(c, proto::decode_userpass_request, up, "user/pass request")) return;
        bool good = up.user == g_opt.user && up.pass == g_opt.pass;
        std::vector<uint8_t> status = {1, static_cast<uint8_t>(good ? 0 : 1)};
        if (s.is("auth-bad-status")) status[1] = 1;
        if (s.is("auth-bad-version")) status[0] = 2;
        c.say("user '" + std::string(up.user) + "' " + (good ? "good" : "bad") + ", status " +
              hex(status.data(), status.size()));
        if (!send_bytes(c, status) || status != std::vector<uint8_t>{1, 0}) return;
    }
    if (s.is("stall-after-method")) return stall(c);
    proto::Request req;
    if (!read_msg(c, proto::decode_request, req, "request")) return;
    if (req.command == proto::Command::kUdpAssociate) return udp_associate(c, req);
    if (req.command != proto::Command::kConnect) {
        send_bytes(c, encoded_reply(proto::Reply::kCommandNotSupported, proto::Address{}));
        return c.say("command " + std::to_string(static_cast<int>(req.command)) + " refused");
    }
    connect_reply(c, req);
}

void serve(int fd, std::string peer) {
    Conn c;
    c.fd = fd;
    c.id = g_next_id++;
    c.read_left = g_script.read_budget;
    c.write_left = g_script.write_budget;
    c.stall_left = g_script.stall_budget;
    if (g_script.trickle) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    exchange(c);
    bool was_reset = g_script.is("reset") || g_script.is("reset-at-accept");
    if (!was_reset) finish(c);
    close(fd);
    log_line("conn " + std::to_string(c.id) + " from " + peer + " [" + g_script.name +
             "]: " + c.note + "; read " + std::to_string(c.read_total) + ", wrote " +
             std::to_string(c.written_total) + ", closed");
    --g_active;
}

void on_term(int) { g_stop = 1; }

int usage() {
    fputs(
        "usage: hostile_proxy [--listen IP:PORT] [--record FILE] [--user U --pass P]\n"
        "                     [--speak socks5|socks4|http] SCRIPT\n"
        "(scripts: see the head of tests/programs/hostile_proxy.cpp)\n",
        stderr);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string record_path;
    std::string script;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--listen")
            g_opt.listen_text = value();
        else if (a == "--record")
            record_path = value();
        else if (a == "--user")
            g_opt.user = value();
        else if (a == "--pass")
            g_opt.pass = value();
        else if (a == "--speak")
            g_opt.speak = value();
        else if (a == "-h" || a == "--help") {
            usage();
            return 0;
        } else if (script.empty() && a[0] != '-')
            script = a;
        else
            return usage();
    }
    if (script.empty() || !parse_script(script, g_script)) {
        fprintf(stderr, "hostile_proxy: unknown script '%s'\n", script.c_str());
        return usage();
    }
    if (g_opt.speak != "socks5" && g_opt.speak != "socks4" && g_opt.speak != "http") {
        fprintf(stderr, "hostile_proxy: unknown --speak '%s'\n", g_opt.speak.c_str());
        return 2;
    }
    if (!parse_endpoint(g_opt.listen_text, g_opt.listen, g_opt.listen_len)) {
        fprintf(stderr, "hostile_proxy: bad --listen '%s'\n", g_opt.listen_text.c_str());
        return 2;
    }
    if (!record_path.empty()) {
        g_record_fd = open(record_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (g_record_fd < 0) {
            fprintf(stderr, "hostile_proxy: %s: %s\n", record_path.c_str(), strerror(errno));
            return 2;
        }
    }
    struct sigaction sa {};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(g_opt.listen.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, reinterpret_cast<sockaddr*>(&g_opt.listen), g_opt.listen_len) != 0 ||
        listen(lfd, 64) != 0) {
        fprintf(stderr, "hostile_proxy: listen on %s: %s\n", g_opt.listen_text.c_str(),
                strerror(errno));
        return 1;
    }
    log_line("listening on " + g_opt.listen_text + " script " + g_script.name);
    while (!g_stop) {
        pollfd p{lfd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0) continue;  // EINTR from SIGTERM lands here too
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof peer;
        int fd = accept4(lfd, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC);
        if (fd < 0) continue;
        ++g_active;
        std::thread(serve, fd, address_text(address_of(peer))).detach();
    }
    // Connections whose client is gone finish at once: wait (a little) for their lines.
    for (int i = 0; i < 20 && g_active > 0; ++i) poll(nullptr, 0, 50);
    log_line("SIGTERM: exiting, " + std::to_string(g_active.load()) + " connections open");
    _exit(0);  // detached connection threads end with the process
}
