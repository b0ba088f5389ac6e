/* static_connect IP PORT [REQUEST]: a plain libc TCP client, built with -static by
 * supervisor.sh (make builds it dynamic too, unused): connects, writes REQUEST (a
 * "\n"-terminated line, "GET / ..." for HTTP), prints what comes back until EOF.
 * Exit 1 with the errno's name on a failed connect. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    int family;
    struct sockaddr_in* in = (struct sockaddr_in*)&ss;
    struct sockaddr_in6* in6 = (struct sockaddr_in6*)&ss;
    if (inet_pton(AF_INET, argv[1], &in->sin_addr) == 1) {
        family = in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)atoi(argv[2]));
        len = sizeof *in;
    } else if (inet_pton(AF_INET6, argv[1], &in6->sin6_addr) == 1) {
        family = in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)atoi(argv[2]));
        len = sizeof *in6;
    } else {
        return 2;
    }
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr*)&ss, len) != 0) {
        printf("connect: %s\n", strerrorname_np(errno));
        return 1;
    }
    if (argc > 3) {
        char req[512];
        snprintf(req, sizeof req, "%s\r\n\r\n", argv[3]);
        if (write(fd, req, strlen(req)) < 0) return 1;
    }
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
    return 0;
}
