// The launcher's configuration files, parsed without I/O: socksify's own
// ("key = value", "allow RULE", "deny RULE", "[policy]", '#' comments) and a
// proxychains.conf to switch from (its [ProxyList], proxy_dns, timeouts, localnet).
// Pure: no allocation; the launcher reads the file and acts on the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "settings/cidr.hpp"
#include "settings/config.hpp"

namespace socksify::shim {

// Keys of the config file: the launcher's long option names.
enum class ConfigKey : uint8_t {
    kProxy,
    kDirect,
    kDns,
    kDnsTcp,
    kTimeout,
    kUdp,
    kStrict,
    kPipeline,
    kFakeNet,
    kFakeNet6,
    kFakeMinAge,
    kAudit,
    kDefaultDeny,
    kPasswordFile,
    kLog,
};

struct ConfigLine {
    enum class Kind : uint8_t { kBlank, kSetting, kRule } kind = Kind::kBlank;
    ConfigKey key = ConfigKey::kProxy;  // kSetting
    std::string_view value;             // kSetting: the value; kRule: the rule text
    bool allow = false;                 // kRule
};

// One line of a socksify config file, without its newline. Blank lines, comments
// (from a '#' at the start or after a blank) and a "[policy]" header are kBlank; a
// rule's text is checked with parse_rule (out still holds the rule when it fails), a
// setting's value is left to the launcher (optional double quotes removed). Returns
// nullptr or a one-phrase reason.
const char* parse_config_line(std::string_view line, ConfigLine& out);

// Calls fn for every setting and rule of text, in order; stops at the first error,
// its own or fn's, and reports the 1-based line number in line_no. On an error of its
// own, *failed (when given) gets the line as far as it was parsed.
using ConfigLineFn = const char* (*)(void* ctx, size_t line_no, const ConfigLine& line);
const char* parse_config_text(std::string_view text, ConfigLineFn fn, void* ctx, size_t& line_no,
                              ConfigLine* failed = nullptr);

inline constexpr size_t kMaxLocalnets = kMaxDirect;

// What socksify takes from a proxychains.conf.
struct ProxychainsConf {
    bool has_proxy = false;  // the first socks5 or socks4 entry of [ProxyList]
    bool socks4 = false;     // it was a socks4 entry: spoken to as SOCKS5
    char host[256] = {};
    uint16_t port = 0;
    bool has_user = false;
    char user[kMaxCred + 1] = {};
    char pass[kMaxCred + 1] = {};
    size_t proxy_line = 0;
    size_t ignored_proxies = 0;  // further entries (no chains)
    size_t first_ignored_line = 0;
    bool proxy_dns = false;  // proxy_dns (also _old, _daemon): names go to the proxy
    int timeout_ms = 0;      // the larger of tcp_read_time_out, tcp_connect_time_out
    size_t timeout_line = 0;
    Cidr localnet[kMaxLocalnets]{};
    size_t localnet_count = 0;
};

// Parses a whole proxychains.conf. Unknown directives (strict_chain, quiet_mode, …)
// are ignored; a socks4 entry ("socks4 host port [userid]") is kept and its userid
// dropped, because the usual socks4 proxies (Tor, Dante, ssh -D) answer SOCKS5 on the
// same port; http and raw entries are errors, as is a localnet with a port.
// On error line_no holds the line.
const char* parse_proxychains(std::string_view text, ProxychainsConf& out, size_t& line_no);

}  // namespace socksify::shim
