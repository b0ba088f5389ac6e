/* Peak RSS of a small program, as the program itself sees it: peakrss [HOST PORT]
 * prints "<VmHWM kB> kB" from /proc/self/status. With HOST and PORT it first makes
 * one connection (getaddrinfo, connect, 1-byte echo, close), so a socksifier's lazy
 * start and its tables count too. VmHWM covers this process image only, not a
 * launcher that ran before exec (GNU time's %M takes the larger of the two). A second
 * line, "<n> faults", counts the page faults this process took (getrusage): what
 * loading and starting a preloaded library costs is mostly page faults. */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int one_connection(const char* host, const char* port) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    int ok = fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0;
    freeaddrinfo(res);
    char c = 'x';
    ok = ok && write(fd, &c, 1) == 1 && read(fd, &c, 1) == 1;
    if (fd >= 0) close(fd);
    return ok ? 0 : -1;
}

int main(int argc, char** argv) {
    if (argc != 1 && argc != 3) {
        fprintf(stderr, "usage: peakrss [HOST PORT]\n");
        return 2;
    }
    if (argc == 3 && one_connection(argv[1], argv[2]) != 0) {
        fprintf(stderr, "peakrss: connection to %s port %s failed\n", argv[1], argv[2]);
        return 1;
    }
    FILE* f = fopen("/proc/self/status", "r");
    if (f == NULL) return 1;
    char line[256];
    long hwm = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &hwm) == 1) break;
    fclose(f);
    struct rusage ru;
    long faults = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt + ru.ru_majflt : -1;
    printf("%ld kB\n%ld faults\n", hwm, faults);
    return hwm < 0;
}
