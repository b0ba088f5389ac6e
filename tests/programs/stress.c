/* Load shapes for the shim: stress MODE HOST PORT [ARGS].
 *   threads HOST PORT T N   T threads × N sequential connect/echo/close each
 *   forks   HOST PORT K     K children, each resolving HOST by name and echoing once
 *   highfd  HOST PORT FD    the socket moved to fd number FD (limit raised) first
 *   closeall HOST PORT      closes every fd above 2 first (like ssh), then echoes
 * HOST may be a name (getaddrinfo). Prints "ok <count>" or "fail <count> <errno>"
 * lines (exit 77 and "skip <why>" when the fd limit cannot be raised); exit 0 only
 * when nothing failed. Every wait is bounded by SO_RCVTIMEO. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char* g_host;
static const char* g_port;
static int g_per_thread;

/* One connect → 1-byte echo → close; the socket optionally moved to fd `at`.
 * Returns 0 or an errno. */
static int echo_once(int at) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(g_host, g_port, &hints, &res);
    if (rc != 0) return rc == EAI_SYSTEM ? errno : EHOSTUNREACH;
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        return errno;
    }
    if (at > 0) {
        if (dup2(fd, at) < 0) {
            int e = errno;
            close(fd);
            freeaddrinfo(res);
            return e;
        }
        close(fd);
        fd = at;
    }
    /* Generous: on a loaded 2-core machine Dante can queue 64 clients for seconds. */
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int err = 0;
    char c = 'x';
    if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) err = errno;
    else if (write(fd, &c, 1) != 1) err = errno;
    else if (read(fd, &c, 1) != 1) err = errno ? errno : EPIPE;
    close(fd);
    freeaddrinfo(res);
    return err;
}

static void* worker(void* arg) {
    long failures = 0;
    int last = 0;
    for (int i = 0; i < g_per_thread; ++i) {
        int e = echo_once(0);
        if (e != 0) {
            ++failures;
            last = e;
        }
    }
    (void)arg;
    return (void*)(failures << 16 | last);
}

static int report(long ok, long failed, int last) {
    if (failed == 0) printf("ok %ld\n", ok);
    else printf("fail %ld %s\n", failed, strerror(last));
    return failed == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: stress MODE HOST PORT [ARGS]\n");
        return 2;
    }
    const char* mode = argv[1];
    g_host = argv[2];
    g_port = argv[3];
    if (strcmp(mode, "threads") == 0 && argc == 6) {
        int t = atoi(argv[4]);
        g_per_thread = atoi(argv[5]);
        if (t < 1 || t > 256) return 2;
        pthread_t th[256];
        for (int i = 0; i < t; ++i) pthread_create(&th[i], NULL, worker, NULL);
        long failed = 0;
        int last = 0;
        for (int i = 0; i < t; ++i) {
            void* r;
            pthread_join(th[i], &r);
            long v = (long)r;
            failed += v >> 16;
            if (v & 0xffff) last = (int)(v & 0xffff);
        }
        return report((long)t * g_per_thread - failed, failed, last);
    }
    if (strcmp(mode, "forks") == 0 && argc == 5) {
        int k = atoi(argv[4]);
        if (k < 1 || k > 1000) return 2;
        for (int i = 0; i < k; ++i) {
            pid_t pid = fork();
            if (pid == 0) _exit(echo_once(0) == 0 ? 0 : 1);
            if (pid < 0) return report(i, k - i, errno);
        }
        long failed = 0;
        for (int i = 0; i < k; ++i) {
            int status = 0;
            if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
        }
        return report(k - failed, failed, failed ? EIO : 0);
    }
    if (strcmp(mode, "highfd") == 0 && argc == 5) {
        int at = atoi(argv[4]);
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_max < (rlim_t)at + 1) rl.rlim_max = (rlim_t)at + 1;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            /* No CAP_SYS_RESOURCE and a lower hard limit: the case cannot run here. */
            printf("skip cannot raise RLIMIT_NOFILE to %d: %s\n", at + 1, strerror(errno));
            return 77;
        }
        int e = echo_once(at);
        return report(e == 0, e != 0, e);
    }
    if (strcmp(mode, "closeall") == 0 && argc == 4) {
        closefrom(3);
        int e = echo_once(0);
        return report(e == 0, e != 0, e);
    }
    fprintf(stderr, "stress: bad mode or arguments\n");
    return 2;
}
