# envmatrix - build, test, benchmark
#
#   make              build build/libenvmatrix.a and build/envmatrix
#   make run          build, then run the main job on the bundled demo matrix
#   make check        install (as root) or name what the tests use, build and
#                     run every test; ends with "N passed, N failed, N skipped"
#   make check SANITIZE=1   the same under AddressSanitizer + UBSan (build/asan)
#   make fuzz         build the libFuzzer targets and run each FUZZ_SECONDS
#   make bench        benchmarks of the hot paths, as ratios to a baseline
#   make install      the binary, man page, libenvmatrix.a, the public headers
#                     and envmatrix.pc under DESTDIR, PREFIX=/usr/local
#   O=DIR             put the build in DIR (default build, or build/asan)
#
# Missing Debian packages are installed by mk/deps.sh (the build) and
# mk/test-deps.sh (make check) when run as root, or the apt-get command to
# run is printed.

.DEFAULT_GOAL := all
.SUFFIXES:
# keep objects built on the way to fuzzers and tests
.SECONDARY:

SANITIZE ?= 0
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
FUZZ_SECONDS ?= 30

CC ?= cc
ifeq ($(origin CC),default)
CC := cc
endif

# O= picks the output folder (several builds can live side by side)
OPT := -O2
SAN :=
ifeq ($(SANITIZE),1)
O ?= build/asan
OPT := -O1
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
O ?= build
endif
BUILD := $(O)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla -Wpointer-arith \
	-Wmissing-prototypes
CPPFLAGS_ALL := -Iinclude -iquote src -D_GNU_SOURCE -DEM_SRCDIR='"$(CURDIR)"'
CFLAGS ?= -g
CFLAGS_ALL := -std=c11 $(OPT) $(WARN) $(SAN) $(CFLAGS)
LDFLAGS_ALL := $(SAN) -pthread $(LDFLAGS)

# every goal but these needs the dependencies checked first
NODEPS_GOALS := clean help
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
-include build/config.mk
# gpu.c loads NVML at run time (dlopen is in libc from glibc 2.34, libdl before)
PKG_LIBS += -ldl
endif

build/config.mk: mk/deps.sh
	@mkdir -p build
	@sh mk/deps.sh $(filter check,$(MAKECMDGOALS)) > $@.tmp && mv $@.tmp $@

LIB_SRC := $(sort $(wildcard src/*.c src/util/*.c src/os/*.c src/spec/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
# the unit tests install the library's settings as the CLI does (src/cli/env.c)
TEST_UTIL_SRC := tests/unit/testutil.c tests/tools/spec.c tests/tools/cu130.c src/cli/env.c
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

# the standards/parsing layer as an archive of its own: src/spec and the
# pure src/util files (UTIL_IMPURE still calls the OS); mk/check-layers.sh
# checks that no member calls the OS, libcurl, libgit2 or libarchive
UTIL_IMPURE :=
SPEC_SRC := $(sort $(wildcard src/spec/*.c) $(filter-out $(UTIL_IMPURE),$(wildcard src/util/*.c)))

LIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
SPEC_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(SPEC_SRC))
CLI_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRC))
TEST_UTIL_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(TEST_UTIL_SRC))
TEST_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))

LIB := $(BUILD)/libenvmatrix.a
SPEC_LIB := $(BUILD)/libemspec.a
BIN := $(BUILD)/envmatrix

.PHONY: all run demo-index check check-tests tests fuzz fuzz-build bench install clean help

all: $(BIN) $(SPEC_LIB)

# the PEP 517 driver, embedded into build.c as a C string
GEN := $(patsubst %/asan,%,$(BUILD))/gen
$(GEN)/pep517_driver.inc: src/data/pep517_driver.py
	@mkdir -p $(@D)
	awk '{ gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); print "\"" $$0 "\\n\"" }' $< > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/src/build.o $(patsubst %/asan,%,$(BUILD))/fuzz/obj/src/build.o: $(GEN)/pep517_driver.inc
CPPFLAGS_ALL += -I$(GEN)

$(BUILD)/obj/%.o: %.c build/config.mk
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(PKG_CFLAGS) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/obj/tests/%.o: tests/%.c build/config.mk
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Itests/unit -Itests/tools $(PKG_CFLAGS) $(CMOCKA_CFLAGS) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

# libenvmatrix.a holds every layer (engine, os, spec, util): a program
# links this one library
$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(SPEC_LIB): $(SPEC_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJ) $(LIB) $(PKG_LIBS)

# test_api is a front end: it sees the installed headers only (no -iquote src)
$(BUILD)/obj/tests/unit/test_api.o: tests/unit/test_api.c build/config.mk
	@mkdir -p $(@D)
	$(CC) -Iinclude -D_GNU_SOURCE -DEM_SRCDIR='"$(CURDIR)"' $(CMOCKA_CFLAGS) $(CFLAGS_ALL) \
		-MMD -MP -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_UTIL_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(TEST_UTIL_OBJ) $(LIB) $(PKG_LIBS) $(CMOCKA_LIBS)

tests: $(BIN) $(SPEC_LIB) $(TEST_BIN)

# ---- test tools: tests/tools/NAME.c -> $(BUILD)/tools/NAME (mkindex builds
# package indexes); spec.c (their shared parser) and cu130.c (the real cu130
# environment as an index) are libraries, also linked into the unit tests;
# fakenvml.c is a stand-in libnvidia-ml.so.1 for the NVML detection test
# (built without sanitizers: envmatrix dlopens it)
TOOL_LIB_SRC := tests/tools/spec.c tests/tools/cu130.c
TOOL_SRC := $(filter-out $(TOOL_LIB_SRC) tests/tools/fakenvml.c,$(sort $(wildcard tests/tools/*.c)))
TOOL_LIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOL_LIB_SRC))
TOOL_BIN := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))

$(BUILD)/tools/%: $(BUILD)/obj/tests/tools/%.o $(TOOL_LIB_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(TOOL_LIB_OBJ) $(LIB) $(PKG_LIBS)

$(BUILD)/tools/nvml/libnvidia-ml.so.1: tests/tools/fakenvml.c build/config.mk
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 $(WARN) -shared -fPIC -o $@ $<

tests: $(TOOL_BIN) $(BUILD)/tools/nvml/libnvidia-ml.so.1

# check: first what the tests use beyond the build (mk/test-deps.sh installs
# it as root, else names it), then the tests in a fresh make that sees a
# clang installed a moment ago
check:
	@sh mk/test-deps.sh
	@$(MAKE) --no-print-directory check-tests FUZZ_CC="$$(sh mk/deps.sh fuzz-cc)"

check-tests: tests fuzz-build
	@BUILD=$(BUILD) FUZZ_DIR=$(FUZZ_BUILD) FUZZ_CC='$(FUZZ_CC)' sh tests/run.sh

# The main job on the offline demo (matrices/demo.ini and its indexes in
# matrices/demo/), run in a copy under build/demo so the tree stays clean.
DEMO := build/demo
run: $(BIN)
	sh mk/demo.sh $(BIN) $(DEMO)

# Rebuild the demo's committed indexes from matrices/demo/index.spec.
demo-index: $(BUILD)/tools/mkindex
	rm -rf matrices/demo/simple matrices/demo/torch
	$(BUILD)/tools/mkindex matrices/demo/index.spec matrices/demo

# ---- fuzzing (clang with libFuzzer; skipped when absent) ----
# fuzzers always carry ASan, so SANITIZE=1 shares the plain build's
FUZZ_BUILD := $(patsubst %/asan,%,$(BUILD))/fuzz
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(LIB_SRC))
FUZZ_SPEC_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(SPEC_SRC))
FUZZ_OS_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(sort $(wildcard src/os/*.c)))
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined

$(FUZZ_BUILD)/obj/%.o: %.c build/config.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(PKG_CFLAGS) -std=c11 -Wall -Wextra $(FUZZ_FLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/libemspec.a: $(FUZZ_SPEC_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/libemos.a: $(FUZZ_OS_OBJ)
	@rm -f $@
	ar rcs $@ $^

# A fuzzer links the spec archive and only the objects it fuzzes beyond it
# (named below; the platform layer as an archive, for what those use).
$(FUZZ_BUILD)/fuzz_archive: $(FUZZ_BUILD)/obj/src/archive.o $(FUZZ_BUILD)/libemos.a
$(FUZZ_BUILD)/fuzz_gpu: $(FUZZ_BUILD)/obj/src/gpu.o $(FUZZ_BUILD)/libemos.a
$(FUZZ_BUILD)/fuzz_unpack: $(FUZZ_BUILD)/obj/src/install.o $(FUZZ_BUILD)/obj/src/unpack.o \
	$(FUZZ_BUILD)/obj/src/record.o $(FUZZ_BUILD)/obj/src/archive.o $(FUZZ_BUILD)/libemos.a

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libemspec.a build/config.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS_ALL) $(PKG_CFLAGS) -std=c11 -Wall -Wextra -g -O1 \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o $@ $< $(filter %.o,$^) $(filter %/libemos.a,$^) $(FUZZ_BUILD)/libemspec.a $(PKG_LIBS)

fuzz-build:
ifneq ($(FUZZ_CC),)
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
endif

fuzz: fuzz-build
ifeq ($(FUZZ_CC),)
	@echo "envmatrix: clang with libFuzzer not found; install clang to fuzz" >&2
	@false
else
	@for f in $(FUZZ_BIN); do \
		sh tests/fuzz/run.sh $$f $(FUZZ_SECONDS) || exit 1; \
	done
endif

# ---- benchmarks ----
$(BUILD)/bench/bench: tests/bench/bench.c tests/tools/cu130.c $(LIB) build/config.mk
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -Itests/tools $(PKG_CFLAGS) -std=c11 -O2 $(WARN) -g -o $@ \
		tests/bench/bench.c tests/tools/cu130.c $(LIB) $(PKG_LIBS) -pthread

$(BUILD)/bench/history: tests/bench/history.c $(LIB) build/config.mk
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(PKG_CFLAGS) -std=c11 -O2 $(WARN) -g -o $@ \
		tests/bench/history.c $(LIB) $(PKG_LIBS) -pthread

bench: $(BUILD)/bench/bench $(BUILD)/bench/history $(BIN)
	./$(BUILD)/bench/bench tests/fixtures
	./$(BUILD)/bench/history $(BIN)
	sh tests/bench/fetch.sh $(CURDIR)/$(BIN) $(CURDIR)/$(BUILD)/bench/install-cache/wheels
	sh tests/bench/build.sh $(CURDIR)/$(BIN)

# the library a front end links (one archive of every layer), its public
# headers, and envmatrix.pc naming what it links with
PUBLIC_HEADERS := $(sort $(wildcard include/envmatrix/*.h))
VERSION := $(shell sed -n 's/^\#define EM_VERSION "\(.*\)"/\1/p' include/envmatrix/version.h)

install: $(BIN) $(LIB)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/envmatrix
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/envmatrix
	install -m 644 docs/envmatrix.1 $(DESTDIR)$(PREFIX)/share/man/man1/envmatrix.1
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libenvmatrix.a
	install -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(INCLUDEDIR)/envmatrix/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|@LIBS_PRIVATE@|$(strip $(PKG_LIBS)) -pthread|' \
		mk/envmatrix.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/envmatrix.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/envmatrix.pc

clean:
	rm -rf build

help:
	@sed -n '2,12s/^# \{0,1\}//p' Makefile

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_UTIL_OBJ:.o=.d) \
	$(patsubst $(BUILD)/tests/%,$(BUILD)/obj/tests/unit/%.d,$(TEST_BIN)) $(FUZZ_LIB_OBJ:.o=.d) \
	$(patsubst $(BUILD)/tools/%,$(BUILD)/obj/tests/tools/%.d,$(TOOL_BIN))
