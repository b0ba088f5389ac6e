// Readiness calls that return at once: placed after libsocksify.so in a local scope
// (build/bench/libhooks_over_floor.so), they are what the library's hooks find as
// "the real function", so wait_cost measures the hooks' own work without a system
// call's noise around it.
#include <poll.h>
#include <sys/epoll.h>

// No real call answers this, so the benchmark can tell that a hook reached the floor.
enum { kFloorAnswer = 4242 };

int poll(struct pollfd* fds, nfds_t n, int timeout) {
    (void)fds;
    (void)n;
    (void)timeout;
    return kFloorAnswer;
}

int epoll_wait(int ep, struct epoll_event* events, int max, int timeout) {
    (void)ep;
    (void)events;
    (void)max;
    (void)timeout;
    return kFloorAnswer;
}

// The same functions under names only the benchmark asks for: its "floor" variant.
int floor_poll(struct pollfd* fds, nfds_t n, int timeout) __attribute__((alias("poll")));
int floor_epoll_wait(int ep, struct epoll_event* events, int max, int timeout)
    __attribute__((alias("epoll_wait")));
