/* Bulk TCP sink, the libc twin of connrate.go -download (scripts/bench-strict.sh):
 * bulkread ADDR PORT MIB connects plainly to build/bench/bulksrv (run it under
 * socksify), reads to end of stream in 1 MiB reads and prints "<MiB/s> MiB/s", timed
 * from the established connection to the end, so start-up and the SOCKS exchange are
 * not in the figure. Fails unless exactly MIB MiB arrived: a cut-short stream must not
 * read as a fast one. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: bulkread ADDR PORT MIB\n");
        return 2;
    }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
        fprintf(stderr, "bulkread: IPv4 address only\n");
        return 2;
    }
    long long want = atoll(argv[3]) << 20, got = 0;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr*)&a, sizeof a) != 0) {
        perror("bulkread: connect");
        return 1;
    }
    static char buf[1 << 20];
    double start = now();
    ssize_t n;
    while (got <= want && (n = read(s, buf, sizeof buf)) > 0) got += n;
    double secs = now() - start;
    if (got != want) {
        fprintf(stderr, "bulkread: %lld bytes arrived, %lld expected\n", got, want);
        return 1;
    }
    printf("%.3f MiB/s\n", (double)(want >> 20) / secs);
    return 0;
}
