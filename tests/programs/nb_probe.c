// Issue 16: a non-blocking connect through the proxy, waited for with poll, select,
// or epoll (level, edge, one-shot, two sets), as an event-loop program does it.
// Usage: nb_probe MODE HOST PORT [COUNT]
//   MODE: poll | select | epoll | epoll-et | epoll-oneshot | epoll-two | early | close
//         | parallel (COUNT sockets at once, waited for with poll)
//         | pre-epoll | pre-epoll-et | pre-epoll-oneshot | pre-epoll-two (the socket is
//           put in the epoll set(s) before connect(), as libuv and Java NIO may do)
// Prints key=value facts: connect (errno name of connect()), wakeups, so_error,
// peer, echo (the bytes came back through the tunnel), ms.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char* ename(int e) {
    switch (e) {
        case 0: return "0";
        case EINPROGRESS: return "EINPROGRESS";
        case EAGAIN: return "EAGAIN";
        case ENOTCONN: return "ENOTCONN";
        case ECONNREFUSED: return "ECONNREFUSED";
        case ECONNABORTED: return "ECONNABORTED";
        case ECONNRESET: return "ECONNRESET";
        case ETIMEDOUT: return "ETIMEDOUT";
        case EACCES: return "EACCES";
        case EHOSTUNREACH: return "EHOSTUNREACH";
        case ENETUNREACH: return "ENETUNREACH";
        case EAFNOSUPPORT: return "EAFNOSUPPORT";
        case EALREADY: return "EALREADY";
        default: return "other";
    }
}

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

static struct sockaddr_in dest;
static int g_fd = -1;  // the socket epoll_mode made itself

static int make_socket(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) exit(2);
    return fd;
}

static void do_connect(int fd) {
    int rc = connect(fd, (struct sockaddr*)&dest, sizeof dest);
    printf("connect=%s\n", rc == 0 ? "0" : ename(errno));
}

static int start(void) {
    int fd = make_socket();
    do_connect(fd);
    return fd;
}

// After the program was told the socket is writable: what it sees.
static void finish(int fd) {
    int err = -1;
    socklen_t n = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n);
    printf("so_error=%s\n", ename(err));
    if (err != 0) return;
    struct sockaddr_in peer;
    socklen_t pn = sizeof peer;
    char text[64] = "none";
    if (getpeername(fd, (struct sockaddr*)&peer, &pn) == 0)
        snprintf(text, sizeof text, "%s:%d", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
    printf("peer=%s\n", text);
    const char token[] = "nb-token";
    if (send(fd, token, sizeof token - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof token - 1)) {
        printf("echo=send-failed\n");
        return;
    }
    char back[sizeof token] = {0};
    size_t got = 0;
    long end = now_ms() + 5000;
    while (got < sizeof token - 1 && now_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 1000) <= 0) continue;
        ssize_t r = recv(fd, back + got, sizeof token - 1 - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
    }
    printf("echo=%s\n", got == sizeof token - 1 && memcmp(back, token, got) == 0 ? "ok" : "bad");
}

static int wait_poll(int fd) {
    int wakeups = 0;
    for (int i = 0; i < 200; ++i) {
        struct pollfd p = {fd, POLLOUT, 0};
        int rc = poll(&p, 1, 100);
        if (rc > 0) return printf("wakeups=%d\n", wakeups), 1;
        ++wakeups;
    }
    return 0;
}

static int wait_select(int fd) {
    for (int i = 0; i < 200; ++i) {
        fd_set w;
        FD_ZERO(&w);
        FD_SET(fd, &w);
        struct timeval tv = {0, 100000};
        if (select(fd + 1, NULL, &w, NULL, &tv) > 0 && FD_ISSET(fd, &w)) return 1;
    }
    return 0;
}

// Waits on ep until fd is reported; returns the events, 0 on none within 20 s.
static unsigned wait_epoll(int ep, int fd) {
    for (int i = 0; i < 200; ++i) {
        struct epoll_event ev[4];
        int n = epoll_wait(ep, ev, 4, 100);
        for (int j = 0; j < n; ++j)
            if (ev[j].data.fd == fd) return ev[j].events;
    }
    return 0;
}

static int add(int ep, int fd, unsigned events) {
    struct epoll_event ev = {.events = events, .data.fd = fd};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

// fd < 0: the socket is made here and put in the set(s) before its connect.
static int epoll_mode(const char* mode, int fd) {
    int pre = strncmp(mode, "pre-", 4) == 0;
    if (pre) mode += 4;
    if (pre) fd = g_fd = make_socket();
    int ep = epoll_create1(0);
    unsigned flags = EPOLLOUT;
    if (strcmp(mode, "epoll-et") == 0) flags |= EPOLLET | EPOLLIN;
    if (strcmp(mode, "epoll-oneshot") == 0) flags |= EPOLLONESHOT;
    add(ep, fd, flags);
    int ep2 = -1;
    if (strcmp(mode, "epoll-two") == 0) {
        ep2 = epoll_create1(0);
        add(ep2, fd, EPOLLOUT);
    }
    if (pre) do_connect(fd);
    unsigned got = wait_epoll(ep, fd);
    printf("events_out=%d\n", (got & EPOLLOUT) ? 1 : 0);
    if (ep2 >= 0) printf("second_set_out=%d\n", (wait_epoll(ep2, fd) & EPOLLOUT) ? 1 : 0);
    if (strcmp(mode, "epoll-et") == 0 || strcmp(mode, "epoll-oneshot") == 0) {
        // Edge or one-shot: reported once, not again while nothing changes.
        struct epoll_event ev[4];
        printf("again=%d\n", epoll_wait(ep, ev, 4, 300));
    }
    return got != 0;
}

int main(int argc, char** argv) {
    if (argc < 4) return 2;
    const char* mode = argv[1];
    dest.sin_family = AF_INET;
    dest.sin_port = htons((unsigned short)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &dest.sin_addr) != 1) {
        // A name: resolved as the program would (under the shim, a fake address).
        struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
        if (getaddrinfo(argv[2], NULL, &hints, &res) != 0) return 2;
        dest.sin_addr = ((struct sockaddr_in*)res->ai_addr)->sin_addr;
        freeaddrinfo(res);
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    long t0 = now_ms();
    if (strcmp(mode, "parallel") == 0) {
        int count = argc > 4 ? atoi(argv[4]) : 10;
        if (count < 1 || count > 64) return 2;
        struct pollfd p[64];
        for (int i = 0; i < count; ++i) p[i] = (struct pollfd){start(), POLLOUT, 0};
        int done = 0, ok = 0;
        long end = now_ms() + 20000;
        while (done < count && now_ms() < end) {
            if (poll(p, (nfds_t)count, 100) <= 0) continue;
            for (int i = 0; i < count; ++i) {
                if (p[i].fd < 0 || p[i].revents == 0) continue;
                int err = -1;
                socklen_t n = sizeof err;
                getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err, &n);
                ok += err == 0;
                close(p[i].fd);
                p[i].fd = -1;
                ++done;
            }
        }
        printf("done=%d\nok=%d\nms=%ld\n", done, ok, now_ms() - t0);
        return 0;
    }
    int fd = strncmp(mode, "pre-", 4) == 0 ? -1 : start();
    if (strcmp(mode, "early") == 0) {
        // Before the exchange is over nothing of the program's reaches the proxy.
        ssize_t s = send(fd, "early", 5, MSG_NOSIGNAL);
        printf("early_send=%s\n", s < 0 ? ename(errno) : "sent");
        char b[8];
        ssize_t r = recv(fd, b, sizeof b, 0);
        printf("early_recv=%s\n", r < 0 ? ename(errno) : "data");
        struct sockaddr_in peer;
        socklen_t pn = sizeof peer;
        printf("early_peer=%s\n",
               getpeername(fd, (struct sockaddr*)&peer, &pn) == 0 ? "some" : ename(errno));
        mode = "poll";
    }
    if (strcmp(mode, "close") == 0) {
        close(fd);  // mid-exchange: the program's later waits must not see it
        int reused = start();
        int null_fd = open("/dev/null", O_RDONLY);
        dup2(null_fd, reused);  // the number now names a file: its exchange is gone
        struct pollfd pn = {reused, POLLIN, 0};
        printf("reused_ready=%d\n", poll(&pn, 1, 0));
        close(reused);
        close(null_fd);
        int other = start();
        int ok = wait_poll(other);
        printf("waited=%d\n", ok);
        finish(other);
        printf("ms=%ld\n", now_ms() - t0);
        return 0;
    }
    int ok = 0;
    if (strcmp(mode, "poll") == 0)
        ok = wait_poll(fd);
    else if (strcmp(mode, "select") == 0)
        ok = wait_select(fd);
    else
        ok = epoll_mode(mode, fd);
    if (fd < 0) fd = g_fd;
    printf("waited=%d\n", ok);
    if (ok) finish(fd);
    printf("ms=%ld\n", now_ms() - t0);
    return 0;
}
