// Audit records as JSON lines: a bounded formatter (no allocation, no stdio state)
// and the small flat-object parser --audit-summary uses to read them back.
#include "shim/settings/audit_format.hpp"

#include <cstdio>
#include <cstring>

namespace socksify::shim {
namespace {

// Field caps (escaped bytes) that keep the whole record under kAuditRecordMax: about
// 200 bytes of keys and numbers plus these.
constexpr size_t kCapProgram = 64;
constexpr size_t kCapKind = 16;
constexpr size_t kCapName = 512;
constexpr size_t kCapAddress = 64;
constexpr size_t kCapProxy =
    100;  // a chain "a > b > c" or "a (route)"; records fit kAuditRecordMax
constexpr size_t kCapReason = 48;
static_assert(200 + kCapProgram + kCapKind * 2 + kCapName + kCapAddress + kCapProxy + kCapReason <=
              kAuditRecordMax);

// Length of the well-formed UTF-8 sequence at in[i] (RFC 3629 §4), or 0.
size_t utf8_length(std::string_view in, size_t i) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(in[i + k]); };
    unsigned char c = b(0);
    size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (i + n > in.size()) return 0;
    if (b(1) < lo || b(1) > hi) return 0;
    for (size_t k = 2; k < n; ++k)
        if (b(k) < 0x80 || b(k) > 0xBF) return 0;
    return n;
}

struct Out {
    char* p;
    size_t cap;
    size_t len = 0;
    void raw(std::string_view s) {
        size_t n = s.size() < cap - len ? s.size() : cap - len;
        std::memcpy(p + len, s.data(), n);
        len += n;
    }
    void number(long long v) {
        char buf[24];
        int n = std::snprintf(buf, sizeof buf, "%lld", v);
        raw(std::string_view(buf, n > 0 ? static_cast<size_t>(n) : 0));
    }
    // "key":"value" or "key":null, with the value's escaped length capped.
    void field(std::string_view key, std::string_view value, size_t value_cap, bool first = false) {
        if (!first) raw(",");
        raw("\"");
        raw(key);
        raw("\":");
        if (value.data() == nullptr) {
            raw("null");
            return;
        }
        raw("\"");
        size_t room = cap - len > 1 ? cap - len - 1 : 0;
        len += json_escape(value, p + len, value_cap < room ? value_cap : room);
        raw("\"");
    }
};

int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// JSON parsing for one flat object.
struct Parser {
    std::string_view s;
    size_t i = 0;

    void ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
    }
    bool eat(char c) {
        ws();
        if (i < s.size() && s[i] == c) {
            ++i;
            return true;
        }
        return false;
    }
    bool literal(std::string_view word) {
        if (s.size() - i < word.size() || std::memcmp(s.data() + i, word.data(), word.size()) != 0)
            return false;
        i += word.size();
        return true;
    }
    static int hex(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    bool hex4(unsigned& v) {
        if (i + 4 > s.size()) return false;
        v = 0;
        for (int k = 0; k < 4; ++k) {
            int h = hex(s[i + k]);
            if (h < 0) return false;
            v = v * 16 + static_cast<unsigned>(h);
        }
        i += 4;
        return true;
    }
    // A string after its opening quote; decoded into out (cut at cap - 1, NUL ended)
    // when out is set; *len gets the decoded length kept (NULs included).
    bool string(char* out, size_t cap, size_t* len = nullptr) {
        size_t n = 0;
        auto put = [&](unsigned char c) {
            if (out != nullptr && n + 1 < cap) out[n++] = static_cast<char>(c);
        };
        for (;;) {
            if (i >= s.size()) return false;
            auto c = static_cast<unsigned char>(s[i++]);
            if (c == '"') break;
            if (c < 0x20) return false;
            if (c != '\\') {
                put(c);
                continue;
            }
            if (i >= s.size()) return false;
            char e = s[i++];
            switch (e) {
                case '"': put('"'); break;
                case '\\': put('\\'); break;
                case '/': put('/'); break;
                case 'b': put('\b'); break;
                case 'f': put('\f'); break;
                case 'n': put('\n'); break;
                case 'r': put('\r'); break;
                case 't': put('\t'); break;
                case 'u': {
                    unsigned cp = 0;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        unsigned lo = 0;
                        if (!literal("\\u") || !hex4(lo) || lo < 0xDC00 || lo > 0xDFFF)
                            return false;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        return false;
                    }
                    if (cp < 0x80) {
                        put(static_cast<unsigned char>(cp));
                    } else if (cp < 0x800) {
                        put(static_cast<unsigned char>(0xC0 | (cp >> 6)));
                        put(static_cast<unsigned char>(0x80 | (cp & 0x3F)));
                    } else if (cp < 0x10000) {
                        put(static_cast<unsigned char>(0xE0 | (cp >> 12)));
                        put(static_cast<unsigned char>(0x80 | ((cp >> 6) & 0x3F)));
                        put(static_cast<unsigned char>(0x80 | (cp & 0x3F)));
                    } else {
                        put(static_cast<unsigned char>(0xF0 | (cp >> 18)));
                        put(static_cast<unsigned char>(0x80 | ((cp >> 12) & 0x3F)));
                        put(static_cast<unsigned char>(0x80 | ((cp >> 6) & 0x3F)));
                        put(static_cast<unsigned char>(0x80 | (cp & 0x3F)));
                    }
                    break;
                }
                default: return false;
            }
        }
        if (out != nullptr && cap > 0) out[n] = '\0';
        if (len != nullptr) *len = n;
        return true;
    }
    // RFC 8259 §6 number; integer value in v when it is one that fits.
    bool number(long long& v, bool& integer) {
        size_t start = i;
        if (i < s.size() && s[i] == '-') ++i;
        if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
        if (s[i] == '0') {
            ++i;
        } else {
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        }
        integer = true;
        if (i < s.size() && s[i] == '.') {
            integer = false;
            ++i;
            if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        }
        if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
            integer = false;
            ++i;
            if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
            if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        }
        v = 0;
        if (integer) {
            size_t digits = i - start - (s[start] == '-');
            if (digits > 18) integer = false;
            for (size_t k = start + (s[start] == '-'); integer && k < i; ++k)
                v = v * 10 + (s[k] - '0');
            if (s[start] == '-') v = -v;
        }
        return true;
    }
};

// json_escape and text_escape: quote says whether '"' is escaped.
size_t escape(std::string_view in, char* out, size_t cap, bool quote) {
    static constexpr char kHex[] = "0123456789abcdef";
    size_t n = 0;
    for (size_t i = 0; i < in.size();) {
        auto c = static_cast<unsigned char>(in[i]);
        char esc[6];
        size_t len = 0;
        size_t used = 1;
        const char* src = esc;
        // C1 controls (U+0080-U+009F) in UTF-8: a terminal may act on them like ESC.
        if (c == 0xC2 && i + 1 < in.size() && static_cast<unsigned char>(in[i + 1]) <= 0x9F &&
            static_cast<unsigned char>(in[i + 1]) >= 0x80) {
            c = static_cast<unsigned char>(in[i + 1]);
            used = 2;
        }
        if ((c == '"' && quote) || c == '\\') {
            esc[0] = '\\';
            esc[1] = static_cast<char>(c);
            len = 2;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            len = 2;
        } else if (c < 0x20 || c == 0x7F || used == 2 || (c >= 0x80 && utf8_length(in, i) == 0)) {
            // Control bytes, and bytes that are not UTF-8 (read as Latin-1).
            std::memcpy(esc, "\\u00", 4);
            esc[4] = kHex[c >> 4];
            esc[5] = kHex[c & 15];
            len = 6;
        } else {
            used = c < 0x80 ? 1 : utf8_length(in, i);
            src = in.data() + i;
            len = used;
        }
        if (n + len > cap) break;
        std::memcpy(out + n, src, len);
        n += len;
        i += used;
    }
    return n;
}

}  // namespace

size_t json_escape(std::string_view in, char* out, size_t cap) {
    return escape(in, out, cap, true);
}

size_t text_escape(std::string_view in, char* out, size_t cap) {
    return escape(in, out, cap, false);
}

void format_utc_ms(int64_t ms, char (&out)[25]) {
    // Days to civil date: H. Hinnant, "chrono-Compatible Low-Level Date Algorithms".
    int64_t days = floor_div(ms, 86400000);
    int64_t rest = ms - days * 86400000;
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    if (y < 0) y = 0;
    if (y > 9999) y = 9999;
    char text[64];  // the fields are in range; the compiler cannot tell
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", static_cast<int>(y),
                  static_cast<int>(m), static_cast<int>(d), static_cast<int>(rest / 3600000),
                  static_cast<int>(rest / 60000 % 60), static_cast<int>(rest / 1000 % 60),
                  static_cast<int>(rest % 1000));
    std::memcpy(out, text, sizeof out - 1);
    out[sizeof out - 1] = '\0';
}

size_t format_audit_record(const AuditRecord& r, char* out, size_t cap) {
    if (cap < 2) return 0;
    char time[25];
    format_utc_ms(r.time_ms, time);
    Out o{out, cap - 1};  // room for the newline
    o.raw("{");
    o.field("time", time, sizeof time, true);
    o.raw(",\"pid\":");
    o.number(r.pid);
    o.field("program", r.program, kCapProgram);
    o.field("kind", r.kind, kCapKind);
    o.field("name", r.name, kCapName);
    o.field("address", r.address, kCapAddress);
    o.raw(",\"port\":");
    if (r.port < 0) {
        o.raw("null");
    } else {
        o.number(r.port);
    }
    o.field("proxy", r.proxy, kCapProxy);
    o.field("verdict", r.verdict, kCapKind);
    o.field("reason", r.reason, kCapReason);
    o.raw(",\"ms\":");
    o.number(r.ms);
    o.raw("}");
    out[o.len] = '\n';
    return o.len + 1;
}

bool parse_audit_line(std::string_view line, AuditFields& out) {
    out = AuditFields{};
    Parser p{line};
    if (!p.eat('{')) return false;
    bool kind = false, verdict = false;
    if (!p.eat('}')) {
        for (;;) {
            char key[16];
            size_t key_len = 0;
            if (!p.eat('"') || !p.string(key, sizeof key, &key_len)) return false;
            if (!p.eat(':')) return false;
            p.ws();
            if (p.i >= line.size()) return false;
            char c = line[p.i];
            std::string_view k(key, key_len);  // "kind\u0000x" is not "kind"
            if (c == '"') {
                ++p.i;
                char* dst = nullptr;
                size_t cap = 0;
                if (k == "kind") {
                    dst = out.kind, cap = sizeof out.kind, kind = true;
                } else if (k == "verdict") {
                    dst = out.verdict, cap = sizeof out.verdict, verdict = true;
                } else if (k == "name") {
                    dst = out.name, cap = sizeof out.name, out.has_name = true;
                } else if (k == "address") {
                    dst = out.address, cap = sizeof out.address, out.has_address = true;
                }
                if (!p.string(dst, cap)) return false;
            } else if (c == '-' || (c >= '0' && c <= '9')) {
                long long v = 0;
                bool integer = false;
                if (!p.number(v, integer)) return false;
                if (k == "port") {
                    if (!integer || v < 0 || v > 65535) return false;
                    out.port = static_cast<int>(v);
                }
            } else if (!p.literal("null") && !p.literal("true") && !p.literal("false")) {
                return false;  // objects and arrays are not in our records
            }
            if (p.eat(',')) continue;
            if (p.eat('}')) break;
            return false;
        }
    }
    p.ws();
    return p.i == line.size() && kind && verdict;
}

}  // namespace socksify::shim
