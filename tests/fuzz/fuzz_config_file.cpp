// libFuzzer target: socksify's config file and a proxychains.conf, both parsed from any
// bytes. Each either fails with a reason and a line number inside the text, or gives
// settings whose fields stay within their bounds.
#include <cstring>
#include <string_view>

#include "shim/settings/config_file.hpp"
#include "shim/settings/policy.hpp"
#include "tests/fuzz/invariants.hpp"

namespace {

using namespace socksify::shim;
using socksify::fuzz::require;

struct Seen {
    std::string_view text;
    size_t lines = 0;
};

const char* on_line(void* ctx, size_t line_no, const ConfigLine& line) {
    auto& seen = *static_cast<Seen*>(ctx);
    require(line_no >= 1 && line.kind != ConfigLine::Kind::kBlank);
    // Values are views into the text itself.
    require(line.value.empty() ||
            (line.value.data() >= seen.text.data() &&
             line.value.data() + line.value.size() <= seen.text.data() + seen.text.size()));
    if (line.kind == ConfigLine::Kind::kRule) {
        Rule r;
        require(parse_rule(line.value, line.allow, r) == nullptr);  // checked already
    }
    ++seen.lines;
    return nullptr;
}

size_t count_lines(std::string_view text) {
    size_t n = 1;
    for (char c : text) n += c == '\n';
    return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const size_t lines = count_lines(text);

    Seen seen{text};
    size_t line_no = 0;
    if (const char* e = parse_config_text(text, on_line, &seen, line_no)) {
        require(*e != '\0' && line_no >= 1 && line_no <= lines);
    }
    require(seen.lines <= lines);

    static ProxychainsConf pc;  // large: not on the stack
    if (const char* e = parse_proxychains(text, pc, line_no)) {
        require(*e != '\0' && line_no >= 1 && line_no <= lines);
        return 0;
    }
    require(pc.localnet_count <= kMaxLocalnets);
    require(pc.proxy_count <= kMaxHops && pc.warning_count <= kMaxProxychainsWarnings);
    require(pc.chain_len <= kMaxHops);
    for (size_t i = 0; i < pc.proxy_count; ++i) {
        const ProxychainsEntry& p = pc.proxies[i];
        require(p.url.port != 0 && p.line >= 1 && p.line <= lines);
        require(std::memchr(p.url.host, '\0', sizeof p.url.host) != nullptr);
        require(std::memchr(p.url.user, '\0', sizeof p.url.user) != nullptr);
        require(std::memchr(p.url.pass, '\0', sizeof p.url.pass) != nullptr);
    }
    for (size_t i = 0; i < pc.warning_count; ++i)
        require(pc.warnings[i].line >= 1 && pc.warnings[i].line <= lines && pc.warnings[i].what);
    require(pc.timeout_ms >= 0);
    return 0;
}
