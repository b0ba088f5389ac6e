// HTTP/1.1 CONNECT (RFC 9110 §9.3.6) to an HTTP proxy: the request, with Basic
// Proxy-Authorization (RFC 7617), and the response head read exactly to its blank
// line, so no tunnelled byte that follows it is taken. Pure: no I/O, no allocation.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string_view>

#include "protocol/wire.hpp"

namespace socksify::proto::http {

// A response head longer than this is refused (squid's and tinyproxy's are < 1 KiB).
inline constexpr size_t kMaxResponseHead = 16 * 1024;
// "CONNECT " host ":" port " HTTP/1.1\r\nHost: " host ":" port "\r\n"
// "Proxy-Authorization: Basic " base64(user ":" pass) "\r\n\r\n"
inline constexpr size_t kMaxRequest = 2 * (255 + 2 + 6) + 64 + 4 * ((255 + 1 + 255 + 2) / 3) + 64;

struct ConnectRequest {
    std::string_view host;  // a name, a dotted IPv4 address or an IPv6 address (bracketed here)
    uint16_t port = 0;
    std::string_view user;  // empty: no Proxy-Authorization
    std::string_view pass;
};

// Bytes written, or 0 when out is too small or host/user/pass cannot be carried
// (CR, LF, NUL or a space in host; ':' in user, as Basic forbids; over 255 bytes).
size_t encode_connect(Out out, const ConnectRequest& m);

struct Response {
    int status = 0;           // the status code, 100..599
    std::string_view reason;  // points into the input
};

// Decodes "HTTP/1.x SSS reason\r\n" and the header lines up to the empty line. kDone's
// consumed ends exactly after that empty line's LF. kMalformed: not HTTP/1.x, a bad
// status, or no end within kMaxResponseHead. Bare LF line ends are accepted.
Result decode_response(Bytes in, Response& out);

// 0 for 2xx; the errno a program should see otherwise (README, HTTP upstreams).
constexpr int status_errno(int status) {
    if (status >= 200 && status <= 299) return 0;
    switch (status) {
        case 403:                 // forbidden by the proxy's rules
        case 407: return EACCES;  // credentials missing or wrong
        case 404:
        case 410: return EHOSTUNREACH;  // squid: no such host
        case 502: return ECONNREFUSED;  // the proxy could not connect
        case 503: return ENETUNREACH;   // no route / upstream unavailable
        case 504: return ETIMEDOUT;     // the proxy's connect timed out
        default: return ECONNABORTED;   // anything we cannot read as an answer
    }
}

// Base64 (RFC 4648 §4, with padding) of in into out; bytes written, 0 if it does not fit.
size_t base64(Bytes in, Out out);

}  // namespace socksify::proto::http
