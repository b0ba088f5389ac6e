// Creating the shared-state file: used by the launcher and by a library preloaded
// without it. Plain libc calls only (the launcher links this file too).
#pragma once

#include <cstddef>

namespace socksify::shim {

// Creates /dev/shm/socksify-<pid>-<random> (O_EXCL, mode 0600) of size bytes, all
// zero; path receives its name. Returns an fd (O_CLOEXEC) or -1 with errno set.
int create_shm_file(char* path, size_t cap, size_t size);

}  // namespace socksify::shim
