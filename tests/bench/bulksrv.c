/* Bulk TCP source for the peer benchmark: bulksrv ADDR PORT BYTES accepts one
 * connection at a time, writes BYTES zero bytes to it and closes it. Runs until
 * killed (scripts/bench-peers.sh stops it by PID). Written in C so the sender, not
 * the path under test, is never what bounds the throughput. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: bulksrv ADDR PORT BYTES\n");
        return 2;
    }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
        fprintf(stderr, "bulksrv: IPv4 address only\n");
        return 2;
    }
    long long total = atoll(argv[3]);
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr*)&a, sizeof a) != 0 || listen(ls, 16) != 0) {
        perror("bulksrv");
        return 1;
    }
    static char buf[1 << 18];
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0) continue;
        long long left = total;
        while (left > 0) {
            ssize_t n = write(c, buf, left < (long long)sizeof buf ? (size_t)left : sizeof buf);
            if (n <= 0) break;
            left -= n;
        }
        close(c);
    }
}
