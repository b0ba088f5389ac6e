/* Fake-DNS capacity and recycling probe (issue 19), run under socksify:
 *   fake_names unique N                 resolve N unique names; each answer must
 *                                        reverse-resolve to its own name
 *   fake_names hold NAME PORT CHURN GONE  connect to NAME:PORT and keep it open (a
 *                                        forked child closes its copy) while CHURN new
 *                                        names are resolved; GONE is looked up first
 *                                        and never connected to
 *   fake_names bench N                  resolve N unique names only (whole-program
 *                                        benchmark); prints the peak RSS and the shared
 *                                        memory resident in this process too
 *   fake_names many PROCS THREADS SHARED UNIQUE
 *                                        PROCS processes x THREADS threads resolve the
 *                                        same SHARED names and UNIQUE names of their own
 * Prints one "key=value" line per fact; exit 0 when the probe itself ran. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int resolve4(const char* name, struct in_addr* out) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) return rc;
    *out = ((struct sockaddr_in*)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return 0;
}

/* The name getnameinfo gives for addr (NI_NAMEREQD), or "" */
static void reverse4(struct in_addr addr, char* out, size_t cap) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr = addr;
    if (getnameinfo((struct sockaddr*)&sa, sizeof sa, out, cap, NULL, 0, NI_NAMEREQD) != 0)
        out[0] = '\0';
}

static int unique(long n) {
    long fails = 0, wrong = 0, again_bad = 0;
    int first_err = 0;
    char name[128], back[256];
    struct in_addr first[16];
    for (long i = 0; i < n; i++) {
        snprintf(name, sizeof name, "u%ld.names.example", i);
        struct in_addr a;
        int rc = resolve4(name, &a);
        if (rc != 0) {
            if (fails++ == 0) first_err = rc;
            continue;
        }
        if (i < 16) first[i] = a;
        reverse4(a, back, sizeof back);
        if (strcmp(back, name) != 0) wrong++;
    }
    /* The first names still hold their addresses: nothing was given back. */
    for (long i = 0; i < 16 && i < n; i++) {
        struct in_addr a;
        snprintf(name, sizeof name, "u%ld.names.example", i);
        if (resolve4(name, &a) != 0 || a.s_addr != first[i].s_addr) again_bad++;
    }
    printf("resolved=%ld fails=%ld wrong=%ld first_changed=%ld first_error=%s\n", n - fails, fails,
           wrong, again_bad, first_err ? gai_strerror(first_err) : "none");
    return 0;
}

/* A "Key:   N kB" line of /proc/self/status, -1 if absent. */
static long status_kb(const char* key) {
    FILE* f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(key);
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') kb = atol(line + n + 1);
    }
    if (f != NULL) fclose(f);
    return kb;
}

static int bench(long n) {
    long fails = 0;
    char name[128];
    for (long i = 0; i < n; i++) {
        snprintf(name, sizeof name, "b%ld.bench.example", i);
        struct in_addr a;
        if (resolve4(name, &a) != 0) fails++;
    }
    /* Peak resident memory, and how much of it is shared memory: the run's table (this
     * process made every entry, so it touched every page the table uses). */
    printf("resolved=%ld fails=%ld vmhwm_kb=%ld rss_shmem_kb=%ld\n", n - fails, fails,
           status_kb("VmHWM"), status_kb("RssShmem"));
    return 0;
}

/* GET /hello.txt on fd; the body's first line into out. */
static void http_get(int fd, const char* host, char* out, size_t cap) {
    char req[256];
    int n = snprintf(req, sizeof req, "GET /hello.txt HTTP/1.0\r\nHost: %s\r\n\r\n", host);
    out[0] = '\0';
    if (write(fd, req, (size_t)n) != n) return;
    char buf[4096];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof buf - 1 && (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)r;
    buf[got] = '\0';
    char* body = strstr(buf, "\r\n\r\n");
    if (body == NULL) return;
    body += 4;
    size_t len = strcspn(body, "\r\n");
    if (len >= cap) len = cap - 1;
    memcpy(out, body, len);
    out[len] = '\0';
}

static int connect4(struct in_addr a, int port) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr = a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr*)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int hold(const char* host, int port, long churn, const char* gone) {
    struct in_addr held, gone_addr, a;
    char back[256], body[256], addr_text[INET_ADDRSTRLEN];
    if (resolve4(host, &held) != 0 || resolve4(gone, &gone_addr) != 0) {
        printf("setup=failed\n");
        return 0;
    }
    int fd = connect4(held, port);
    if (fd < 0) {
        printf("setup=connect-failed\n");
        return 0;
    }
    /* A forked child closes its copy of the connection: the parent's stays open and
     * must keep its name (each process holds its own use of the address). */
    pid_t child = fork();
    if (child == 0) {
        close(fd);
        _exit(0);
    }
    if (child > 0) waitpid(child, NULL, 0);
    long fails = 0, collided = 0, wrong = 0, gone_reused = 0;
    char name[128];
    for (long i = 0; i < churn; i++) {
        snprintf(name, sizeof name, "c%ld.churn.example", i);
        if (resolve4(name, &a) != 0) {
            fails++;
            continue;
        }
        if (a.s_addr == held.s_addr) collided++;
        if (a.s_addr == gone_addr.s_addr) gone_reused++;
        reverse4(a, back, sizeof back);
        if (strcmp(back, name) != 0) wrong++;
    }
    printf("churned=%ld fails=%ld held_given_to_other=%ld wrong=%ld gone_reused=%ld\n",
           churn - fails, fails, collided, wrong, gone_reused);
    /* The open connection still reaches its name; its address still names it. */
    http_get(fd, host, body, sizeof body);
    printf("held_body=%s\n", body);
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    if (getpeername(fd, (struct sockaddr*)&peer, &plen) == 0) {
        reverse4(peer.sin_addr, back, sizeof back);
        printf("held_peer_name=%s held_peer_same=%d\n", back, peer.sin_addr.s_addr == held.s_addr);
    }
    /* A second connection to the held address while the first is open: the proxy
     * gets the held name. */
    int fd3 = connect4(held, port);
    body[0] = '\0';
    if (fd3 >= 0) {
        http_get(fd3, host, body, sizeof body);
        close(fd3);
    }
    printf("second_body=%s\n", body);
    close(fd);
    reverse4(held, back, sizeof back);
    printf("held_name_after=%s\n", back);
    /* The given-back name, asked again, gets an address that works. */
    if (resolve4(gone, &a) == 0) {
        inet_ntop(AF_INET, &a, addr_text, sizeof addr_text);
        reverse4(a, back, sizeof back);
        int fd2 = connect4(a, port);
        body[0] = '\0';
        if (fd2 >= 0) {
            http_get(fd2, gone, body, sizeof body);
            close(fd2);
        }
        printf("gone_again_name=%s gone_again_body=%s gone_again_moved=%d\n", back, body,
               a.s_addr != gone_addr.s_addr);
    } else {
        printf("gone_again=failed\n");
    }
    return 0;
}

/* --- many processes x threads ---------------------------------------------------- */

static long g_shared, g_unique;
static int g_proc;
static uint32_t* g_answers; /* [proc][thread][shared] */
static int g_threads;
static long* g_bad; /* [proc]: unique-name failures or wrong reverses */

struct Job {
    int thread;
};

static void* worker(void* arg) {
    int t = ((struct Job*)arg)->thread;
    char name[128], back[256];
    uint32_t* mine = g_answers + ((size_t)g_proc * g_threads + t) * g_shared;
    for (long k = 0; k < g_shared; k++) {
        long i = (k + t * 97 + g_proc * 31) % g_shared; /* each in its own order */
        snprintf(name, sizeof name, "s%ld.shared.example", i);
        struct in_addr a;
        if (resolve4(name, &a) == 0) mine[i] = a.s_addr;
    }
    long bad = 0;
    for (long k = 0; k < g_unique; k++) {
        snprintf(name, sizeof name, "p%d-t%d-%ld.own.example", g_proc, t, k);
        struct in_addr a;
        if (resolve4(name, &a) != 0) {
            bad++;
            continue;
        }
        reverse4(a, back, sizeof back);
        if (strcmp(back, name) != 0) bad++;
    }
    __atomic_add_fetch(&g_bad[g_proc], bad, __ATOMIC_RELAXED);
    return NULL;
}

static int many(int procs, int threads, long shared, long uniq) {
    g_shared = shared;
    g_unique = uniq;
    g_threads = threads;
    size_t n = (size_t)procs * threads * shared;
    g_answers = mmap(NULL, n * 4 + procs * sizeof(long), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_answers == MAP_FAILED) return 1;
    g_bad = (long*)(g_answers + n);
    pid_t pids[64];
    for (int p = 0; p < procs && p < 64; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            g_proc = p;
            pthread_t th[64];
            struct Job jobs[64];
            for (int t = 0; t < threads && t < 64; t++) {
                jobs[t].thread = t;
                pthread_create(&th[t], NULL, worker, &jobs[t]);
            }
            for (int t = 0; t < threads && t < 64; t++) pthread_join(th[t], NULL);
            _exit(0);
        }
    }
    int crashed = 0;
    for (int p = 0; p < procs && p < 64; p++) {
        int st = 0;
        if (waitpid(pids[p], &st, 0) != pids[p] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            crashed++;
    }
    long missing = 0, inconsistent = 0, bad = 0, wrong_shared = 0;
    char name[128], back[256];
    for (long i = 0; i < shared; i++) {
        uint32_t first = g_answers[i];
        for (size_t k = 0; k < (size_t)procs * threads; k++) {
            uint32_t v = g_answers[k * shared + i];
            if (v == 0)
                missing++;
            else if (v != first)
                inconsistent++;
        }
        struct in_addr a = {first};
        snprintf(name, sizeof name, "s%ld.shared.example", i);
        reverse4(a, back, sizeof back);
        if (strcmp(back, name) != 0) wrong_shared++;
    }
    for (int p = 0; p < procs; p++) bad += g_bad[p];
    printf("crashed=%d missing=%ld inconsistent=%ld wrong_shared=%ld unique_bad=%ld\n", crashed,
           missing, inconsistent, wrong_shared, bad);
    return 0;
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "unique") == 0) return unique(atol(argv[2]));
    if (argc == 3 && strcmp(argv[1], "bench") == 0) return bench(atol(argv[2]));
    if (argc == 6 && strcmp(argv[1], "hold") == 0)
        return hold(argv[2], atoi(argv[3]), atol(argv[4]), argv[5]);
    if (argc == 6 && strcmp(argv[1], "many") == 0)
        return many(atoi(argv[2]), atoi(argv[3]), atol(argv[4]), atol(argv[5]));
    fprintf(stderr, "usage: fake_names unique N | bench N | hold NAME PORT CHURN GONE | many P T S U\n");
    return 2;
}
