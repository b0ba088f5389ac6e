// The launcher's configuration files, parsed without I/O: socksify's own
// ("key = value", "allow RULE", "deny RULE", "[policy]", '#' comments) and a
// proxychains.conf to switch from (its [ProxyList], proxy_dns, timeouts, localnet).
// Pure: no allocation; the launcher reads the file and acts on the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shim/settings/cidr.hpp"
#include "shim/settings/config.hpp"
#include "shim/settings/settings_table.hpp"

namespace socksify::shim {

struct ConfigLine {
    enum class Kind : uint8_t { kBlank, kSetting, kRule } kind = Kind::kBlank;
    Setting key = Setting::kProxy;  // kSetting: the row whose file_key the line names
    std::string_view value;         // kSetting: the value; kRule: the rule text
    bool allow = false;             // kRule
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

// What socksify takes from a proxychains.conf: the whole [ProxyList] as hops, the
// chain mode and chain_len, proxy_dns, the timeouts and localnet. What it cannot
// honour (dnat, unknown directives) becomes a warning with its line.
struct ProxychainsEntry {
    ProxyUrl url;  // socks5 (socks5h with proxy_dns), socks4 (socks4a with proxy_dns), http, raw
    size_t line = 0;
};
struct ProxychainsWarning {
    size_t line = 0;
    const char* what = nullptr;
};
inline constexpr size_t kMaxProxychainsWarnings = 8;

struct ProxychainsConf {
    ProxychainsEntry proxies[kMaxHops];
    size_t proxy_count = 0;
    ChainMode chain_mode = ChainMode::kStrict;  // strict_chain, the default, as proxychains
    size_t chain_len = 0;                       // 0: not given
    bool proxy_dns = false;  // proxy_dns (also _old, _daemon): names go to the proxy
    int timeout_ms = 0;      // the larger of tcp_read_time_out, tcp_connect_time_out
    size_t timeout_line = 0;
    Cidr localnet[kMaxLocalnets]{};
    size_t localnet_count = 0;
    ProxychainsWarning warnings[kMaxProxychainsWarnings];
    size_t warning_count = 0;
};

// Parses a whole proxychains.conf. Entries are "type host port [user [pass]]" with
// type socks5, socks4, http or raw (a plain forwarder, which takes no user name); at
// most 8. remote_dns_subnet and quiet_mode are ignored (socksify keeps its own fake
// range and logs errors only by default); dnat and unknown directives are warned about.
// On error line_no holds the line.
const char* parse_proxychains(std::string_view text, ProxychainsConf& out, size_t& line_no);

}  // namespace socksify::shim
