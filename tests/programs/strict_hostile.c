/* A hostile CI job for --strict (tests/integration/strict_kernel.sh): each mode tries one
 * way around the proxy and prints "MODE RESULT" (the errno's name, "ok", or counts).
 *
 *   strict_hostile MODE TARGET4 TARGET6 PORT PROXY4 PROXYPORT DENIED-NAME
 *
 * TARGET is a listener that must hear nothing; PROXY the run's SOCKS5 proxy. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

static const char *t4, *t6, *p4, *denied;
static int port, pport;

static const char* en(int e) {
    static char buf[32];
    const char* n = strerrorname_np(e);
    if (n != NULL) return n;
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

static struct sockaddr_in in4(const char* ip, int p) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static void result(const char* mode, long rc) { printf("%s %s\n", mode, rc == 0 ? "ok" : en(errno)); }

/* connect by the raw system call, no libc wrapper. */
static void raw_connect(const char* mode) {
    int s = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = in4(t4, port);
    result(mode, syscall(SYS_connect, s, &a, sizeof a));
}

static struct sockaddr_in g_race;
static atomic_int g_stop;

static void* flipper(void* arg) {
    struct sockaddr_in* loop = arg;
    struct sockaddr_in far = in4(t4, port);
    while (!atomic_load(&g_stop)) {
        memcpy(&g_race, &far, sizeof far);
        memcpy(&g_race, loop, sizeof *loop);
    }
    return NULL;
}

/* Another thread rewrites the address while this one is inside connect: each connect
 * must reach the loopback listener or be refused, never the target. */
static void race(int rounds) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in loop = in4("127.0.0.1", 0);
    socklen_t n = sizeof loop;
    bind(l, (struct sockaddr*)&loop, sizeof loop);
    listen(l, 4096);
    getsockname(l, (struct sockaddr*)&loop, &n);
    memcpy(&g_race, &loop, sizeof loop);
    pthread_t t;
    pthread_create(&t, NULL, flipper, &loop);
    int to_loop = 0, refused = 0, other = 0, leak = 0;
    for (int i = 0; i < rounds; ++i) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (syscall(SYS_connect, s, &g_race, sizeof g_race) == 0) {
            struct sockaddr_in peer;
            socklen_t pn = sizeof peer;
            getpeername(s, (struct sockaddr*)&peer, &pn);
            if (peer.sin_port == loop.sin_port && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
                ++to_loop;
                int c = accept(l, NULL, NULL);
                if (c >= 0) close(c);
            } else {
                ++leak;
            }
        } else if (errno == EACCES) {
            ++refused;
        } else {
            ++other;
        }
        close(s);
    }
    atomic_store(&g_stop, 1);
    pthread_join(t, NULL);
    printf("race loopback=%d refused=%d other=%d leak=%d\n", to_loop, refused, other, leak);
}

int main(int argc, char** argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: %s MODE TARGET4 TARGET6 PORT PROXY4 PROXYPORT DENIED\n", argv[0]);
        return 2;
    }
    const char* mode = argv[1];
    t4 = argv[2], t6 = argv[3], port = atoi(argv[4]), p4 = argv[5], pport = atoi(argv[6]);
    denied = argv[7];
    setvbuf(stdout, NULL, _IONBF, 0);
    if (strcmp(mode, "raw-connect") == 0) {
        raw_connect(mode);
    } else if (strcmp(mode, "io-uring") == 0) {
        char params[120] = {0};  // struct io_uring_params
        long fd = syscall(425 /* io_uring_setup */, 4, params);
        result(mode, fd >= 0 ? 0 : -1);
    } else if (strcmp(mode, "race") == 0) {
        race(argc > 8 ? atoi(argv[8]) : 2000);
    } else if (strcmp(mode, "short-sin6") == 0) {
        int s = socket(AF_INET6, SOCK_STREAM, 0);
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        inet_pton(AF_INET6, t6, &a.sin6_addr);
        result(mode, syscall(SYS_connect, s, &a, 24));  // no scope id: RFC 2133's form
    } else if (strcmp(mode, "unspec-sendto") == 0) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = in4(t4, port);
        a.sin_family = AF_UNSPEC;  // an IPv4 UDP socket reads it as AF_INET
        long r = syscall(SYS_sendto, s, "x", 1, 0, &a, sizeof a);
        result(mode, r == 1 ? 0 : -1);
    } else if (strcmp(mode, "udp-nameserver") == 0) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = in4(t4, 53);
        long r = syscall(SYS_sendto, s, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12, 0,
                         &a, sizeof a);
        result(mode, r > 0 ? 0 : -1);
    } else if (strcmp(mode, "udp-far") == 0) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = in4(t4, port);
        struct iovec v = {"x", 1};
        struct msghdr m = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &v, .msg_iovlen = 1};
        long r = syscall(SYS_sendmsg, s, &m, 0);
        result(mode, r == 1 ? 0 : -1);
    } else if (strcmp(mode, "raw-socket") == 0) {
        result(mode, syscall(SYS_socket, AF_INET, SOCK_RAW, IPPROTO_ICMP) >= 0 ? 0 : -1);
    } else if (strcmp(mode, "packet-socket") == 0) {
        result(mode, syscall(SYS_socket, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) >= 0 ? 0 : -1);
    } else if (strcmp(mode, "fastopen") == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr unspec = {.sa_family = AF_UNSPEC};
        syscall(SYS_connect, s, &unspec, sizeof unspec);
        struct sockaddr_in a = in4(t4, port);
        long r = syscall(SYS_sendto, s, "x", 1, MSG_FASTOPEN, &a, sizeof a);
        result(mode, r == 1 ? 0 : -1);
    } else if (strcmp(mode, "socks-direct") == 0) {
        /* SOCKS5 to the proxy itself for a name the policy denies. */
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = in4(p4, pport);
        if (syscall(SYS_connect, s, &a, sizeof a) != 0) {
            result(mode, -1);
        } else {
            unsigned char req[300] = {5, 1, 0};
            unsigned char r[16];
            write(s, req, 3);
            read(s, r, 2);
            size_t n = strlen(denied);
            unsigned char* p = req;
            *p++ = 5, *p++ = 1, *p++ = 0, *p++ = 3, *p++ = (unsigned char)n;
            memcpy(p, denied, n), p += n;
            *p++ = (unsigned char)(port >> 8), *p++ = (unsigned char)port;
            write(s, req, (size_t)(p - req));
            printf("%s %s\n", mode, read(s, r, 10) >= 2 && r[1] == 0 ? "connected" : "refused-by-proxy");
        }
    } else if (strcmp(mode, "own-listener") == 0) {
        struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        struct sock_fprog prog = {1, &allow};
        result(mode, syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                             &prog) >= 0 ? 0 : -1);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
