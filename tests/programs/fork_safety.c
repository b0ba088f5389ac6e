/* Fork storms from a multithreaded program while another thread is inside the
 * library: every child must finish. Run with libsocksify.so preloaded.
 *
 *   fork_safety startup FIFO HOST PORT N
 *     SOCKSIFY_AUDIT names FIFO, so a thread's first lookup (the library's start-up)
 *     blocks opening it; N children are forked while it does, then FIFO is opened for
 *     reading. Each child looks HOST up and echoes a byte with HOST:PORT.
 *   fork_safety udp-held IP PORT N
 *     A thread's first datagram on a UDP socket opens its association, which the
 *     proxy never answers; N children are forked meanwhile and each sends a datagram
 *     on that socket (it may fail: the proxy stalls; it must return).
 *   fork_safety udp-storm IP PORT N
 *     Four threads keep opening UDP associations (a new socket, one datagram echoed,
 *     close); N children are forked meanwhile and each sends a datagram on every
 *     socket the threads had open.
 *
 * Prints "children=N finished=F ok=O stuck=S": ok children did their network calls
 * without error, stuck ones were still running after the bound and were killed.
 * Exit 0 when every child finished (ok or not, see the mode), 1 otherwise, 3 when the
 * race could not be set up. Every wait is bounded. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 512
#define STORM_THREADS 4
#define CHILD_BOUND_MS 20000 /* every child, counted from the last fork */

static const char* g_host;
static const char* g_port;
static struct sockaddr_in g_dest;
static atomic_int g_tid;
static atomic_int g_stop;
static atomic_int g_storm_fd[STORM_THREADS];

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000;
}

static void pause_ms(int ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* The system call thread tid is blocked in (its number), or -1. */
static long blocked_in(int tid) {
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

/* Waits (bounded) until thread tid sits in one of the two system calls. */
static int wait_blocked(long a, long b) {
    for (int i = 0; i < 1000; ++i) {
        int tid = atomic_load(&g_tid);
        if (tid != 0) {
            long s = blocked_in(tid);
            if (s == a || s == b) return 1;
        }
        pause_ms(10);
    }
    return 0;
}

/* Looks g_host up and echoes one byte with it: 0 on success. */
static int lookup_and_echo(void) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(g_host, g_port, &hints, &res) != 0) return 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c = 'k';
    int ok = connect(fd, res->ai_addr, res->ai_addrlen) == 0 && write(fd, &c, 1) == 1 &&
             read(fd, &c, 1) == 1 && c == 'k';
    close(fd);
    freeaddrinfo(res);
    return ok ? 0 : 1;
}

static void* startup_thread(void* arg) {
    (void)arg;
    atomic_store(&g_tid, (int)gettid());
    lookup_and_echo();
    return NULL;
}

static int g_held_fd = -1;

static void* udp_held_thread(void* arg) {
    (void)arg;
    atomic_store(&g_tid, (int)gettid());
    sendto(g_held_fd, "h", 1, 0, (struct sockaddr*)&g_dest, sizeof g_dest);
    return NULL;
}

static void* storm_thread(void* arg) {
    int slot = (int)(long)arg;
    for (int i = 0; i < 100000 && !atomic_load(&g_stop); ++i) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0) continue;
        atomic_store(&g_storm_fd[slot], fd);
        struct timeval tv = {2, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char c;
        if (sendto(fd, "s", 1, 0, (struct sockaddr*)&g_dest, sizeof g_dest) == 1)
            (void)recv(fd, &c, 1, 0);
        atomic_store(&g_storm_fd[slot], -1);
        close(fd);
    }
    return NULL;
}

/* Waits for every child until the bound; kills and counts the ones still running. */
static int reap(pid_t* pids, int n, int* ok) {
    int finished = 0;
    long deadline = now_ms() + CHILD_BOUND_MS;
    *ok = 0;
    while (finished < n && now_ms() < deadline) {
        for (int i = 0; i < n; ++i) {
            if (pids[i] <= 0) continue;
            int status = 0;
            if (waitpid(pids[i], &status, WNOHANG) == pids[i]) {
                ++finished;
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++*ok;
                pids[i] = 0;
            }
        }
        pause_ms(10);
    }
    for (int i = 0; i < n; ++i) {
        if (pids[i] <= 0) continue;
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
    }
    return finished;
}

int main(int argc, char** argv) {
    if (argc != 6 && argc != 5) {
        fprintf(stderr, "usage: fork_safety startup FIFO HOST PORT N | udp-held|udp-storm IP PORT N\n");
        return 2;
    }
    const char* mode = argv[1];
    int n = atoi(argv[argc - 1]);
    if (n < 1 || n > MAX_CHILDREN) return 2;
    pid_t pids[MAX_CHILDREN] = {0};
    pthread_t threads[STORM_THREADS];
    int n_threads = 0;
    int reader = -1;

    if (strcmp(mode, "startup") == 0) {
        g_host = argv[3];
        g_port = argv[4];
        pthread_create(&threads[n_threads++], NULL, startup_thread, NULL);
        if (!wait_blocked(SYS_openat, SYS_openat)) {
            printf("start-up thread never blocked in the library's start-up\n");
            return 3;
        }
        for (int i = 0; i < n; ++i) {
            pids[i] = fork();
            if (pids[i] == 0) _exit(lookup_and_echo());
        }
        /* Lets the start-ups go on: theirs and the children's. */
        reader = open(argv[2], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    } else if (strcmp(mode, "udp-held") == 0 || strcmp(mode, "udp-storm") == 0) {
        g_dest.sin_family = AF_INET;
        g_dest.sin_port = htons((uint16_t)atoi(argv[3]));
        inet_pton(AF_INET, argv[2], &g_dest.sin_addr);
        if (mode[4] == 'h') {
            g_held_fd = socket(AF_INET, SOCK_DGRAM, 0);
            pthread_create(&threads[n_threads++], NULL, udp_held_thread, NULL);
#ifdef SYS_poll
            long poll_nr = SYS_poll;
#else
            long poll_nr = SYS_ppoll;
#endif
            if (!wait_blocked(poll_nr, SYS_ppoll)) {
                printf("UDP thread never blocked in the association's handshake\n");
                return 3;
            }
        } else {
            for (int i = 0; i < STORM_THREADS; ++i) {
                atomic_store(&g_storm_fd[i], -1);
                pthread_create(&threads[n_threads++], NULL, storm_thread, (void*)(long)i);
            }
            pause_ms(100);
        }
        for (int i = 0; i < n; ++i) {
            pids[i] = fork();
            if (pids[i] == 0) {
                int bad = 0;
                if (g_held_fd >= 0) {
                    bad = sendto(g_held_fd, "c", 1, 0, (struct sockaddr*)&g_dest,
                                 sizeof g_dest) != 1;
                } else {
                    for (int t = 0; t < STORM_THREADS; ++t) {
                        int fd = atomic_load(&g_storm_fd[t]);
                        /* fork copies the fd table before the memory: a number a thread
                         * stored in between names no socket here (EBADF, the kernel's
                         * answer), or the socket it replaced, whose record then
                         * describes another socket. Neither may go direct
                         * (ENETUNREACH in the test world) or fail otherwise. */
                        if (fd >= 0 && sendto(fd, "c", 1, 0, (struct sockaddr*)&g_dest,
                                              sizeof g_dest) != 1 && errno != EBADF) {
                            dprintf(2, "child: sendto fd %d: %s\n", fd, strerror(errno));
                            bad = 1;
                        }
                    }
                }
                _exit(bad);
            }
            if (g_held_fd < 0) pause_ms(5);
        }
    } else {
        return 2;
    }
    int ok = 0;
    int finished = reap(pids, n, &ok);
    atomic_store(&g_stop, 1);
    for (int i = 0; i < n_threads; ++i) pthread_join(threads[i], NULL);
    if (reader >= 0) close(reader);
    printf("children=%d finished=%d ok=%d stuck=%d\n", n, finished, ok, n - finished);
    return finished == n ? 0 : 1;
}
