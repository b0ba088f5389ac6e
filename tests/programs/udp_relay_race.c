/* A hostile job against the UDP relay of --strict (tests/integration/strict_udp.sh). It
 * asks the supervisor for a UDP association itself, as the library does (the request
 * format of shim/proxy/udp_assoc.hpp), then sends SOCKS-wrapped datagrams with raw
 * system calls (no preloaded hook in the way) while a second thread rewrites what the
 * supervisor is about to read:
 *
 *   udp_relay_race addr N LHOST LPORT DHOST DPORT TOKEN
 *       the sendto address flips between the relay and LHOST:LPORT (a listener that
 *       must hear nothing); the header names DHOST:DPORT.
 *   udp_relay_race header N DHOST DPORT DHOST6 TOKEN
 *       the address is the relay; the header flips between DHOST:DPORT (allowed) and
 *       [DHOST6]:DPORT (denied by the policy).
 *
 * Prints "relay=ADDR:PORT sent=S refused=R other=O" (refused: EACCES). Exits 1 when no
 * association could be had. Every loop is bounded by N and by 60 s.
 *
 *   udp_relay_race gso DHOST DPORT DHOST6 TOKEN
 *       one datagram to the relay on a socket with UDP_SEGMENT 64: its first 64 bytes
 *       name DHOST:DPORT (allowed), the next 64 start with a header for
 *       [DHOST6]:DPORT (denied) and TOKEN; split, that segment would be relayed
 *       unjudged. Prints "gso ok" or "gso <errno name>".
 *   udp_relay_race raw HOST PORT
 *       one plain datagram by a raw sendto (no library, no header); prints "raw ok" or
 *       "raw <errno name>". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The kernel's call itself: libc's syscall() may be hooked by the preloaded library. */
static long raw6(long nr, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret = nr;
    __asm__ volatile("syscall"
                     : "+a"(ret)
                     : "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    if (ret < 0 && ret > -4096) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
#else
    return syscall(nr, a, b, c, d, e, f);
#endif
}

struct relay_message { /* shim/proxy/udp_assoc.hpp, RelayMessage */
    char magic[16];
    int32_t family_or_err;
    uint32_t len;
    struct sockaddr_storage addr;
};

static int ask_relay(const struct sockaddr_in* first, struct sockaddr_storage* relay) {
    int c = (int)raw6(SYS_socket, AF_INET, SOCK_STREAM, 0, 0, 0, 0);
    struct sockaddr_in ns = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, "127.0.0.53", &ns.sin_addr);
    if (c < 0 || raw6(SYS_connect, c, (long)&ns, sizeof ns, 0, 0, 0) != 0) return -1;
    struct relay_message m;
    memset(&m, 0, sizeof m);
    memcpy(m.magic, "socksify-relay1", 16);
    m.family_or_err = AF_INET;
    m.len = sizeof *first;
    memcpy(&m.addr, first, sizeof *first);
    unsigned char frame[2 + sizeof m];
    frame[0] = (unsigned char)(sizeof m >> 8);
    frame[1] = (unsigned char)sizeof m;
    memcpy(frame + 2, &m, sizeof m);
    if (write(c, frame, sizeof frame) != (ssize_t)sizeof frame) return -1;
    size_t got = 0;
    while (got < sizeof frame) {
        ssize_t n = read(c, frame + got, sizeof frame - got);
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    memcpy(&m, frame + 2, sizeof m);
    if (memcmp(m.magic, "socksify-relay1", 16) != 0 || m.family_or_err != 0) return -1;
    *relay = m.addr;
    return c; /* kept open: the association lives while it does */
}

static size_t header(unsigned char* out, int family, const char* host, int port) {
    out[0] = out[1] = out[2] = 0;
    size_t n = 4;
    if (family == AF_INET) {
        out[3] = 1;
        inet_pton(AF_INET, host, out + 4);
        n += 4;
    } else {
        out[3] = 4;
        inet_pton(AF_INET6, host, out + 4);
        n += 16;
    }
    out[n++] = (unsigned char)(port >> 8);
    out[n++] = (unsigned char)port;
    return n;
}

static struct sockaddr_in in4(const char* ip, int p) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static atomic_int stop;
static struct sockaddr_in shared_addr; /* rewritten by the flipper */
static struct sockaddr_in flip_a, flip_b;
static unsigned char shared_buf[128];
static unsigned char buf_a[128], buf_b[128];
static int flip_header;

static void* flipper(void* arg) {
    (void)arg;
    for (unsigned long i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); ++i) {
        if (flip_header)
            memcpy((void*)shared_buf, (i & 1) ? buf_b : buf_a, sizeof shared_buf);
        else
            memcpy((void*)&shared_addr, (i & 1) ? &flip_b : &flip_a, sizeof shared_addr);
    }
    return NULL;
}

int main(int argc, char** argv) {
    if (argc == 4 && strcmp(argv[1], "raw") == 0) {
        struct sockaddr_in to = in4(argv[2], atoi(argv[3]));
        int s = (int)raw6(SYS_socket, AF_INET, SOCK_DGRAM, 0, 0, 0, 0);
        long r = raw6(SYS_sendto, s, (long)"x", 1, 0, (long)&to, sizeof to);
        printf("raw %s\n", r == 1 ? "ok" : strerrorname_np(errno));
        return 0;
    }
    if (argc == 6 && strcmp(argv[1], "gso") == 0) {
        struct sockaddr_in first = in4(argv[2], atoi(argv[3]));
        struct sockaddr_storage relay;
        if (ask_relay(&first, &relay) < 0) {
            printf("no-relay\n");
            return 1;
        }
        int s = (int)raw6(SYS_socket, AF_INET, SOCK_DGRAM, 0, 0, 0, 0);
        int seg = 64;
        setsockopt(s, 17 /* SOL_UDP */, 103 /* UDP_SEGMENT */, &seg, sizeof seg);
        unsigned char buf[128] = {0};
        header(buf, AF_INET, argv[2], atoi(argv[3]));
        size_t h6 = header(buf + 64, AF_INET6, argv[4], atoi(argv[3]));
        snprintf((char*)buf + 64 + h6, sizeof buf - 64 - h6, "%s", argv[5]);
        long r =
            raw6(SYS_sendto, s, (long)buf, sizeof buf, 0, (long)&relay, sizeof(struct sockaddr_in));
        printf("gso %s\n", r == (long)sizeof buf ? "ok"
                           : r >= 0              ? "short"
                                                 : strerrorname_np(errno));
        fflush(stdout);
        sleep(1); /* the association lives until the relay has passed it on */
        return 0;
    }
    if (argc < 2) return 2;
    int addr_mode = strcmp(argv[1], "addr") == 0;
    if ((addr_mode && argc != 8) || (!addr_mode && argc != 7)) {
        fprintf(stderr, "usage: see the comment at the top\n");
        return 2;
    }
    long n = atol(argv[2]);
    const char* dhost = addr_mode ? argv[5] : argv[3];
    int dport = atoi(addr_mode ? argv[6] : argv[4]);
    const char* token = addr_mode ? argv[7] : argv[6];
    struct sockaddr_in first = in4(dhost, dport);
    struct sockaddr_storage relay;
    if (ask_relay(&first, &relay) < 0 || relay.ss_family != AF_INET) {
        printf("no-relay %s\n", strerror(errno));
        return 1;
    }
    struct sockaddr_in r4;
    memcpy(&r4, &relay, sizeof r4);
    int s = (int)raw6(SYS_socket, AF_INET, SOCK_DGRAM, 0, 0, 0, 0);
    size_t h4 = header(buf_a, AF_INET, dhost, dport);
    snprintf((char*)buf_a + h4, sizeof buf_a - h4, "%s", token);
    size_t len = 64; /* holds either header and the token */
    if (addr_mode) {
        flip_a = r4;
        flip_b = in4(argv[3], atoi(argv[4]));
        shared_addr = r4;
    } else {
        flip_header = 1;
        size_t h6 = header(buf_b, AF_INET6, argv[5], dport);
        snprintf((char*)buf_b + h6, sizeof buf_b - h6, "%s", token);
        shared_addr = r4;
    }
    memcpy(shared_buf, buf_a, sizeof shared_buf);
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    long sent = 0, refused = 0, other = 0;
    time_t end = time(NULL) + 60;
    for (long i = 0; i < n && time(NULL) < end; ++i) {
        long r = raw6(SYS_sendto, s, (long)shared_buf, (long)len, 0, (long)&shared_addr,
                      sizeof shared_addr);
        if (r >= 0)
            ++sent;
        else if (errno == EACCES)
            ++refused;
        else
            ++other;
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    char text[64];
    inet_ntop(AF_INET, &r4.sin_addr, text, sizeof text);
    printf("relay=%s:%d sent=%ld refused=%ld other=%ld\n", text, ntohs(r4.sin_port), sent, refused,
           other);
    return 0;
}
