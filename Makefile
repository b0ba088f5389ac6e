# socksify — one flat Makefile. Override anything on the command line or in config.mak.
CXX ?= g++
CLANGXX ?= clang++
CXXFLAGS ?= -O2 -g
LDFLAGS ?=
PREFIX ?= /usr/local
DESTDIR ?=
FUZZ_SECONDS ?= 30
BENCH_REPS ?= 5
# make test builds with one job per core (memory is ample; g++ is the bottleneck).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
-include config.mak

BUILD := build
VERSION := 0.1.0
# Where the library is installed, compiled into the launcher (the Debian package: the
# multiarch directory, /usr/lib/<triplet>/socksify).
LIBDIR ?= $(PREFIX)/lib/socksify
LIBDIR_INSTALLED = $(LIBDIR)
COMPLETIONDIR = $(PREFIX)/share/bash-completion/completions

# Project flags are appended so a user's CXXFLAGS cannot drop them.
WARN := -Wall -Wextra -Wpedantic
BASE_FLAGS := -std=c++20 -I. $(WARN) -MMD -MP -DSOCKSIFY_VERSION='"$(VERSION)"'
SHIM_FLAGS := -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -fno-exceptions \
	-fno-rtti -ftls-model=initial-exec
# The sanitized library of the stress test links with LIB_DEFS= and -fno-sanitize=all:
# its sanitizer symbols come from the runtimes the test preloads first, so it still
# needs libc alone.
LIB_DEFS ?= -Wl,-z,defs
LIB_LDFLAGS := -shared -Wl,--version-script=shim/hooks/libsocksify.map $(LIB_DEFS) -Wl,-z,now \
	-Wl,--as-needed -static-libstdc++ -static-libgcc

# Sources by folder, one folder per layer (docs/ARCHITECTURE.md):
#   protocol/        the codec                      -> library, launcher, tests
#   shim/settings/   settings, policy, audit format -> library, launcher, tests
#   shim/ shim/*/    the library's machinery        -> library, launcher (supervisor), tests
#   shim/hooks/      the exported hooks             -> library only
#   launcher/ */     the socksify program           -> launcher (all but main.cpp: unit tests)
tree = $(wildcard $(1)/*.cpp $(1)/*/*.cpp)
PROTO_SRC := $(call tree,protocol)
SETTINGS_SRC := $(wildcard shim/settings/*.cpp)
HOOK_SRC := $(call tree,shim/hooks)
CORE_SRC := $(filter-out $(HOOK_SRC),$(call tree,shim))
LAUNCHER_SRC := $(call tree,launcher)
LAUNCHER_PARTS := $(filter-out launcher/main.cpp,$(LAUNCHER_SRC))
LIB_SRC := $(PROTO_SRC) $(CORE_SRC) $(HOOK_SRC)
UNIT_SRC := $(wildcard tests/unit/*_test.cpp)
BENCH_SRC := $(wildcard tests/bench/*_bench.cpp)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.cpp)
FUZZ_NAMES := $(patsubst tests/fuzz/%.cpp,%,$(FUZZ_SRC))

obj = $(patsubst %.cpp,$(1)/obj/%.o,$(2))

LIB := $(BUILD)/lib/libsocksify.so
LAUNCHER := $(BUILD)/bin/socksify
UNIT := $(BUILD)/tests/unit_tests
BENCH := $(BUILD)/tests/benchmarks
REPLAY := $(patsubst %,$(BUILD)/tests/replay_%,$(FUZZ_NAMES))
TEST_HELPERS := $(patsubst tests/programs/%.c,$(BUILD)/tests/%,\
	$(filter-out tests/programs/early_ctor.c,$(wildcard tests/programs/*.c))) \
	$(BUILD)/tests/libearly_ctor.so \
	$(patsubst tests/programs/%.cpp,$(BUILD)/tests/%,$(wildcard tests/programs/*.cpp))

GTEST_FLAGS := $(shell pkg-config --cflags --libs gtest_main gmock 2>/dev/null || echo -lgtest_main -lgtest -lgmock -pthread)
BENCH_LIBS := $(shell pkg-config --libs benchmark 2>/dev/null || echo -lbenchmark) -lbenchmark_main -pthread

.PHONY: all test test-build unit bench fuzz asan tsan install uninstall clean demo format-check deps deb
.DELETE_ON_ERROR:

all: $(LIB) $(LAUNCHER)

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(BASE_FLAGS) $(SHIM_FLAGS) -c $< -o $@

$(LIB): $(call obj,$(BUILD),$(LIB_SRC)) shim/hooks/libsocksify.map
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) $(LIB_LDFLAGS) -o $@ $(call obj,$(BUILD),$(LIB_SRC))

# The installed launcher has the absolute library path compiled in; the build-tree one
# finds the library next to itself (../lib).
# The compiled-in library path follows PREFIX: rebuild when it changes.
PREFIX_STAMP := $(BUILD)/launcher/prefix-$(subst /,_,$(LIBDIR_INSTALLED)).stamp
$(PREFIX_STAMP):
	@mkdir -p $(dir $@)
	@rm -f $(BUILD)/launcher/prefix-*.stamp
	@touch $@

$(BUILD)/launcher/obj/%.o: %.cpp $(PREFIX_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(BASE_FLAGS) -DSOCKSIFY_LIBDIR='"$(LIBDIR_INSTALLED)"' -c $< -o $@

# Static libstdc++: loading the shared one costs ~0.4 ms of page faults per start.
# The launcher runs the library's machinery (the supervisor's TCP and DNS paths, the
# pipelining probe, --check) but none of its hooks.
$(LAUNCHER): $(call obj,$(BUILD)/launcher,$(LAUNCHER_SRC) $(CORE_SRC) $(PROTO_SRC)) | $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -static-libstdc++ -static-libgcc -o $@ $(filter %.o,$^)

$(UNIT): $(call obj,$(BUILD),$(UNIT_SRC) $(PROTO_SRC) $(CORE_SRC) $(LAUNCHER_PARTS))
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^ $(GTEST_FLAGS) -pthread

$(BUILD)/obj/tests/%.o: tests/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(BASE_FLAGS) -fPIC -c $< -o $@

# The fuzz targets reach the codec and the settings parsers.
$(BUILD)/tests/replay_%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay_main.o \
		$(call obj,$(BUILD),$(PROTO_SRC) $(SETTINGS_SRC))
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^

$(BENCH): $(call obj,$(BUILD),$(BENCH_SRC) $(PROTO_SRC) $(CORE_SRC))
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^ $(BENCH_LIBS)

# The hooks' own cost on readiness calls: the library over a floor that returns at once.
WAIT_COST := $(BUILD)/bench/wait_cost
$(BUILD)/bench/libwait_floor.so: tests/bench/wait_floor.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -shared -fPIC -o $@ $<

$(BUILD)/bench/libhooks_over_floor.so: $(LIB) $(BUILD)/bench/libwait_floor.so
	$(CC) -shared -fPIC -o $@ -x c /dev/null -Wl,--no-as-needed -L$(BUILD)/lib -lsocksify \
	  -L$(BUILD)/bench -lwait_floor -Wl,-rpath,'$$ORIGIN:$$ORIGIN/../lib'

$(WAIT_COST): $(BUILD)/obj/tests/bench/wait_cost.o $(BUILD)/bench/libhooks_over_floor.so
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $< $(BENCH_LIBS) -ldl

$(BUILD)/bench/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $<

# C++ test servers (the hostile proxy) use the codec's server side.
$(BUILD)/tests/%: tests/programs/%.cpp $(call obj,$(BUILD),$(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(BASE_FLAGS) -o $@ $< $(call obj,$(BUILD),$(PROTO_SRC)) -pthread

$(BUILD)/tests/libearly_ctor.so: tests/programs/early_ctor.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -shared -fPIC -o $@ $<

$(BUILD)/tests/%: tests/programs/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $< -pthread

unit: $(UNIT)
	$(UNIT)

# Installs what is missing first, so a clean clone on a fresh Debian machine passes.
test:
	scripts/install-deps.sh
	$(MAKE) -j$(JOBS) test-build
	scripts/run-tests.sh

# Everything the test scripts run, without running them.
test-build: all $(UNIT) $(REPLAY) $(TEST_HELPERS) $(BUILD)/bench/connrate $(BUILD)/bench/peakrss

bench: all $(BENCH) $(WAIT_COST) $(BUILD)/bench/connrate $(BUILD)/bench/udprate
	$(BENCH) --benchmark_repetitions=$(BENCH_REPS) --benchmark_report_aggregates_only=true
	$(WAIT_COST) --benchmark_repetitions=$(BENCH_REPS) --benchmark_report_aggregates_only=true

# libFuzzer needs clang++; every target runs for FUZZ_SECONDS.
fuzz: $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_NAMES))
	@for t in $(FUZZ_NAMES); do \
	  mkdir -p $(BUILD)/fuzz/work/$$t; \
	  $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) $(BUILD)/fuzz/work/$$t tests/fuzz/corpus/$$t \
	    || exit 1; \
	done

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.cpp $(PROTO_SRC) $(SETTINGS_SRC) \
		$(wildcard protocol/*.hpp shim/settings/*.hpp tests/fuzz/*.hpp)
	@mkdir -p $(dir $@)
	$(CLANGXX) -std=c++20 -I. -g -O1 -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all -o $@ $(filter %.cpp,$^)

ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
asan:
	$(MAKE) BUILD=$(BUILD)/asan CXXFLAGS="-O1 -g $(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" \
	  $(BUILD)/asan/tests/unit_tests
	$(BUILD)/asan/tests/unit_tests

# ThreadSanitizer over the lock-free tables (fd table, fake-DNS table, UDP records).
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
tsan:
	$(MAKE) BUILD=$(BUILD)/tsan CXXFLAGS="-O1 -g $(TSAN_FLAGS)" LDFLAGS="$(TSAN_FLAGS)" \
	  $(BUILD)/tsan/tests/unit_tests
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan/tests/unit_tests \
	  --gtest_filter='FakeDns*:FdTable*:UdpAssoc*'

demo:
	scripts/install-deps.sh
	$(MAKE) all
	scripts/demo.sh

deps:
	scripts/install-deps.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR_INSTALLED) \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(COMPLETIONDIR)
	install -m 0755 $(LIB) $(DESTDIR)$(LIBDIR_INSTALLED)/libsocksify.so
	install -m 0755 $(LAUNCHER) $(DESTDIR)$(PREFIX)/bin/socksify
	install -m 0644 docs/socksify.1 $(DESTDIR)$(PREFIX)/share/man/man1/socksify.1
	install -m 0644 scripts/socksify-completion.bash $(DESTDIR)$(COMPLETIONDIR)/socksify

uninstall:
	rm -f $(DESTDIR)$(LIBDIR_INSTALLED)/libsocksify.so $(DESTDIR)$(PREFIX)/bin/socksify \
	  $(DESTDIR)$(PREFIX)/share/man/man1/socksify.1 $(DESTDIR)$(COMPLETIONDIR)/socksify

# The Debian package (debian/), built by dpkg-buildpackage in build/debian; the .deb,
# .buildinfo and .changes land in build/deb/ rather than in the parent directory, and
# the tree is cleaned after, so a clone stays clean.
DEB_DIR = $(CURDIR)/$(BUILD)/deb
deb:
	@mkdir -p $(DEB_DIR)
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL SOCKSIFY_DEB_DIR=$(DEB_DIR) \
	  dpkg-buildpackage -us -uc -b --post-clean \
	  --buildinfo-option=-u$(DEB_DIR) --changes-option=-u$(DEB_DIR) \
	  --buildinfo-file=$(DEB_DIR)/socksify_$(VERSION)_$$(dpkg-architecture -qDEB_HOST_ARCH).buildinfo \
	  --changes-file=$(DEB_DIR)/socksify_$(VERSION)_$$(dpkg-architecture -qDEB_HOST_ARCH).changes
	@ls $(DEB_DIR)/*.deb

format-check:
	clang-format --dry-run --Werror $(wildcard $(foreach d,protocol shim shim/* launcher launcher/*,$(d)/*.[ch]pp)) tests/unit/*.cpp

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
