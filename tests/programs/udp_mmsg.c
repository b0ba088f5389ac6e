/* UDP echo client using sendmmsg/recvmmsg: udp_mmsg HOST PORT COUNT.
 * Sends COUNT datagrams "msg-<i>" in one sendmmsg, receives the echoes with
 * recvmmsg (MSG_WAITFORONE, bounded by a 3 s receive timeout) and prints each
 * payload with its source, one per line. Exit 0 when every datagram came back. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX 16

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: udp_mmsg HOST PORT COUNT\n");
        return 2;
    }
    int count = atoi(argv[3]);
    if (count < 1 || count > MAX) return 2;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0) {
        fprintf(stderr, "udp_mmsg: cannot resolve %s\n", argv[1]);
        return 1;
    }
    int fd = socket(res->ai_family, SOCK_DGRAM, 0);
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char out[MAX][32];
    struct iovec siov[MAX];
    struct mmsghdr smsg[MAX];
    memset(smsg, 0, sizeof smsg);
    for (int i = 0; i < count; ++i) {
        snprintf(out[i], sizeof out[i], "msg-%d", i);
        siov[i].iov_base = out[i];
        siov[i].iov_len = strlen(out[i]);
        smsg[i].msg_hdr.msg_name = res->ai_addr;
        smsg[i].msg_hdr.msg_namelen = res->ai_addrlen;
        smsg[i].msg_hdr.msg_iov = &siov[i];
        smsg[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = sendmmsg(fd, smsg, (unsigned)count, 0);
    if (sent != count) {
        perror("sendmmsg");
        return 1;
    }
    int got = 0;
    for (int round = 0; round < count && got < count; ++round) {
        char in[MAX][64];
        struct iovec riov[MAX];
        struct mmsghdr rmsg[MAX];
        struct sockaddr_storage from[MAX];
        memset(rmsg, 0, sizeof rmsg);
        for (int i = 0; i < MAX; ++i) {
            riov[i].iov_base = in[i];
            riov[i].iov_len = sizeof in[i] - 1;
            rmsg[i].msg_hdr.msg_name = &from[i];
            rmsg[i].msg_hdr.msg_namelen = sizeof from[i];
            rmsg[i].msg_hdr.msg_iov = &riov[i];
            rmsg[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, rmsg, (unsigned)(count - got), MSG_WAITFORONE, NULL);
        if (n <= 0) {
            perror("recvmmsg");
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            char host[NI_MAXHOST];
            getnameinfo((struct sockaddr*)&from[i], rmsg[i].msg_hdr.msg_namelen, host,
                        sizeof host, NULL, 0, NI_NUMERICHOST);
            in[i][rmsg[i].msg_len] = '\0';
            printf("%s from %s\n", in[i], host);
        }
        got += n;
    }
    freeaddrinfo(res);
    close(fd);
    return got == count ? 0 : 1;
}
