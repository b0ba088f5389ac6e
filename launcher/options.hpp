// Options → settings: the command line, a config file and a proxychains.conf, each
// read through the settings table into one Options value, then merged (the command
// line first, then proxychains.conf, then the config file).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "launcher/supervisor/supervisor.hpp"
#include "shim/settings/config.hpp"
#include "shim/settings/settings_table.hpp"

namespace socksify::launcher {

inline constexpr size_t kSettingCount = static_cast<size_t>(shim::Setting::kCount);

struct Options {
    // Per setting, as given: the value (flags hold their flag_value), the items of a
    // list (allow and deny share kAllow's, as "allow:RULE"/"deny:RULE" in order;
    // kChain holds the hops of -x -x or --chain), and whether any was given.
    std::array<std::string, kSettingCount> value;
    std::array<std::vector<std::string>, kSettingCount> items;
    std::array<bool, kSettingCount> given{};

    const char* proxy_source = nullptr;  // "--proxy", or the variable it came from
    // The proxy, parsed once the options are final (pick_proxy); every later user reads
    // these, never the text. hops[0] is the proxy, more hops make a chain (a
    // proxychains.conf's entries arrive parsed); route_upstreams[i] is the upstream
    // of list(kRoute)[i] (a direct route is not kept there).
    std::vector<shim::ProxyUrl> hops;
    std::vector<shim::ProxyUrl> route_upstreams;
    // The password file came from a file read after the proxy was chosen: a password
    // in that proxy's URL beats it (pick_password).
    bool password_file_yields = false;
    bool direct_none = false;  // --direct '' seen: loopback is proxied too
    std::string password;      // read from --password-file
    SuperviseMode supervise = SuperviseMode::kAuto;
    int program = 0;                     // argv index of the program
    const char* check_target = nullptr;  // --check's HOST:PORT

    const std::string& operator[](shim::Setting s) const { return value[idx(s)]; }
    bool has(shim::Setting s) const { return given[idx(s)]; }
    std::vector<std::string>& list(shim::Setting s) { return items[idx(s)]; }
    const std::vector<std::string>& list(shim::Setting s) const { return items[idx(s)]; }
    static size_t idx(shim::Setting s) { return static_cast<size_t>(s); }
};

// One value for row, from the command line or a file: checked with the row's parser
// (one line and exit 2 when bad), then kept. Actions (--help, --version,
// --audit-summary) run here and exit.
void apply(Options& o, const shim::SettingRow& row, std::string_view value);

// `--opt value`, `--opt=value`, `-x value`, `-xvalue`, `-vq`; the first non-option
// argument, or the one after `--`, is the program (--check takes [URL] [HOST:PORT]).
Options parse_args(int argc, char** argv);

// Settings from a file fill only what into left unset (Merge in the table).
void merge(Options& into, Options& from);

// --config FILE, else SOCKSIFY_CONFIG, else ~/.config/socksify/config, else
// /etc/socksify.conf, the first that exists; "" for none.
std::string find_config(const Options& o);
Options read_config_file(const std::string& path);
// A proxychains.conf read as the options it stands for.
Options read_proxychains(const std::string& path);

// -x, else SOCKSIFY_PROXY, else a SOCKS all_proxy/ALL_PROXY; dies when none is given.
// Then parses it, once: o.hops and o.route_upstreams (one line and exit 2 when bad).
void pick_proxy(Options& o);

// The proxy password (after pick_proxy): --password-file, then the -x URL's, then
// SOCKSIFY_PASSWORD, then one inside an environment URL. "" when the proxy has no
// user; dies when a user has none.
std::string pick_password(Options& o);

// The --help text, generated from the settings table.
std::string help_text();

}  // namespace socksify::launcher
