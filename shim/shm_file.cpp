// A new shared-state file with a name no other run uses.
#include "shim/shm_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

namespace socksify::shim {

int create_shm_file(char* path, size_t cap, size_t size) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof r)) {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = static_cast<uint64_t>(ts.tv_nsec) * 0x9E3779B97F4A7C15ull ^
            static_cast<uint64_t>(ts.tv_sec);
    }
    for (int attempt = 0; attempt < 8; ++attempt, r = r * 6364136223846793005ull + 1) {
        snprintf(path, cap, "/dev/shm/socksify-%d-%016llx", static_cast<int>(getpid()),
                 static_cast<unsigned long long>(r));
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno == EEXIST) continue;
        if (fd < 0) return -1;
        // A new file reads as zeros up to its size; tmpfs allocates pages on touch.
        if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
            int err = errno;
            close(fd);
            unlink(path);
            errno = err;
            return -1;
        }
        return fd;
    }
    errno = EEXIST;
    return -1;
}

}  // namespace socksify::shim
