// The one attribute that exports a hook: under -fvisibility=hidden the version
// script alone does not export a symbol (docs/ARCHITECTURE.md, Hooks and real functions).
#pragma once

#define SOCKSIFY_EXPORT extern "C" __attribute__((visibility("default")))

// A second exported name for a hook (glibc's public aliases such as __connect, which a
// program can reach by name through dlsym): the same function, not a copy.
#define SOCKSIFY_EXPORT_ALIAS(hook, other) \
    SOCKSIFY_EXPORT decltype(hook) other __attribute__((alias(#hook), copy(hook)));
