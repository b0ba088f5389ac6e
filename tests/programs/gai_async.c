// getaddrinfo_a(GAI_NOWAIT) with a SIGEV_THREAD notification, then gai_suspend,
// gai_error and gai_cancel, as an asynchronous resolver user calls them. Prints one
// line: the return codes, whether the notification ran, and the first IPv4 address.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile int notified = 0;

static void on_done(union sigval v) { notified = v.sival_int; }

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s NAME\n", argv[0]);
        return 2;
    }
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct gaicb req = {.ar_name = argv[1], .ar_request = &hints};
    struct gaicb* list[1] = {&req};
    struct sigevent sev = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_done};
    sev.sigev_value.sival_int = 7;
    int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev);
    const struct gaicb* wait_list[1] = {&req};
    struct timespec limit = {5, 0};
    int suspended = gai_suspend(wait_list, 1, &limit);
    int err = gai_error(&req);
    for (int i = 0; i < 500 && !notified; i++) usleep(10000);  // at most 5 s
    char addr[INET_ADDRSTRLEN] = "-";
    if (err == 0 && req.ar_result != NULL)
        inet_ntop(AF_INET, &((struct sockaddr_in*)req.ar_result->ai_addr)->sin_addr, addr,
                  sizeof addr);
    printf("rc=%d suspend=%d error=%d notified=%d addr=%s\n", rc, suspended, err, notified, addr);
    return 0;
}
