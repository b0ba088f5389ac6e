#include "protocol/http_connect.hpp"

namespace socksify::proto::http {
namespace {

bool plain(std::string_view s, bool allow_colon) {
    if (s.size() > 255) return false;
    for (char c : s) {
        if (c == '\r' || c == '\n' || c == '\0' || c == ' ' || (!allow_colon && c == ':'))
            return false;
    }
    return true;
}

// Appends text at `at` when it fits; `at` becomes out.size() + 1 once anything did not.
struct Writer {
    Out out;
    size_t at = 0;
    bool ok = true;
    void put(std::string_view s) {
        if (!ok || out.size() - at < s.size()) {
            ok = false;
            return;
        }
        for (char c : s) out[at++] = static_cast<uint8_t>(c);
    }
    void put_port(uint16_t p) {
        char digits[5];
        size_t n = 0;
        do {
            digits[n++] = static_cast<char>('0' + p % 10);
            p = static_cast<uint16_t>(p / 10);
        } while (p != 0);
        char text[5];
        for (size_t i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
        put({text, n});
    }
    void put_authority(std::string_view host, uint16_t port) {
        bool v6 = host.find(':') != host.npos;
        if (v6) put("[");
        put(host);
        if (v6) put("]");
        put(":");
        put_port(port);
    }
};

}  // namespace

size_t base64(Bytes in, Out out) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = (in.size() + 2) / 3 * 4;
    if (out.size() < need) return 0;
    size_t o = 0;
    for (size_t i = 0; i < in.size(); i += 3) {
        uint32_t v = static_cast<uint32_t>(in[i]) << 16;
        if (i + 1 < in.size()) v |= static_cast<uint32_t>(in[i + 1]) << 8;
        if (i + 2 < in.size()) v |= in[i + 2];
        out[o++] = static_cast<uint8_t>(kAlphabet[v >> 18 & 63]);
        out[o++] = static_cast<uint8_t>(kAlphabet[v >> 12 & 63]);
        out[o++] = static_cast<uint8_t>(i + 1 < in.size() ? kAlphabet[v >> 6 & 63] : '=');
        out[o++] = static_cast<uint8_t>(i + 2 < in.size() ? kAlphabet[v & 63] : '=');
    }
    return need;
}

size_t encode_connect(Out out, const ConnectRequest& m) {
    if (m.host.empty() || !plain(m.host, true) || !plain(m.user, false) || m.pass.size() > 255 ||
        m.pass.find_first_of("\r\n") != m.pass.npos)
        return 0;
    Writer w{out};
    w.put("CONNECT ");
    w.put_authority(m.host, m.port);
    w.put(" HTTP/1.1\r\nHost: ");
    w.put_authority(m.host, m.port);
    w.put("\r\n");
    if (!m.user.empty()) {
        uint8_t cred[255 + 1 + 255];
        size_t n = 0;
        for (char c : m.user) cred[n++] = static_cast<uint8_t>(c);
        cred[n++] = ':';
        for (char c : m.pass) cred[n++] = static_cast<uint8_t>(c);
        w.put("Proxy-Authorization: Basic ");
        if (w.ok) {
            size_t b = base64(Bytes(cred, n), out.subspan(w.at));
            if (b == 0) w.ok = false;
            w.at += b;
        }
        w.put("\r\n");
    }
    w.put("\r\n");
    return w.ok ? w.at : 0;
}

Result decode_response(Bytes in, Response& out) {
    // The status line's fixed part is checked as it arrives: "HTTP/1." digit ' '.
    static constexpr std::string_view kPrefix = "HTTP/1.";
    for (size_t i = 0; i < in.size() && i < kPrefix.size(); ++i) {
        if (in[i] != static_cast<uint8_t>(kPrefix[i])) return {Status::kMalformed, 0};
    }
    if (in.size() > 7 && (in[7] < '0' || in[7] > '9')) return {Status::kMalformed, 0};
    if (in.size() > 8 && in[8] != ' ') return {Status::kMalformed, 0};
    for (size_t i = 9; i < in.size() && i < 12; ++i) {
        if (in[i] < '0' || in[i] > '9') return {Status::kMalformed, 0};
    }
    if (in.size() > 9 && (in[9] < '1' || in[9] > '5')) return {Status::kMalformed, 0};
    if (in.size() > 12 && in[12] != ' ' && in[12] != '\r' && in[12] != '\n')
        return {Status::kMalformed, 0};
    // The head ends at the first empty line: "\n\n" or "\n\r\n".
    size_t limit = in.size() < kMaxResponseHead ? in.size() : kMaxResponseHead;
    size_t end = 0;
    for (size_t i = 1; i < limit; ++i) {
        if (in[i] != '\n') continue;
        if (in[i - 1] == '\n' || (i >= 2 && in[i - 1] == '\r' && in[i - 2] == '\n')) {
            end = i + 1;
            break;
        }
    }
    if (end == 0) {
        return {in.size() >= kMaxResponseHead ? Status::kMalformed : Status::kNeedMore, 0};
    }
    if (end < 13) return {Status::kMalformed, 0};  // the status line itself is incomplete
    out.status = (in[9] - '0') * 100 + (in[10] - '0') * 10 + (in[11] - '0');
    size_t eol = 12;
    while (in[eol] != '\n') ++eol;
    size_t reason_end = eol > 12 && in[eol - 1] == '\r' ? eol - 1 : eol;
    size_t reason_at = in[12] == ' ' ? 13 : 12;
    out.reason = reason_at < reason_end
                     ? std::string_view(reinterpret_cast<const char*>(in.data()) + reason_at,
                                        reason_end - reason_at)
                     : std::string_view();
    return {Status::kDone, end};
}

}  // namespace socksify::proto::http
