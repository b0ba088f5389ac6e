# socksify — one flat Makefile. Override anything on the command line or in config.mak.
CXX ?= g++
CLANGXX ?= clang++
CXXFLAGS ?= -O2 -g
LDFLAGS ?=
PREFIX ?= /usr/local
DESTDIR ?=
FUZZ_SECONDS ?= 30
BENCH_REPS ?= 5
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
LIB_LDFLAGS := -shared -Wl,--version-script=shim/libsocksify.map $(LIB_DEFS) -Wl,-z,now \
	-Wl,--as-needed -static-libstdc++ -static-libgcc

PROTO_SRC := $(wildcard protocol/*.cpp)
# launcher/: the seccomp supervisor, linked into the launcher only.
SUPERVISOR_SRC := $(wildcard launcher/*.cpp)
LAUNCHER_SRC := $(wildcard shim/launcher*.cpp) $(SUPERVISOR_SRC)
HOOK_SRC := $(wildcard shim/hooks_*.cpp)
CORE_SRC := $(filter-out $(LAUNCHER_SRC) $(HOOK_SRC),$(wildcard shim/*.cpp))
# config_file.cpp is the launcher's (and the unit tests'): the library never reads files.
LIB_SRC := $(PROTO_SRC) $(filter-out shim/config_file.cpp,$(CORE_SRC)) $(HOOK_SRC)
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
TEST_HELPERS := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,\
	$(filter-out tests/integration/early_ctor.c,$(wildcard tests/integration/*.c))) \
	$(BUILD)/tests/libearly_ctor.so \
	$(patsubst tests/integration/%.cpp,$(BUILD)/tests/%,$(wildcard tests/integration/*.cpp))

GTEST_FLAGS := $(shell pkg-config --cflags --libs gtest_main gmock 2>/dev/null || echo -lgtest_main -lgtest -lgmock -pthread)
BENCH_LIBS := $(shell pkg-config --libs benchmark 2>/dev/null || echo -lbenchmark) -lbenchmark_main -pthread

.PHONY: all test unit bench fuzz asan tsan install uninstall clean demo format-check deps deb
.DELETE_ON_ERROR:

all: $(LIB) $(LAUNCHER)

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(BASE_FLAGS) $(SHIM_FLAGS) -c $< -o $@

$(LIB): $(call obj,$(BUILD),$(LIB_SRC)) shim/libsocksify.map
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
# The launcher shares the library's pure parsers (config, policy, config files, audit
# records) and nothing that hooks.
LAUNCHER_SHARED := shim/config.cpp shim/shm_file.cpp shim/policy.cpp shim/config_file.cpp \
	shim/audit_format.cpp shim/audit_file.cpp shim/program_check.cpp shim/host_text.cpp \
	shim/io.cpp shim/real.cpp shim/handshake.cpp shim/pipeline_probe.cpp
# The supervisor runs the library's TCP path (handshake, policy, audit, fake DNS) on
# the program's sockets: the library's pure and blocking parts, none of its hooks.
LAUNCHER_SHARED += shim/tcp_connect.cpp shim/handshake.cpp shim/io.cpp shim/real.cpp \
	shim/audit.cpp shim/log.cpp shim/names.cpp shim/fake_dns.cpp shim/shared_state.cpp \
	shim/socket_ops.cpp shim/socks_address.cpp shim/route.cpp shim/fd_table.cpp shim/init.cpp \
	shim/hosts_file.cpp shim/udp_assoc.cpp shim/resolver.cpp shim/dns_tcp.cpp \
	shim/dns_intercept.cpp shim/exec_guard.cpp shim/address_form.cpp shim/chain.cpp \
	shim/upstream.cpp shim/upstream_socks4.cpp shim/upstream_http.cpp shim/pending.cpp
$(LAUNCHER): $(call obj,$(BUILD)/launcher,$(LAUNCHER_SRC) $(LAUNCHER_SHARED) $(PROTO_SRC)) | $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -static-libstdc++ -static-libgcc -o $@ $(filter %.o,$^)

$(UNIT): $(call obj,$(BUILD),$(UNIT_SRC) $(PROTO_SRC) $(CORE_SRC) $(SUPERVISOR_SRC))
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^ $(GTEST_FLAGS) -pthread

$(BUILD)/obj/tests/%.o: tests/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(BASE_FLAGS) -fPIC -c $< -o $@

# The pure parsers of shim/ the fuzz targets reach besides the codec.
FUZZ_SHIM_SRC := shim/config.cpp shim/policy.cpp shim/config_file.cpp shim/audit_format.cpp
FUZZ_SHIM_SRC += shim/host_text.cpp
$(BUILD)/tests/replay_%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay_main.o \
		$(call obj,$(BUILD),$(PROTO_SRC) $(FUZZ_SHIM_SRC))
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^

$(BENCH): $(call obj,$(BUILD),$(BENCH_SRC) $(PROTO_SRC) $(CORE_SRC))
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) -o $@ $^ $(BENCH_LIBS)

$(BUILD)/bench/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $<

# C++ test servers (the hostile proxy) use the codec's server side.
$(BUILD)/tests/%: tests/integration/%.cpp $(call obj,$(BUILD),$(PROTO_SRC))
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(BASE_FLAGS) -o $@ $< $(call obj,$(BUILD),$(PROTO_SRC)) -pthread

$(BUILD)/tests/libearly_ctor.so: tests/integration/early_ctor.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -shared -fPIC -o $@ $<

$(BUILD)/tests/%: tests/integration/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $< -pthread

unit: $(UNIT)
	$(UNIT)

# Installs what is missing first, so a clean clone on a fresh Debian machine passes.
test:
	scripts/install-deps.sh
	$(MAKE) all $(UNIT) $(REPLAY) $(TEST_HELPERS)
	scripts/run-tests.sh

bench: all $(BENCH) $(BUILD)/bench/connrate $(BUILD)/bench/udprate
	$(BENCH) --benchmark_repetitions=$(BENCH_REPS) --benchmark_report_aggregates_only=true

# libFuzzer needs clang++; every target runs for FUZZ_SECONDS.
fuzz: $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_NAMES))
	@for t in $(FUZZ_NAMES); do \
	  mkdir -p $(BUILD)/fuzz/work/$$t; \
	  $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) $(BUILD)/fuzz/work/$$t tests/fuzz/corpus/$$t \
	    || exit 1; \
	done

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.cpp $(PROTO_SRC) $(FUZZ_SHIM_SRC) \
		$(wildcard protocol/*.hpp shim/*.hpp tests/fuzz/*.hpp)
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
	clang-format --dry-run --Werror protocol/*.[ch]pp shim/*.[ch]pp launcher/*.[ch]pp tests/unit/*.cpp

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
