/* peer_probe IP PORT: a plain libc TCP client, built with -static by supervise_peer.sh
 * (make builds it dynamic too: the --strict case). Connects to IP:PORT and prints what
 * getpeername says of the socket, one line each:
 *   connect ADDR    on the fd connect used
 *   dup ADDR        on a dup of it
 *   fork ADDR       in a forked child, on the inherited fd
 *   scm ADDR        on the fd received back over an AF_UNIX socket pair (SCM_RIGHTS)
 *   short LEN HEX   with a 4-byte buffer: the length reported, the 4 bytes as hex, and
 *                   "kept" when the bytes after the buffer were left alone
 *   zero LEN        with a 0-byte buffer
 *   unspec ADDR     after connect(AF_UNSPEC) dissolved the connection (the kernel's
 *                   ENOTCONN: what was known of the socket no longer holds)
 * ADDR is IP:PORT ([IP]:PORT for IPv6), or "errno NAME". Exit 1 on a failed connect. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

// fd sent over a socket pair and received again: a new fd of the same socket.
static int passed(int fd) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return -1;
    char byte = 'x', cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {&byte, 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf};
    struct cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (sendmsg(sv[0], &m, 0) != 1) return -1;
    memset(cbuf, 0, sizeof cbuf);
    m.msg_controllen = sizeof cbuf;
    if (recvmsg(sv[1], &m, 0) != 1 || (c = CMSG_FIRSTHDR(&m)) == NULL) return -1;
    int got;
    memcpy(&got, CMSG_DATA(c), sizeof got);
    close(sv[0]);
    close(sv[1]);
    return got;
}

static void show(const char* what, int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char text[INET6_ADDRSTRLEN];
    if (getpeername(fd, (struct sockaddr*)&ss, &len) != 0) {
        printf("%s errno %s\n", what, strerrorname_np(errno));
    } else if (ss.ss_family == AF_INET) {
        struct sockaddr_in* in = (struct sockaddr_in*)&ss;
        inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        printf("%s %s:%u len %u\n", what, text, ntohs(in->sin_port), (unsigned)len);
    } else {
        struct sockaddr_in6* in6 = (struct sockaddr_in6*)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        printf("%s [%s]:%u len %u\n", what, text, ntohs(in6->sin6_port), (unsigned)len);
    }
    fflush(stdout);
}

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    struct sockaddr_in* in = (struct sockaddr_in*)&ss;
    struct sockaddr_in6* in6 = (struct sockaddr_in6*)&ss;
    if (inet_pton(AF_INET, argv[1], &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)atoi(argv[2]));
        len = sizeof *in;
    } else if (inet_pton(AF_INET6, argv[1], &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)atoi(argv[2]));
        len = sizeof *in6;
    } else {
        return 2;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr*)&ss, len) != 0) {
        printf("connect: %s\n", strerrorname_np(errno));
        return 1;
    }
    show("connect", fd);
    int copy = dup(fd);
    show("dup", copy);
    pid_t pid = fork();
    if (pid == 0) {
        show("fork", fd);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    show("scm", passed(fd));
    unsigned char buf[16];
    memset(buf, 0xee, sizeof buf);
    socklen_t n = 4;
    if (getpeername(fd, (struct sockaddr*)buf, &n) != 0) {
        printf("short errno %s\n", strerrorname_np(errno));
    } else {
        int kept = 1;
        for (size_t i = 4; i < sizeof buf; ++i) kept &= buf[i] == 0xee;
        printf("short %u %02x%02x%02x%02x%s\n", (unsigned)n, buf[0], buf[1], buf[2], buf[3],
               kept ? " kept" : "");
    }
    n = 0;
    if (getpeername(fd, (struct sockaddr*)buf, &n) != 0)
        printf("zero errno %s\n", strerrorname_np(errno));
    else
        printf("zero %u\n", (unsigned)n);
    fflush(stdout);
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    if (connect(fd, &unspec, sizeof unspec) != 0)
        printf("unspec connect errno %s\n", strerrorname_np(errno));
    show("unspec", copy);
    return 0;
}
