// The man page is checked against the settings table: every option in OPTIONS, every
// variable the library reads in ENVIRONMENT, every config-file key in CONFIGURATION
// FILE; and every option or variable the man page documents is one the table knows.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "shim/settings/settings_table.hpp"

namespace socksify::shim {
namespace {

std::string man_page() {
    // The tests run from the tree's top (make test), or from wherever __FILE__ says.
    for (std::string path :
         {std::string("docs/socksify.1"),
          std::string(__FILE__).substr(0, std::string(__FILE__).rfind("tests/")) +
              "docs/socksify.1"}) {
        std::ifstream f(path);
        if (!f) continue;
        std::stringstream s;
        s << f.rdbuf();
        return s.str();
    }
    return "";
}

// The text of section NAME (".SH NAME" up to the next ".SH").
std::string section(const std::string& man, const std::string& name) {
    size_t a = man.find("\n.SH " + name + "\n");
    if (a == std::string::npos) return "";
    size_t b = man.find("\n.SH ", a + 1);
    return man.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

std::string man_spelling(const std::string& s) {
    std::string out;
    for (char c : s) out += c == '-' ? std::string("\\-") : std::string(1, c);
    return out;
}

TEST(DocsTest, ManPageHasEverySettingOfTheTable) {
    std::string man = man_page();
    ASSERT_FALSE(man.empty()) << "docs/socksify.1 not found";
    std::string options = section(man, "OPTIONS");
    std::string environment = section(man, "ENVIRONMENT");
    std::string file = section(man, "CONFIGURATION FILE");
    ASSERT_FALSE(options.empty() || environment.empty() || file.empty());
    for (const SettingRow& r : settings_table()) {
        if (r.option != nullptr) {
            EXPECT_NE(options.find(man_spelling(std::string("--") + r.option)), std::string::npos)
                << "OPTIONS lacks --" << r.option;
        }
        if (r.env != nullptr) {
            EXPECT_NE(environment.find(r.env), std::string::npos) << "ENVIRONMENT lacks " << r.env;
        }
        if (r.file_key != nullptr) {
            EXPECT_NE(file.find(std::string("\\fB") + man_spelling(r.file_key)), std::string::npos)
                << "CONFIGURATION FILE lacks the key " << r.file_key;
        }
    }
}

TEST(DocsTest, ManPageDocumentsNoSettingTheTableLacks) {
    std::string man = man_page();
    // An option is documented by a .TP entry of OPTIONS starting with it.
    std::string options = section(man, "OPTIONS");
    std::regex entry(R"(\n\.TP\n\.B[IR]? +(?:\\-[a-z] *"?, "? *)?\\-\\-([a-z0-9\\-]+))");
    size_t seen = 0;
    for (std::sregex_iterator it(options.begin(), options.end(), entry), end; it != end; ++it) {
        std::string name = std::regex_replace((*it)[1].str(), std::regex(R"(\\-)"), "-");
        EXPECT_NE(find_option(name), nullptr) << "the man page documents --" << name;
        ++seen;
    }
    EXPECT_GT(seen, 20u);
    // Variables: the environment's entries are the table's, plus the three that are
    // not settings (the password, the config file's name, the shared state).
    std::string environment = section(man, "ENVIRONMENT");
    std::regex var(R"(\n\.TP\n\\fB(SOCKSIFY_[A-Z0-9_]+)\\fR)");
    std::set<std::string> extra = {kEnvPassword, kEnvConfig, kEnvShm};
    seen = 0;
    for (std::sregex_iterator it(environment.begin(), environment.end(), var), end; it != end;
         ++it) {
        std::string name = (*it)[1].str();
        bool known = extra.count(name) > 0;
        for (const SettingRow& r : settings_table()) known = known || (r.env && name == r.env);
        EXPECT_TRUE(known) << "the man page documents " << name;
        ++seen;
    }
    EXPECT_GT(seen, 15u);
}

}  // namespace
}  // namespace socksify::shim
