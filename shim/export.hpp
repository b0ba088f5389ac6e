// The one attribute that exports a hook: under -fvisibility=hidden the version
// script alone does not export a symbol (STYLE.md habit 5).
#pragma once

#define SOCKSIFY_EXPORT extern "C" __attribute__((visibility("default")))
