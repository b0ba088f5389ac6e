// socksify --version: the version and what this build and this kernel support, one
// line each, the first thing to paste into a bug report. Also where the launcher takes
// the library from, which --version reports and every run uses.
#pragma once

#include <string>

namespace socksify::launcher {

// The library a run preloads: bin/../lib/libsocksify.so next to a build tree's
// launcher, else the one in the directory compiled in (SOCKSIFY_LIBDIR). Empty when
// neither is readable; `tried` is then the compiled-in path.
std::string locate_library(std::string& tried);

// The library file is a whole 64-bit ELF shared object: the dynamic loader would skip a
// damaged one with a warning (the program would run unproxied), or crash on a truncated
// one. Every run checks this before preloading; --version too before loading it.
bool complete_elf(const std::string& lib);

// Prints the --version lines on stdout.
void print_version();

}  // namespace socksify::launcher
