/* The cost of one getpeername, for bench-supervisor.sh: peercost IP PORT N connects a
 * TCP socket to IP:PORT (run it under socksify: through the proxy) and one to a
 * listener of its own on loopback (direct), then times N calls on each. Prints, in
 * ns per call:
 *   getpeername-proxied NS   on the proxied socket (under the supervisor: answered by it)
 *   getpeername-direct NS    on the loopback one (under the supervisor: trapped, continued)
 *   getsockname NS           on the proxied socket: the same kernel work, never trapped
 * Exit 1 when a connect or call fails. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef int (*name_call)(int, struct sockaddr*, socklen_t*);

static int timed(const char* what, name_call call, int fd, long n) {
    struct sockaddr_storage ss;
    double t0 = now_ns();
    for (long i = 0; i < n; ++i) {
        socklen_t len = sizeof ss;
        if (call(fd, (struct sockaddr*)&ss, &len) != 0) {
            perror(what);
            return 1;
        }
    }
    printf("%s %.0f\n", what, (now_ns() - t0) / (double)n);
    return 0;
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: peercost IP PORT N\n");
        return 2;
    }
    long n = atol(argv[3]);
    struct sockaddr_in dest = {.sin_family = AF_INET,
                               .sin_port = htons((unsigned short)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &dest.sin_addr) != 1 || n <= 0) return 2;
    int proxied = socket(AF_INET, SOCK_STREAM, 0);
    if (proxied < 0 || connect(proxied, (struct sockaddr*)&dest, sizeof dest) != 0) {
        perror("connect");
        return 1;
    }
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t lo_len = sizeof lo;
    int server = socket(AF_INET, SOCK_STREAM, 0);
    int direct = socket(AF_INET, SOCK_STREAM, 0);
    if (server < 0 || direct < 0 || bind(server, (struct sockaddr*)&lo, sizeof lo) != 0 ||
        listen(server, 1) != 0 || getsockname(server, (struct sockaddr*)&lo, &lo_len) != 0 ||
        connect(direct, (struct sockaddr*)&lo, sizeof lo) != 0) {
        perror("loopback");
        return 1;
    }
    return timed("getpeername-proxied", getpeername, proxied, n) ||
           timed("getpeername-direct", getpeername, direct, n) ||
           timed("getsockname", getsockname, proxied, n);
}
