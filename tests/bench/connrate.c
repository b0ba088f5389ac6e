/* Sequential connection rate: connect → 1-byte echo → close, N times.
 * connrate HOST PORT N [SOCKS_HOST SOCKS_PORT]: HOST is an IPv4 address or a name
 * (resolved with getaddrinfo for every connection). With a SOCKS server given, the
 * program speaks SOCKS5 itself (the limit a socksifier can reach); without, it
 * connects plainly (run it under socksify). CONNRATE_PIPELINE=1 pipelines the
 * SOCKS exchange. Prints "<conns/s> conns/s". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int parse(const char* host, const char* port, struct sockaddr_storage* ss,
                 socklen_t* len) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in* in = (struct sockaddr_in*)ss;
    struct sockaddr_in6* in6 = (struct sockaddr_in6*)ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)atoi(port));
        *len = sizeof *in;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)atoi(port));
        *len = sizeof *in6;
        return 0;
    }
    return -1;
}

static int read_n(int fd, unsigned char* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

/* No-auth CONNECT, as a SOCKS-aware client does: to an IPv4 address, or to a name
 * (DOMAINNAME: the proxy resolves it) when name is set. One message per round trip
 * (curl's way; microsocks 1.0.3 needs it), or greeting and request in one write when
 * pipelined is set. The reply is expected with an IPv4 BND. */
static int socks_connect(int fd, const struct sockaddr_in* dest, const char* name,
                         unsigned short port, int pipelined) {
    unsigned char msg[3 + 7 + 255] = {5, 1, 0, 5, 1, 0};
    size_t len;
    if (name != NULL) {
        size_t n = strlen(name);
        msg[6] = 3;
        msg[7] = (unsigned char)n;
        memcpy(msg + 8, name, n);
        msg[8 + n] = (unsigned char)(port >> 8);
        msg[9 + n] = (unsigned char)port;
        len = 10 + n;
    } else {
        msg[6] = 1;
        memcpy(msg + 7, &dest->sin_addr, 4);
        memcpy(msg + 11, &dest->sin_port, 2);
        len = 13;
    }
    unsigned char reply[2 + 10];
    if (pipelined) {
        if (write(fd, msg, len) != (ssize_t)len) return -1;
        if (read_n(fd, reply, sizeof reply) != 0) return -1;
    } else {
        if (write(fd, msg, 3) != 3 || read_n(fd, reply, 2) != 0) return -1;
        if (write(fd, msg + 3, len - 3) != (ssize_t)(len - 3) || read_n(fd, reply + 2, 10) != 0)
            return -1;
    }
    return reply[1] == 0 && reply[3] == 0 ? 0 : -1;
}

/* A name resolved with getaddrinfo for every connection, as programs do. */
static int resolve(const char* host, const char* port, struct sockaddr_storage* ss,
                   socklen_t* len) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

int main(int argc, char** argv) {
    if (argc != 4 && argc != 6) {
        fprintf(stderr, "usage: connrate HOST PORT N [SOCKS_HOST SOCKS_PORT]\n");
        return 2;
    }
    struct sockaddr_storage dest, proxy;
    socklen_t dest_len = 0, proxy_len = 0;
    /* A HOST that is not numeric is a name: resolved per connection, or sent to the
     * proxy as DOMAINNAME by the SOCKS-speaking mode. */
    const char* name = parse(argv[1], argv[2], &dest, &dest_len) != 0 ? argv[1] : NULL;
    unsigned short port = (unsigned short)atoi(argv[2]);
    if (argc == 6 && parse(argv[4], argv[5], &proxy, &proxy_len) != 0) {
        fprintf(stderr, "connrate: numeric proxy address only\n");
        return 2;
    }
    long n = atol(argv[3]);
    const char* pipe_env = getenv("CONNRATE_PIPELINE");
    int pipelined = pipe_env != NULL && strcmp(pipe_env, "1") == 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; ++i) {
        if (name != NULL && argc == 4 && resolve(name, argv[2], &dest, &dest_len) != 0) {
            fprintf(stderr, "connrate: cannot resolve %s\n", name);
            return 1;
        }
        int fd = socket(argc == 6 ? proxy.ss_family : dest.ss_family, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int ok = argc == 6
                     ? connect(fd, (struct sockaddr*)&proxy, proxy_len) == 0 &&
                           socks_connect(fd, (struct sockaddr_in*)&dest, name, port, pipelined) == 0
                     : connect(fd, (struct sockaddr*)&dest, dest_len) == 0;
        unsigned char c = 'x';
        if (!ok || write(fd, &c, 1) != 1 || read_n(fd, &c, 1) != 0) {
            fprintf(stderr, "connrate: connection %ld failed\n", i);
            return 1;
        }
        close(fd);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%.0f conns/s\n", (double)n / s);
    return 0;
}
