// The one attribute that exports a hook: under -fvisibility=hidden the version
// script alone does not export a symbol (docs/ARCHITECTURE.md, Hooks and real functions).
#pragma once

#define SOCKSIFY_EXPORT extern "C" __attribute__((visibility("default")))
