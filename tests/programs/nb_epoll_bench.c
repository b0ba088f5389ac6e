// Issue 16 benchmark client: a single-threaded epoll loop keeping INFLIGHT non-blocking
// connections open at once until TOTAL have each echoed one byte.
// Usage: nb_epoll_bench plain DEST_IP PORT TOTAL INFLIGHT
//        nb_epoll_bench socks PROXY_IP PROXY_PORT DEST_IP PORT TOTAL INFLIGHT
// plain: connects to the destination (under socksify, the shim runs the SOCKS5
// exchange); socks: speaks SOCKS5 (no auth, CONNECT by IPv4) to the proxy itself, the
// native baseline. Prints ok=, failed= and conns_per_s=.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kConnecting, kGreeting, kRequest, kEcho };

struct conn {
    int step;
    size_t want;  // bytes still to read for this step
};

static struct sockaddr_in target;  // what connect() is given
static unsigned char request[10];  // SOCKS5 CONNECT to the destination (socks mode)
static int socks;
static struct conn* conns;
static int ep;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int open_one(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (fd >= 65536) {  // beyond the table
        close(fd);
        return -1;
    }
    if (connect(fd, (struct sockaddr*)&target, sizeof target) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    conns[fd] = (struct conn){kConnecting, 0};
    struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    return fd;
}

static void want_read(int fd, int step, size_t n) {
    conns[fd].step = step;
    conns[fd].want = n;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

// Advances fd on readiness; 1 done (echoed), -1 failed, 0 going on.
static int step(int fd) {
    struct conn* c = &conns[fd];
    if (c->step == kConnecting) {
        int err = 0;
        socklen_t n = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n) != 0 || err != 0) return -1;
        if (socks) {
            static const unsigned char greeting[] = {5, 1, 0};
            if (send(fd, greeting, sizeof greeting, MSG_NOSIGNAL) != sizeof greeting) return -1;
            want_read(fd, kGreeting, 2);
        } else {
            if (send(fd, "x", 1, MSG_NOSIGNAL) != 1) return -1;
            want_read(fd, kEcho, 1);
        }
        return 0;
    }
    unsigned char buf[16];
    ssize_t r = recv(fd, buf, c->want, 0);
    if (r < 0 && errno == EAGAIN) return 0;
    if (r <= 0) return -1;
    c->want -= (size_t)r;
    if (c->want > 0) return 0;
    switch (c->step) {
        case kGreeting:
            if (buf[0] != 5 || buf[1] != 0) return -1;
            if (send(fd, request, sizeof request, MSG_NOSIGNAL) != sizeof request) return -1;
            want_read(fd, kRequest, 10);  // the reply, IPv4 BND assumed (Dante)
            return 0;
        case kRequest:
            if (send(fd, "x", 1, MSG_NOSIGNAL) != 1) return -1;
            want_read(fd, kEcho, 1);
            return 0;
        default: return 1;
    }
}

int main(int argc, char** argv) {
    socks = argc == 8 && strcmp(argv[1], "socks") == 0;
    if (!socks && !(argc == 6 && strcmp(argv[1], "plain") == 0)) return 2;
    target.sin_family = AF_INET;
    if (inet_pton(AF_INET, argv[2], &target.sin_addr) != 1) return 2;
    target.sin_port = htons((unsigned short)atoi(argv[3]));
    int a = socks ? 6 : 4;
    if (socks) {
        struct in_addr d;
        if (inet_pton(AF_INET, argv[4], &d) != 1) return 2;
        unsigned short port = htons((unsigned short)atoi(argv[5]));
        memcpy(request, (unsigned char[]){5, 1, 0, 1}, 4);
        memcpy(request + 4, &d, 4);
        memcpy(request + 8, &port, 2);
    }
    int total = atoi(argv[a]), inflight = atoi(argv[a + 1]);
    if (total < 1 || inflight < 1 || inflight > 4096) return 2;
    conns = calloc(65536, sizeof *conns);
    ep = epoll_create1(0);
    int started = 0, open_now = 0, ok = 0, failed = 0;
    double t0 = now_s(), end = t0 + 120;
    while (ok + failed < total && now_s() < end) {
        while (open_now < inflight && started < total) {
            ++started;
            if (open_one() < 0) ++failed;
            else ++open_now;
        }
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, 1000);
        for (int i = 0; i < n; ++i) {
            int fd = evs[i].data.fd;
            int r = step(fd);
            if (r == 0) continue;
            if (r > 0) ++ok;
            else ++failed;
            close(fd);
            --open_now;
        }
    }
    printf("ok=%d failed=%d conns_per_s=%.1f\n", ok, failed, ok / (now_s() - t0));
    return 0;
}
