/* addr_race ALLOWED_IP PORT N: built -static by supervisor.sh and run under
 * "--direct '' --deny 127.0.0.1". One thread flips a shared sockaddr between
 * ALLOWED_IP:PORT (proxied, allowed) and 127.0.0.1:L, a listener of this program
 * (denied), while the main thread connects with it N times. Whatever the supervisor
 * read, the connection must go there: to the proxy, or nowhere (EACCES). A
 * connection that reaches the listener went where the supervisor had not decided.
 * Prints "ok A denied D other O escaped E". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in g_addr __attribute__((aligned(8))); /* rewritten under the connect */
static struct sockaddr_in g_allowed, g_denied;
static atomic_int g_stop;

static void* flipper(void* arg) {
    (void)arg;
    /* Family, port and address are the first 8 bytes: one aligned store each. */
    uint64_t allowed, denied;
    memcpy(&allowed, &g_allowed, 8);
    memcpy(&denied, &g_denied, 8);
    uint64_t* a = (uint64_t*)&g_addr;
    /* Each value is held about as long as the other. */
    while (!atomic_load(&g_stop)) {
        __atomic_store_n(a, denied, __ATOMIC_SEQ_CST);
        for (volatile int i = 0; i < 100; ++i) {
        }
        __atomic_store_n(a, allowed, __ATOMIC_SEQ_CST);
        for (volatile int i = 0; i < 100; ++i) {
        }
    }
    return NULL;
}

int main(int argc, char** argv) {
    if (argc < 4) return 2;
    int n = atoi(argv[3]);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    memset(&g_denied, 0, sizeof g_denied);
    g_denied.sin_family = AF_INET;
    g_denied.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof g_denied;
    if (lfd < 0 || bind(lfd, (struct sockaddr*)&g_denied, len) != 0 || listen(lfd, 1024) != 0 ||
        getsockname(lfd, (struct sockaddr*)&g_denied, &len) != 0)
        return 2;
    memset(&g_allowed, 0, sizeof g_allowed);
    g_allowed.sin_family = AF_INET;
    g_allowed.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &g_allowed.sin_addr) != 1) return 2;
    g_addr = g_allowed;
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    int ok = 0, denied = 0, other = 0, escaped = 0;
    for (int i = 0; i < n; ++i) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return 2;
        if (connect(fd, (struct sockaddr*)&g_addr, sizeof g_addr) == 0) {
            ++ok;
        } else if (errno == EACCES) {
            ++denied;
        } else {
            if (other++ == 0) fprintf(stderr, "connect: %s\n", strerrorname_np(errno));
        }
        close(fd);
        int c;
        while ((c = accept(lfd, NULL, NULL)) >= 0) {
            ++escaped;
            close(c);
        }
    }
    atomic_store(&g_stop, 1);
    pthread_join(t, NULL);
    int c;
    while ((c = accept(lfd, NULL, NULL)) >= 0) {
        ++escaped;
        close(c);
    }
    printf("ok %d denied %d other %d escaped %d\n", ok, denied, other, escaped);
    return 0;
}
