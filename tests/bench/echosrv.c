/* TCP and UDP echo for the peer benchmark: echosrv ADDR PORT echoes every byte of a
 * TCP connection back and closes on EOF, and every UDP datagram to its source, in one
 * epoll loop with no fork or thread per connection and no log, so the destination is
 * never what bounds a rate (the test world's socat forks per connection; its Python
 * UDP echo logs every datagram). Runs until killed; scripts/bench-peers.sh stops it
 * by PID. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: echosrv ADDR PORT\n");
        return 2;
    }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
        fprintf(stderr, "echosrv: IPv4 address only\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* UDP first: a TCP listener means both are ready. */
    int us = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (bind(us, (struct sockaddr*)&a, sizeof a) != 0) {
        perror("echosrv: udp");
        return 1;
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr*)&a, sizeof a) != 0 || listen(ls, 512) != 0) {
        perror("echosrv");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event uev = {.events = EPOLLIN, .data.fd = us};
    epoll_ctl(ep, EPOLL_CTL_ADD, us, &uev);
    struct epoll_event events[64];
    char buf[16384];
    for (;;) {
        int n = epoll_wait(ep, events, 64, -1);
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            if (fd == us) {
                struct sockaddr_storage peer;
                socklen_t plen;
                ssize_t r;
                while (plen = sizeof peer,
                       (r = recvfrom(us, buf, sizeof buf, 0, (struct sockaddr*)&peer, &plen)) >= 0)
                    sendto(us, buf, (size_t)r, 0, (struct sockaddr*)&peer, plen);
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf);
            /* A full send buffer drops the rest: the benchmark echoes one byte. */
            if (r > 0 && write(fd, buf, (size_t)r) >= 0) continue;
            if (r < 0) continue; /* EAGAIN: a spurious wakeup */
            close(fd);
        }
    }
}
