// /etc/hosts lookup without allocation: the file is read in fixed chunks and parsed
// line by line (a line longer than the chunk is skipped, as no host name is).
#include "shim/dns/hosts_file.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "shim/real.hpp"

namespace socksify::shim {
namespace {

// Exactly as glibc's files backend compares (strcasecmp): "localhost." is not
// "localhost", so a dotted name is not answered by the file and would go on to DNS.
bool equal_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// What a line is checked for: a host name, or an address in the first field.
struct Query {
    std::string_view name;
    int family = 0;
    const void* addr = nullptr;
    // Set: collect the families of every line naming `name` (never "found") and the
    // first IPv4 address among them.
    HostsEntry* entry = nullptr;
};

// Records a matching line's address family in q.entry.
void collect(std::string_view field, const Query& q) {
    char text[INET6_ADDRSTRLEN + 1];
    if (field.size() >= sizeof text) return;
    memcpy(text, field.data(), field.size());
    text[field.size()] = '\0';
    unsigned char bytes[16];
    if (inet_pton(AF_INET, text, bytes) == 1) {
        if ((q.entry->families & kHostsHasV4) == 0) memcpy(q.entry->v4, bytes, 4);
        q.entry->families |= kHostsHasV4;
    } else if (inet_pton(AF_INET6, text, bytes) == 1) {
        q.entry->families |= kHostsHasV6;
    }
}

bool first_field_is(std::string_view field, const Query& q) {
    char text[INET6_ADDRSTRLEN + 1];
    if (field.size() >= sizeof text) return false;
    memcpy(text, field.data(), field.size());
    text[field.size()] = '\0';
    unsigned char bytes[16];
    if (inet_pton(q.family, text, bytes) != 1) return false;
    return memcmp(bytes, q.addr, q.family == AF_INET ? 4 : 16) == 0;
}

bool line_matches(std::string_view line, const Query& q) {
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    bool first = true;  // the first field is the address
    std::string_view address;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_space(line[i])) ++i;
        size_t start = i;
        while (i < line.size() && !is_space(line[i])) ++i;
        if (i == start) break;
        std::string_view field = line.substr(start, i - start);
        if (first && q.addr != nullptr) return first_field_is(field, q);
        if (first) address = field;
        if (!first && equal_name(field, q.name)) {
            if (q.entry == nullptr) return true;
            collect(address, q);
            return false;
        }
        first = false;
    }
    return false;
}

bool text_matches(std::string_view text, const Query& q) {
    while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        if (line_matches(line, q)) return true;
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return false;
}

bool file_matches(const char* path, const Query& q) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[8192];
    size_t have = 0;
    bool found = false;
    bool skipping = false;  // inside an over-long line
    for (;;) {
        ssize_t n = real::read(fd, buf + have, sizeof buf - have);
        if (n <= 0) {
            if (!skipping && have > 0) found = text_matches({buf, have}, q);
            break;
        }
        have += static_cast<size_t>(n);
        std::string_view chunk(buf, have);
        size_t last_nl = chunk.rfind('\n');
        if (last_nl == std::string_view::npos) {
            if (have == sizeof buf) {
                skipping = true;
                have = 0;
            }
            continue;
        }
        std::string_view whole = chunk.substr(0, last_nl + 1);
        if (skipping) {
            whole.remove_prefix(whole.find('\n') + 1);
            skipping = false;
        }
        if (text_matches(whole, q)) {
            found = true;
            break;
        }
        size_t rest = have - (last_nl + 1);
        for (size_t i = 0; i < rest; ++i) buf[i] = buf[last_nl + 1 + i];
        have = rest;
    }
    real::close(fd);
    return found;
}

}  // namespace

bool hosts_text_has(std::string_view text, std::string_view name) {
    return text_matches(text, Query{name});
}

bool hosts_text_has_address(std::string_view text, int family, const void* addr) {
    return text_matches(text, Query{{}, family, addr});
}

namespace {

// The last hosts file read, kept while stat() says it is the same file unchanged:
// one system call per lookup instead of open/read/close and a fresh read.
struct Cache {
    std::atomic<uint32_t> busy{0};
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    bool valid = false;  // all-zero initial state keeps the 64 KiB in .bss
    timespec mtime{};
    char path[64] = {};
    size_t len = 0;
    char text[64 * 1024] = {};
};
constinit Cache g_cache;

bool cached_matches(const char* path, const Query& q, bool& answered) {
    answered = false;
    struct stat st {};
    if (strlen(path) >= sizeof g_cache.path || stat(path, &st) != 0 ||
        st.st_size >= static_cast<off_t>(sizeof g_cache.text))
        return false;  // the streaming reader handles it
    uint32_t free_word = 0;
    if (!g_cache.busy.compare_exchange_strong(free_word, 1, std::memory_order_acquire))
        return false;  // another thread holds it: read the file directly
    bool same = g_cache.valid && g_cache.size == st.st_size && g_cache.dev == st.st_dev &&
                g_cache.ino == st.st_ino && g_cache.mtime.tv_sec == st.st_mtim.tv_sec &&
                g_cache.mtime.tv_nsec == st.st_mtim.tv_nsec && strcmp(g_cache.path, path) == 0;
    if (!same) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t len = 0;
        if (fd >= 0) {
            ssize_t n;
            while (len < sizeof g_cache.text &&
                   (n = real::read(fd, g_cache.text + len, sizeof g_cache.text - len)) > 0)
                len += static_cast<size_t>(n);
            real::close(fd);
        }
        same = fd >= 0 && len == static_cast<size_t>(st.st_size);
        g_cache.valid = same;
        g_cache.size = st.st_size;
        g_cache.dev = st.st_dev;
        g_cache.ino = st.st_ino;
        g_cache.mtime = st.st_mtim;
        g_cache.len = len;
        strcpy(g_cache.path, path);
    }
    bool found = false;
    if (same) {
        found = text_matches({g_cache.text, g_cache.len}, q);
        answered = true;
    }
    g_cache.busy.store(0, std::memory_order_release);
    return found;
}

bool lookup(const char* path, const Query& q) {
    bool answered = false;
    bool found = cached_matches(path, q, answered);
    return answered ? found : file_matches(path, q);
}

}  // namespace

bool hosts_file_has(const char* path, std::string_view name) { return lookup(path, Query{name}); }

HostsEntry hosts_file_entry(const char* path, std::string_view name) {
    HostsEntry entry{};
    Query q{name};
    q.entry = &entry;
    (void)lookup(path, q);
    return entry;
}

bool hosts_file_has_address(const char* path, int family, const void* addr) {
    return lookup(path, Query{{}, family, addr});
}

}  // namespace socksify::shim
