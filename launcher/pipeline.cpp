#include "launcher/pipeline.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <thread>

#include "shim/proxy/chain.hpp"
#include "shim/proxy/tcp_connect.hpp"
#include "shim/shared_state.hpp"
#include "shim/shm_file.hpp"

namespace socksify::launcher {
// The launcher runs the library's machinery; its names read unqualified here.
using namespace shim;
namespace {

// A remembered verdict is trusted this long: a proxy can be upgraded in place.
constexpr long kCacheDays = 30;
constexpr size_t kMaxCacheBytes = 64 * 1024;

// The probe of this run, if one had to be made. Never destroyed: a launcher that exits
// on an error path must not abort on a joinable thread.
std::thread* g_probe = nullptr;

// Owned by us, not writable by others: a directory or file anyone else could have
// put in our way is ignored.
bool ours(const struct stat& st, mode_t forbidden) {
    return st.st_uid == geteuid() && (st.st_mode & forbidden) == 0;
}

// The cache directory, opened without following links and checked; -1 if unusable.
// create: make it (0700) when missing.
int open_cache_dir(const std::string& file, bool create) {
    std::string dir = file.substr(0, file.rfind('/'));
    if (create) {
        std::string parent = dir.substr(0, dir.rfind('/'));
        mkdir(parent.c_str(), 0700);  // ~/.cache itself, usually there already
        mkdir(dir.c_str(), 0700);
    }
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st {};
    if (fd >= 0 && (fstat(fd, &st) != 0 || !ours(st, 022))) {
        close(fd);
        return -1;
    }
    return fd;
}

std::string read_cache(const std::string& path) {
    int dir = open_cache_dir(path, false);
    if (dir < 0) return {};
    std::string name = path.substr(path.rfind('/') + 1);
    int fd = openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    close(dir);
    if (fd < 0) return {};
    struct stat st {};
    std::string text;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ours(st, 077) &&
        st.st_size <= static_cast<off_t>(kMaxCacheBytes)) {
        text.resize(static_cast<size_t>(st.st_size));
        ssize_t n = read(fd, text.data(), text.size());
        text.resize(n > 0 ? static_cast<size_t>(n) : 0);
    }
    close(fd);
    return text;
}

proto::PipelineVerdict verdict_named(std::string_view s) {
    if (s == "safe") return proto::PipelineVerdict::kSafe;
    if (s == "unsafe") return proto::PipelineVerdict::kUnsafe;
    return proto::PipelineVerdict::kUnknown;
}

// The run's shared header, mapped from the state SOCKSIFY_SHM names (the launcher
// made it, so its own fd).
SharedHeader* map_header(const std::string& state_ref) {
    StateRef ref;
    if (!parse_state_ref(state_ref.c_str(), ref)) return nullptr;
    bool owned = false;
    const char* why = nullptr;
    int fd = open_state(ref, owned, why);
    if (fd < 0) return nullptr;
    void* p = mmap(nullptr, sizeof(SharedHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (owned) close(fd);
    return p == MAP_FAILED ? nullptr : static_cast<SharedHeader*>(p);
}

void say(const Config& cfg, const std::string& line) {
    if (cfg.log_level >= LogLevel::kVerbose) fprintf(stderr, "socksify: %s\n", line.c_str());
}

std::string outcome_text(const ProbeOutcome& o) {
    if (o.rep >= 0) {
        return std::string(proto::pipeline_verdict_name(o.verdict)) + " (first reply REP " +
               std::to_string(o.rep) + ")";
    }
    return std::string("unknown (") + std::strerror(o.err) + ")";
}

// fn(line) for every line of text, the last one with or without its '\n'.
template <typename Fn>
void for_each_line(std::string_view text, Fn fn) {
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        fn(text.substr(pos, end - pos));
        pos = end + 1;
    }
}

}  // namespace

ProbeOutcome probe_proxy(const Config& cfg, double& connect_ms) {
    ProbeOutcome out;
    connect_ms = -1;
    Deadline deadline = Deadline::after_ms(cfg.timeout_ms);
    int fd = socket(cfg.proxy.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        out.err = errno;
        return out;
    }
    int64_t start = monotonic_ns();
    out.err =
        connect_until(fd, reinterpret_cast<const sockaddr*>(&cfg.proxy), cfg.proxy_len, deadline);
    if (out.err == 0) {
        connect_ms = static_cast<double>(monotonic_ns() - start) / 1e6;
        out = probe_pipelining(fd, proxy_credentials(cfg), deadline);
    }
    close(fd);
    return out;
}

std::string pipeline_cache_path() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/socksify/pipelining";
    const char* home = std::getenv("HOME");
    if (home != nullptr && home[0] == '/') return std::string(home) + "/.cache/socksify/pipelining";
    return {};
}

std::string pipeline_key(const Config& cfg) {
    std::string key = cfg.proxy_text;
    if (cfg.has_auth) key = std::string(cfg.user, cfg.user_len) + "@" + key;
    for (char& c : key) {
        if (c <= ' ' || c == 0x7f) c = '_';  // one token per line
    }
    return key;
}

proto::PipelineVerdict cache_lookup(const std::string& path, const std::string& key) {
    if (path.empty()) return proto::PipelineVerdict::kUnknown;
    std::string text = read_cache(path);
    proto::PipelineVerdict found = proto::PipelineVerdict::kUnknown;
    long now = static_cast<long>(time(nullptr));
    for_each_line(text, [&](std::string_view line) {
        // "<key> <safe|unsafe> <unix time>"
        size_t a = line.find(' ');
        size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
        if (b == std::string_view::npos || line.substr(0, a) != key) return;
        long when = std::atol(std::string(line.substr(b + 1)).c_str());
        if (when <= 0 || now - when > kCacheDays * 86400 || when > now + 86400) return;
        found = verdict_named(line.substr(a + 1, b - a - 1));  // later lines win
    });
    return found;
}

bool cache_store(const std::string& path, const std::string& key, proto::PipelineVerdict v) {
    if (path.empty() || v == proto::PipelineVerdict::kUnknown) return false;
    int dir = open_cache_dir(path, true);
    if (dir < 0) return false;
    std::string kept;
    for_each_line(read_cache(path), [&](std::string_view line) {
        if (line.substr(0, line.find(' ')) != key && !line.empty())
            kept.append(line).push_back('\n');
    });
    kept += key + " " + proto::pipeline_verdict_name(v) + " " +
            std::to_string(static_cast<long>(time(nullptr))) + "\n";
    if (kept.size() > kMaxCacheBytes) kept.erase(0, kept.size() - kMaxCacheBytes / 2);
    // Written aside and renamed: a reader never sees half a file.
    std::string name = path.substr(path.rfind('/') + 1);
    std::string tmp = name + "." + std::to_string(getpid());
    int fd = openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, kept.data(), kept.size()) == static_cast<ssize_t>(kept.size());
    if (fd >= 0) close(fd);
    ok = ok && renameat(dir, tmp.c_str(), dir, name.c_str()) == 0;
    if (!ok) unlinkat(dir, tmp.c_str(), 0);
    close(dir);
    return ok;
}

std::string hop_key(const HopSpec& h) {
    std::string key = h.text;
    if (h.has_auth) key = std::string(h.user, h.user_len) + "@" + key;
    for (char& c : key) {
        if (c <= ' ' || c == 0x7f) c = '_';
    }
    return key;
}

namespace {

std::thread* g_hop_probe = nullptr;  // as g_probe, for the chain's later hops

// The chain's SOCKS5 hops after the first, as the proxy's verdict is learned: from the
// cache, else probed on a connection of the launcher's own that reaches hop i through
// hops 0..i-1. Each verdict sets its bit of hop_pipeline.
void start_hop_learning(const Config& cfg, SharedHeader* header, const std::string& path) {
    uint32_t unknown = 0;
    for (size_t i = 1; i < cfg.hop_count; ++i) {
        if (cfg.hops[i].kind != ProxyKind::kSocks5) continue;
        proto::PipelineVerdict known = cache_lookup(path, hop_key(cfg.hops[i]));
        if (known == proto::PipelineVerdict::kSafe)
            header->hop_pipeline.fetch_or(1u << i, std::memory_order_relaxed);
        if (known == proto::PipelineVerdict::kUnknown)
            unknown |= 1u << i;
        else
            say(cfg, std::string("pipelining with ") + cfg.hops[i].text + " (hop " +
                         std::to_string(i + 1) + "): " + proto::pipeline_verdict_name(known) +
                         " (remembered in " + path + ")");
    }
    if (unknown == 0) return;
    auto copy = std::make_unique<Config>(cfg);
    g_hop_probe = new std::thread([c = std::move(copy), header, path, unknown] {
        for (size_t i = 1; i < c->hop_count; ++i) {
            if ((unknown >> i & 1u) == 0) continue;
            const HopSpec& h = c->hops[i];
            Deadline deadline = Deadline::after_ms(c->timeout_ms);
            int domain = c->hops[0].addr.ss_family;
            int fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) continue;
            ProbeOutcome o;
            o.err = connect_to_hop(fd, domain, *c, i, deadline);
            if (o.err == 0) {
                Credentials creds;
                if (h.has_auth) creds = {{h.user, h.user_len}, {h.pass, h.pass_len}};
                o = probe_pipelining(fd, creds, deadline);
            }
            close(fd);
            if (o.verdict == proto::PipelineVerdict::kSafe)
                header->hop_pipeline.fetch_or(1u << i, std::memory_order_relaxed);
            say(*c, std::string("pipelining with ") + h.text + " (hop " + std::to_string(i + 1) +
                        "): " + outcome_text(o) + " (probed)");
            if (o.verdict != proto::PipelineVerdict::kUnknown)
                cache_store(path, hop_key(h), o.verdict);
        }
        for (size_t i = 0; i < c->hop_count; ++i)
            explicit_bzero(c->hops[i].pass, sizeof c->hops[i].pass);
        explicit_bzero(c->pass, sizeof c->pass);
    });
}

}  // namespace

void start_pipeline_learning(const Config& cfg, const std::string& shm_path) {
    if (!cfg.pipeline) return;
    SharedHeader* header = map_header(shm_path);
    if (header == nullptr) return;  // the library then stays stepwise
    if (cfg.hop_count > 1) start_hop_learning(cfg, header, pipeline_cache_path());
    // SOCKS4 and HTTP CONNECT are one message each: nothing to pipeline, nothing to probe.
    if (cfg.proxy_kind != ProxyKind::kSocks5) return;
    std::string path = pipeline_cache_path();
    std::string key = pipeline_key(cfg);
    proto::PipelineVerdict known = cache_lookup(path, key);
    if (known != proto::PipelineVerdict::kUnknown) {
        header->pipeline.store(static_cast<uint32_t>(known), std::memory_order_relaxed);
        say(cfg, std::string("pipelining with ") + cfg.proxy_text + ": " +
                     proto::pipeline_verdict_name(known) + " (remembered in " + path + ")");
        return;
    }
    // The thread owns a copy (the caller wipes the password from its own).
    auto copy = std::make_unique<Config>(cfg);
    g_probe = new std::thread([c = std::move(copy), header, path, key] {
        double connect_ms = 0;
        ProbeOutcome o = probe_proxy(*c, connect_ms);
        explicit_bzero(c->pass, sizeof c->pass);
        header->pipeline.store(static_cast<uint32_t>(o.verdict), std::memory_order_relaxed);
        say(*c,
            std::string("pipelining with ") + c->proxy_text + ": " + outcome_text(o) + " (probed)");
        if (o.verdict != proto::PipelineVerdict::kUnknown) cache_store(path, key, o.verdict);
    });
}

void finish_pipeline_learning() {
    if (g_probe != nullptr && g_probe->joinable()) g_probe->join();
    if (g_hop_probe != nullptr && g_hop_probe->joinable()) g_hop_probe->join();
}

}  // namespace socksify::launcher
