// The settings table's own invariants: every name unique, every setting the library
// reads stored by a parser, every option shown in --help.
#include "shim/settings/settings_table.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace socksify::shim {
namespace {

TEST(SettingsTableTest, NamesAreUnique) {
    std::set<std::string> options, keys, envs;
    std::set<char> shorts;
    for (const SettingRow& r : settings_table()) {
        if (r.option != nullptr) EXPECT_TRUE(options.insert(r.option).second) << r.option;
        if (r.file_key != nullptr) EXPECT_TRUE(keys.insert(r.file_key).second) << r.file_key;
        if (r.env != nullptr) EXPECT_TRUE(envs.insert(r.env).second) << r.env;
        if (r.short_name != 0) EXPECT_TRUE(shorts.insert(r.short_name).second) << r.short_name;
    }
}

TEST(SettingsTableTest, EveryVariableHasAParserAndEveryOptionAHelpLine) {
    for (const SettingRow& r : settings_table()) {
        if (r.env != nullptr && r.id != Setting::kProxy)  // load_config's own: credentials
            EXPECT_NE(r.store, nullptr) << r.env;
        if (r.option != nullptr) EXPECT_NE(r.help, nullptr) << r.option;
        if (r.form == Form::kFlag) EXPECT_NE(r.flag_value, nullptr) << r.option;
        if (r.form == Form::kValue || r.form == Form::kList) EXPECT_NE(r.metavar, nullptr);
        if (r.target != Setting::kCount) EXPECT_EQ(r.form, Form::kFlag);
    }
}

TEST(SettingsTableTest, LookupsFindTheirRow) {
    EXPECT_EQ(find_option("fake-net6")->id, Setting::kFakeNet6);
    EXPECT_EQ(find_short_option('x')->id, Setting::kProxy);
    EXPECT_EQ(find_file_key("pipeline")->id, Setting::kPipeline);
    EXPECT_EQ(find_option("no-such"), nullptr);
    EXPECT_EQ(find_short_option('z'), nullptr);
    EXPECT_EQ(find_file_key("verbose"), nullptr);  // a file says log = verbose
    for (const SettingRow& r : settings_table()) EXPECT_EQ(&setting(r.id), &r);
}

TEST(SettingsTableTest, StoreNamesTheVariableOrTheItem) {
    Config cfg;
    EXPECT_FALSE(store_setting(setting(Setting::kTimeout), "SOCKSIFY_TIMEOUT", "soon", cfg));
    EXPECT_STREQ(cfg.error, "bad SOCKSIFY_TIMEOUT value 'soon': not a number");
    // A chain holds passwords: the hop is named, its text never shown.
    EXPECT_FALSE(store_setting(setting(Setting::kChain), "SOCKSIFY_CHAIN",
                               "socks5://u:secret@198.51.100.1:1080,socks5://u:secret@bad host",
                               cfg));
    EXPECT_EQ(std::string(cfg.error).find("secret"), std::string::npos) << cfg.error;
    EXPECT_NE(std::string(cfg.error).find("(hop 2)"), std::string::npos) << cfg.error;
}

}  // namespace
}  // namespace socksify::shim
