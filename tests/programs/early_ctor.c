/* A library whose constructor connects before anything else ran (libfaketime's
 * constructor-order test): preloaded after libsocksify.so, its constructor runs
 * before the program's main and before the shim was ever called. It resolves
 * EARLY_HOST (a name) and echoes one byte with EARLY_PORT, then prints
 * "early ok" or "early fail <errno>" on stderr. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

__attribute__((constructor)) static void early(void) {
    const char* host = getenv("EARLY_HOST");
    const char* port = getenv("EARLY_PORT");
    if (host == NULL || port == NULL) return;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        fprintf(stderr, "early fail resolve\n");
        return;
    }
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c = 'e';
    int ok = connect(fd, res->ai_addr, res->ai_addrlen) == 0 && write(fd, &c, 1) == 1 &&
             read(fd, &c, 1) == 1 && c == 'e';
    fprintf(stderr, ok ? "early ok\n" : "early fail %s\n", strerror(errno));
    close(fd);
    freeaddrinfo(res);
}
