// One table of settings: every name a setting is known by — long and short option,
// config-file key, environment variable — its parser, its default and its --help
// text. Option parsing, config files, the proxychains import, the environment the
// launcher hands the program, the library's load_config and --help all read it, so
// adding a setting is one row plus its parser (docs/ARCHITECTURE.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "shim/settings/config.hpp"

namespace socksify::shim {

enum class Setting : uint8_t {
    kProxy,
    kDirect,
    kDns,
    kDnsTcp,
    kFakeNet,
    kFakeNet6,
    kFakeMinAge,
    kUdp,
    kTimeout,
    kCheck,
    kPipeline,
    kStrict,
    kPasswordFile,
    kAllow,
    kDeny,
    kDefaultDeny,
    kAudit,
    kAuditSummary,
    kConfig,
    kProxychainsConf,
    kSupervise,
    kChain,
    kChainMode,
    kChainLen,
    kRoute,
    kLog,
    kVerbose,
    kQuiet,
    kHelp,
    kVersion,
    kCount
};

enum class Form : uint8_t {
    kValue,   // --opt VALUE; in a file, key = VALUE
    kList,    // --opt VALUE, repeatable: each use adds an item
    kFlag,    // --opt alone (it sets flag_value); in a file, key = yes|no
    kAction,  // command line only: shows something and exits, or changes what runs
};

// How a value from a config file or proxychains.conf meets the command line's.
enum class Merge : uint8_t {
    kFirstWins,  // the command line, then proxychains.conf, then the config file
    kAppend,     // the command line's items first, then the files' (rules)
    kAnyOn,      // a one-way switch: any source turns it on (strict)
};

// Checks a value and stores it where the library keeps it: nullptr or a one-phrase
// reason. The launcher calls it on a scratch Config to validate what it is given.
using StoreFn = const char* (*)(std::string_view value, Config& cfg);

struct SettingRow {
    Setting id;
    const char* option;  // long option without "--"; nullptr: none (log)
    char short_name;     // 'x', 'v', 'q', 'h' or 0
    Form form;
    const char* metavar;     // "URL", "auto|on|off", …; nullptr for flags and actions
    const char* file_key;    // config-file key; nullptr: not in files
    const char* env;         // what the library reads; nullptr: the launcher's alone
    const char* flag_value;  // kFlag: the value the flag stands for ("1", "0", …)
    const char* fallback;    // the library's value when env is unset; nullptr: none
    bool empty_is_value;     // env "" is a value ("" direct list), not "unset"
    Merge merge;
    StoreFn store;  // the library's parser of env; nullptr: nothing to store
    // A value holding passwords is never echoed: the error names the item instead
    // (item_word and the count already stored + 1).
    size_t Config::*item_count;
    const char* item_word;
    const char* help;  // --help text, lines separated by '\n'; nullptr: not shown
    // The launcher's check of one value as a user gives it, where that differs from
    // env's form (a rule vs the joined policy, a URL with a host name); nullptr: store.
    StoreFn check = nullptr;
    // The setting a flag sets (-v sets log); kCount: itself.
    Setting target = Setting::kCount;
};

std::span<const SettingRow> settings_table();
const SettingRow& setting(Setting id);
const SettingRow* find_option(std::string_view long_name);
const SettingRow* find_short_option(char c);
const SettingRow* find_file_key(std::string_view key);

// The check a launcher applies to one value of row (check, else store; nullptr: none).
inline StoreFn user_check(const SettingRow& row) {
    return row.check != nullptr ? row.check : row.store;
}

// Applies one value of row to cfg (through row.store), writing "bad ENV value …" into
// cfg.error on failure. False when the value is bad.
bool store_setting(const SettingRow& row, const char* name, std::string_view value, Config& cfg);

}  // namespace socksify::shim
