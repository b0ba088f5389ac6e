/* UDP echo round trips per second: udprate HOST PORT N [SOCKS_HOST SOCKS_PORT].
 * With a SOCKS server the program speaks SOCKS5 UDP itself (UDP ASSOCIATE on a TCP
 * control connection, RFC 1928 §7 header added and stripped by hand): the limit a
 * socksifier can reach. Without, it sends plain datagrams (run it under socksify).
 * One datagram in flight; prints "<round trips/s> rt/s". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int read_n(int fd, unsigned char* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

/* UDP ASSOCIATE with all-zero DST; fills relay (IPv4 BND; zeros → the proxy host). */
static int associate(const struct sockaddr_in* proxy, struct sockaddr_in* relay) {
    int ctl = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(ctl, (const struct sockaddr*)proxy, sizeof *proxy) != 0) return -1;
    unsigned char req[3 + 10] = {5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0};
    unsigned char rep[2 + 10];
    if (write(ctl, req, 3) != 3 || read_n(ctl, rep, 2) != 0) return -1;
    if (write(ctl, req + 3, 10) != 10 || read_n(ctl, rep + 2, 10) != 0) return -1;
    if (rep[3] != 0 || rep[5] != 1) return -1; /* REP ok, ATYP IPv4 */
    memset(relay, 0, sizeof *relay);
    relay->sin_family = AF_INET;
    memcpy(&relay->sin_addr, rep + 6, 4);
    memcpy(&relay->sin_port, rep + 10, 2);
    if (relay->sin_addr.s_addr == 0) relay->sin_addr = proxy->sin_addr;
    return ctl; /* kept open: closing it ends the association */
}

int main(int argc, char** argv) {
    if (argc != 4 && argc != 6) {
        fprintf(stderr, "usage: udprate HOST PORT N [SOCKS_HOST SOCKS_PORT]\n");
        return 2;
    }
    struct sockaddr_in dest = {0}, proxy = {0}, relay = {0};
    dest.sin_family = AF_INET;
    dest.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &dest.sin_addr) != 1) return 2;
    int socks = argc == 6;
    if (socks) {
        proxy.sin_family = AF_INET;
        proxy.sin_port = htons((unsigned short)atoi(argv[5]));
        if (inet_pton(AF_INET, argv[4], &proxy.sin_addr) != 1) return 2;
    }
    long n = atol(argv[3]);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in any = {0};
    any.sin_family = AF_INET;
    bind(fd, (struct sockaddr*)&any, sizeof any);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (socks && associate(&proxy, &relay) < 0) {
        fprintf(stderr, "udprate: UDP ASSOCIATE failed\n");
        return 1;
    }
    unsigned char out[10 + 32] = {0, 0, 0, 1};
    memcpy(out + 4, &dest.sin_addr, 4);
    memcpy(out + 8, &dest.sin_port, 2);
    memset(out + 10, 'x', 32);
    unsigned char in[512];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; ++i) {
        ssize_t r;
        if (socks) {
            sendto(fd, out, sizeof out, 0, (struct sockaddr*)&relay, sizeof relay);
            r = recv(fd, in, sizeof in, 0) - 10;
        } else {
            sendto(fd, out + 10, 32, 0, (struct sockaddr*)&dest, sizeof dest);
            r = recv(fd, in, sizeof in, 0);
        }
        if (r != 32) {
            fprintf(stderr, "udprate: round trip %ld failed\n", i);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%.0f rt/s\n", (double)n / s);
    return 0;
}
