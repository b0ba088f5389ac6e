// Address forms against the hooks (issue 11), run with and without socksify by
// tests/integration/addr_forms.sh.
//
//   addr_probe sweep V4 V6 PORT
//       For TCP and UDP sockets of both families, every family value 0..45 and every
//       sockaddr length 0..128, tries connect, sendto, sendmsg, sendmmsg and Fast Open
//       sendto/sendmsg/sendmmsg aimed at V4/V6:PORT (both readings of the address bytes name the
//       target; on IPv6 sockets a second pass uses the v4-mapped form of V4). Prints
//       "SOCK CALL VARIANT FAMILY LEN RESULT" per attempt, RESULT "ok" when the call was
//       taken (sent, connected or connecting) or the errno's name.
//   addr_probe dissolve HOST PORT V4 TPORT
//       Connects a TCP socket to HOST:PORT (echo), checks one round trip, dissolves it
//       with connect(AF_UNSPEC), prints getpeername's answer, then a Fast Open sendto
//       to V4:TPORT and its result; "ok" when taken.
//   addr_probe stale HOST PORT UDPHOST UDPPORT
//       A TCP socket connected to HOST:PORT and a UDP socket connected to
//       UDPHOST:UDPPORT are closed by fclose(fdopen()); an AF_UNIX socketpair and a
//       pipe then get their numbers. Prints what getpeername says of the socketpair
//       end and whether the pipe carries a byte both ways.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

static const char* result(long rc) {
    if (rc >= 0 || errno == EINPROGRESS) return "ok";
    const char* n = strerrorname_np(errno);
    return n != NULL ? n : "E?";
}

struct kind {
    const char* name;
    int domain;
    int type;
};

static const struct kind kinds[] = {{"tcp4", AF_INET, SOCK_STREAM},
                                    {"tcp6", AF_INET6, SOCK_STREAM},
                                    {"udp4", AF_INET, SOCK_DGRAM},
                                    {"udp6", AF_INET6, SOCK_DGRAM}};

enum call { CONNECT, SENDTO, SENDMSG, SENDMMSG, TFO_SENDTO, TFO_SENDMSG, TFO_SENDMMSG, CALLS };
static const char* call_names[] = {"connect",    "sendto",      "sendmsg",     "sendmmsg",
                                   "tfo-sendto", "tfo-sendmsg", "tfo-sendmmsg"};

static long attempt(int fd, enum call c, unsigned char* buf, socklen_t len) {
    char byte = 'x';
    struct iovec iov = {&byte, 1};
    struct mmsghdr mm;
    memset(&mm, 0, sizeof mm);
    mm.msg_hdr.msg_name = buf;
    mm.msg_hdr.msg_namelen = len;
    mm.msg_hdr.msg_iov = &iov;
    mm.msg_hdr.msg_iovlen = 1;
    struct sockaddr* a = (struct sockaddr*)buf;
    switch (c) {
        case CONNECT: return connect(fd, a, len);
        case SENDTO: return sendto(fd, &byte, 1, MSG_NOSIGNAL, a, len);
        case SENDMSG: return sendmsg(fd, &mm.msg_hdr, MSG_NOSIGNAL);
        case SENDMMSG: return sendmmsg(fd, &mm, 1, MSG_NOSIGNAL);
        case TFO_SENDTO: return sendto(fd, &byte, 1, MSG_NOSIGNAL | MSG_FASTOPEN, a, len);
        case TFO_SENDMSG: return sendmsg(fd, &mm.msg_hdr, MSG_NOSIGNAL | MSG_FASTOPEN);
        default: return sendmmsg(fd, &mm, 1, MSG_NOSIGNAL | MSG_FASTOPEN);
    }
}

static int sweep(const char* host4, const char* host6, int port) {
    struct in_addr v4;
    struct in6_addr v6, mapped;
    char mapped_text[64];
    snprintf(mapped_text, sizeof mapped_text, "::ffff:%s", host4);
    if (inet_pton(AF_INET, host4, &v4) != 1 || inet_pton(AF_INET6, host6, &v6) != 1 ||
        inet_pton(AF_INET6, mapped_text, &mapped) != 1) {
        fprintf(stderr, "addr_probe: bad address\n");
        return 2;
    }
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; ++k) {
        for (int c = 0; c < CALLS; ++c) {
            for (int variant = 0; variant < 2; ++variant) {
                if (variant == 1 && kinds[k].domain != AF_INET6) continue;
                // One socket until a call is taken: a refused call leaves its state.
                int fd = -1;
                for (int fam = 0; fam <= 45; ++fam) {
                    for (socklen_t len = 0; len <= 128; ++len) {
                        // Family, port, the IPv4 target where sockaddr_in has its
                        // address (sin6_flowinfo to IPv6, ignored), the IPv6 target (or
                        // the v4-mapped IPv4 one) where sockaddr_in6 has its, a zero
                        // scope id, then filler.
                        unsigned char buf[160];
                        memset(buf, 0xa5, sizeof buf);
                        sa_family_t f = (sa_family_t)fam;
                        uint16_t p = htons((uint16_t)port);
                        memcpy(buf, &f, 2);
                        memcpy(buf + 2, &p, 2);
                        memcpy(buf + 4, &v4, 4);
                        memcpy(buf + 8, variant == 1 ? &mapped : &v6, 16);
                        memset(buf + 24, 0, 4);
                        if (fd < 0) {
                            fd = socket(kinds[k].domain, kinds[k].type | SOCK_NONBLOCK, 0);
                            if (fd < 0) {
                                perror("addr_probe: socket");
                                return 2;
                            }
                        }
                        long rc = attempt(fd, (enum call)c, buf, len);
                        const char* r = result(rc);
                        printf("%s %s %s %d %u %s\n", kinds[k].name, call_names[c],
                               variant == 1 ? "mapped" : "plain", fam, (unsigned)len, r);
                        if (strcmp(r, "ok") == 0 &&
                            (kinds[k].type == SOCK_STREAM || c == CONNECT)) {
                            close(fd);
                            fd = -1;
                        }
                    }
                }
                if (fd >= 0) close(fd);
            }
        }
    }
    return 0;
}

static int connect_to(int type, const char* host, int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return -1;
    int fd = socket(AF_INET, type, 0);
    if (fd < 0 || connect(fd, (struct sockaddr*)&a, sizeof a) != 0) {
        printf("connect %s\n", result(-1));
        return -1;
    }
    return fd;
}

// One byte to an echo server and back.
static const char* round_trip(int fd) {
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c = 'e', back = 0;
    if (send(fd, &c, 1, MSG_NOSIGNAL) != 1) return result(-1);
    if (recv(fd, &back, 1, 0) != 1) return result(-1);
    return back == c ? "ok" : "wrong-byte";
}

static const char* peer_of(int fd) {
    static char text[80];
    struct sockaddr_storage ss;
    socklen_t n = sizeof ss;
    if (getpeername(fd, (struct sockaddr*)&ss, &n) != 0) return result(-1);
    snprintf(text, sizeof text, "family-%d", ss.ss_family);
    return text;
}

static int dissolve(const char* host, int port, const char* target, int tport) {
    int fd = connect_to(SOCK_STREAM, host, port);
    if (fd < 0) return 1;
    printf("echo %s\n", round_trip(fd));
    struct sockaddr unspec;
    memset(&unspec, 0, sizeof unspec);
    unspec.sa_family = AF_UNSPEC;
    printf("dissolve %s\n", result(connect(fd, &unspec, sizeof unspec)));
    printf("getpeername %s\n", peer_of(fd));
    struct sockaddr_in t;
    memset(&t, 0, sizeof t);
    t.sin_family = AF_INET;
    t.sin_port = htons((uint16_t)tport);
    inet_pton(AF_INET, target, &t.sin_addr);
    printf("tfo %s\n", result(sendto(fd, "t", 1, MSG_NOSIGNAL | MSG_FASTOPEN,
                                     (struct sockaddr*)&t, sizeof t)));
    close(fd);
    return 0;
}

// Closes fd behind the library's back, as stdio does.
static void stdio_close(int fd) {
    FILE* f = fdopen(fd, "r+");
    if (f != NULL) fclose(f);
}

static int stale(const char* host, int port, const char* uhost, int uport) {
    int tcp = connect_to(SOCK_STREAM, host, port);
    if (tcp < 0) return 1;
    printf("tcp-echo %s\n", round_trip(tcp));
    stdio_close(tcp);
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return 1;
    int unix_end = pair[0] == tcp ? pair[0] : pair[1] == tcp ? pair[1] : -1;
    if (unix_end < 0) {
        printf("socketpair did not reuse fd %d\n", tcp);
        return 1;
    }
    printf("socketpair-peer %s\n", peer_of(unix_end));
    int udp = connect_to(SOCK_DGRAM, uhost, uport);
    if (udp < 0) return 1;
    printf("udp-echo %s\n", round_trip(udp));
    stdio_close(udp);
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_NONBLOCK) != 0) return 1;  // a lost byte: EAGAIN, not a hang
    int end = pipe_fds[0] == udp ? 0 : pipe_fds[1] == udp ? 1 : -1;
    if (end < 0) {
        printf("pipe did not reuse fd %d\n", udp);
        return 1;
    }
    printf("pipe-peer %s\n", peer_of(udp));
    char c = 'p', back = 0;
    long w = write(pipe_fds[1], &c, 1);
    const char* wr = result(w);
    long r = read(pipe_fds[0], &back, 1);
    printf("pipe-write %s pipe-read %s\n", wr, r == 1 && back == c ? "ok" : result(r));
    // Again with the write end on the old number: a placeholder takes the lower one.
    int placeholder = dup(0);
    int udp2 = connect_to(SOCK_DGRAM, uhost, uport);
    if (placeholder < 0 || udp2 < 0 || placeholder > udp2) return 1;
    printf("udp2-echo %s\n", round_trip(udp2));
    stdio_close(udp2);
    close(placeholder);
    int again[2];
    if (pipe2(again, O_NONBLOCK) != 0 || again[1] != udp2) {
        printf("pipe did not reuse fd %d\n", udp2);
        return 1;
    }
    w = write(again[1], &c, 1);
    wr = result(w);
    r = read(again[0], &back, 1);
    printf("pipe2-write %s pipe2-read %s\n", wr, r == 1 && back == c ? "ok" : result(r));
    return 0;
}

int main(int argc, char** argv) {
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (argc == 5 && strcmp(argv[1], "sweep") == 0) return sweep(argv[2], argv[3], atoi(argv[4]));
    if (argc == 6 && strcmp(argv[1], "dissolve") == 0)
        return dissolve(argv[2], atoi(argv[3]), argv[4], atoi(argv[5]));
    if (argc == 6 && strcmp(argv[1], "stale") == 0)
        return stale(argv[2], atoi(argv[3]), argv[4], atoi(argv[5]));
    fprintf(stderr,
            "usage: addr_probe sweep V4 V6 PORT | dissolve HOST PORT V4 TPORT | "
            "stale HOST PORT UDPHOST UDPPORT\n");
    return 2;
}
