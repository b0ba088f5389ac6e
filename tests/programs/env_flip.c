/* A program that changes its own SOCKSIFY_* variables before its first network call,
 * then reports what the library let it do. Usage: env_flip METHOD VAR [VALUE]
 * METHOD: none, setenv, putenv, environ (the entry's pointer replaced, or a new array),
 * inplace (the entry's bytes overwritten where the value fits, else as environ),
 * unsetenv, clearenv (VAR ignored). A VALUE "@PATH" (for SOCKSIFY_SHM) copies the
 * launcher's table to PATH and names the copy. Prints one line of observations on stdout:
 *   table=<name in the launcher's shared table: yes|no> a=<IPv4 answer> aaaa=<IPv6
 *   answer> name=<TCP echo by name> ip=<TCP echo by address> deny=<connect to :8>
 *   raw=<raw socket> udp=<datagram> loop=<TCP to a listener on 127.0.0.1>
 * each result "ok" or an errno name. Destinations: the test world's.
 * Built with -shared -fPIC -DFLIP_CONSTRUCTOR it is a library to preload after
 * libsocksify.so, whose constructor (run before the library's) flips
 * ENV_FLIP_VAR to ENV_FLIP_VALUE by ENV_FLIP_METHOD, and saves the launcher's table path
 * as ENV_FLIP_TABLE for the probe. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

extern char** environ;

static const char* err_name(int e) { return e == 0 ? "ok" : strerrorname_np(e); }

/* environ edited by hand: the entry's pointer replaced, or a new array with it added. */
static void edit_environ(const char* var, const char* value, int in_place) {
    size_t len = strlen(var), n = 0;
    char* entry = malloc(len + strlen(value) + 2);
    sprintf(entry, "%s=%s", var, value);
    for (char** e = environ; *e != NULL; ++e, ++n) {
        if (strncmp(*e, var, len) != 0 || (*e)[len] != '=') continue;
        if (in_place && strlen(*e + len + 1) >= strlen(value)) {
            strcpy(*e + len + 1, value);
            return;
        }
        *e = entry;
        return;
    }
    char** fresh = calloc(n + 2, sizeof *fresh);
    memcpy(fresh, environ, n * sizeof *fresh);
    fresh[n] = entry;
    environ = fresh;
}

static int flip(const char* method, const char* var, const char* value) {
    if (strcmp(method, "none") == 0) return 0;
    if (strcmp(method, "setenv") == 0) return setenv(var, value, 1);
    if (strcmp(method, "putenv") == 0) {
        char* entry = malloc(strlen(var) + strlen(value) + 2);
        sprintf(entry, "%s=%s", var, value);
        return putenv(entry);
    }
    if (strcmp(method, "environ") == 0 || strcmp(method, "inplace") == 0) {
        edit_environ(var, value, method[0] == 'i');
        return 0;
    }
    if (strcmp(method, "unsetenv") == 0) return unsetenv(var);
    if (strcmp(method, "clearenv") == 0) return clearenv();
    return -1;
}

#ifdef FLIP_CONSTRUCTOR
__attribute__((constructor)) static void flip_early(void) {
    const char* method = getenv("ENV_FLIP_METHOD");
    const char* var = getenv("ENV_FLIP_VAR");
    const char* value = getenv("ENV_FLIP_VALUE");
    const char* shm = getenv("ENV_FLIP_TABLE");
    if (shm == NULL) shm = getenv("SOCKSIFY_SHM");
    char* table = shm != NULL ? strdup(shm) : NULL;
    if (method == NULL || var == NULL) return;
    flip(method, var, value != NULL ? value : "");
    if (table != NULL) setenv("ENV_FLIP_TABLE", table, 1);
}
#endif

/* A file name for the state SOCKSIFY_SHM names: "pid:fd:dev:ino:uid" is an fd this
 * process inherited (a memfd), reached through /proc/self/fd. */
static const char* state_path(const char* ref) {
    static char path[64];
    int pid = 0, fd = -1;
    if (ref != NULL && sscanf(ref, "%d:%d:", &pid, &fd) == 2 && fd >= 0) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        return path;
    }
    return ref;
}

/* Whether the shared state holds name (the library put it there). */
static const char* table_has(const char* ref, const char* name) {
    const char* path = state_path(ref);
    if (path == NULL) return "no-table";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) return "no-table";
    void* p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return "no-table";
    const char* found = memmem(p, (size_t)st.st_size, name, strlen(name));
    munmap(p, (size_t)st.st_size);
    return found != NULL ? "yes" : "no";
}

static void lookup(const char* name, int family, char* out, size_t cap) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) {
        snprintf(out, cap, "EAI%d", rc);
        return;
    }
    const void* a = family == AF_INET ? (const void*)&((struct sockaddr_in*)res->ai_addr)->sin_addr
                                      : (const void*)&((struct sockaddr_in6*)res->ai_addr)->sin6_addr;
    inet_ntop(family, a, out, (socklen_t)cap);
    freeaddrinfo(res);
}

/* Connects to host:port (IPv4 text) and echoes one byte when echo is set. */
static const char* tcp(const char* host, int port, int echo) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return err_name(errno);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int err = 0;
    char c = 'f';
    if (connect(fd, (struct sockaddr*)&a, sizeof a) != 0)
        err = errno;
    else if (echo && (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1 || c != 'f'))
        err = errno != 0 ? errno : EPROTO;
    close(fd);
    return err_name(err);
}

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: env_flip METHOD VAR [VALUE]\n");
        return 2;
    }
    /* Read before anything changes: where the launcher's table is. */
    const char* shm = getenv("ENV_FLIP_TABLE");
    if (shm == NULL) shm = getenv("SOCKSIFY_SHM");
    char* table = shm != NULL ? strdup(shm) : NULL;
    const char* value = argc > 3 ? argv[3] : "";
    if (value[0] == '@' && table != NULL) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", state_path(table), value + 1);
        if (system(cmd) != 0) return 2;
        ++value;
    }
    if (flip(argv[1], argv[2], value) != 0) {
        fprintf(stderr, "env_flip: %s failed\n", argv[1]);
        return 2;
    }
    /* From here on the first network calls. */
    char name[64], a[INET6_ADDRSTRLEN], aaaa[INET6_ADDRSTRLEN];
    snprintf(name, sizeof name, "flip%d.socks.test", (int)getpid());
    lookup(name, AF_INET, a, sizeof a);
    lookup("echo.socks.test", AF_INET6, aaaa, sizeof aaaa);
    char echo_addr[INET6_ADDRSTRLEN];
    lookup("echo.socks.test", AF_INET, echo_addr, sizeof echo_addr);
    const char* by_name = tcp(echo_addr, 7, 1);
    const char* by_ip = tcp("203.0.113.10", 7, 1);
    const char* deny = tcp("203.0.113.10", 8, 0);

    int raw = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    const char* raw_r = err_name(raw >= 0 ? 0 : errno);
    if (raw >= 0) close(raw);

    const char* udp_r = "ok";
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(7)};
    inet_pton(AF_INET, "203.0.113.10", &dst.sin_addr);
    if (u < 0 || sendto(u, "f", 1, 0, (struct sockaddr*)&dst, sizeof dst) != 1)
        udp_r = err_name(errno);
    if (u >= 0) close(u);

    /* A listener of our own on loopback: reachable only when loopback is direct. */
    const char* loop_r = "no-listener";
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in la = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t ll = sizeof la;
    if (l >= 0 && bind(l, (struct sockaddr*)&la, sizeof la) == 0 && listen(l, 4) == 0 &&
        getsockname(l, (struct sockaddr*)&la, &ll) == 0)
        loop_r = tcp("127.0.0.1", ntohs(la.sin_port), 0);
    if (l >= 0) close(l);

    printf("table=%s a=%s aaaa=%s name=%s ip=%s deny=%s raw=%s udp=%s loop=%s\n",
           table_has(table, name), a, aaaa, by_name, by_ip, deny, raw_r, udp_r, loop_r);
    return 0;
}
