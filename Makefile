# netfuse: one Makefile for the library, tests, fuzzers and benchmarks.
#
#   make            build everything (build/libhook.so, libraries, apps, tests)
#   make check      unit tests only: no root, no DPDK device, < 1 minute
#   make test       everything CI runs (setup, unit, ASan/UBSan, integration)
#   make demo       the main job
#   make bench-NAME one benchmark (bench-hook, bench-stack, ...)
#   make CC=clang   build with clang instead of gcc
#
# Source lists: one per module (STYLE.md, "Build"). A module's sources are
# every .c/.S file in its folder; tests are tests/<module>/test_*.c (unit,
# run by make check) and tests/<module>/itest_* (integration: need root,
# DPDK or address 0, run by make test only).

CC      ?= gcc
ifeq ($(origin CC),default)
CC      := gcc
endif
B       ?= build
OPT     ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wundef -Wmissing-prototypes \
           -Wstrict-prototypes
IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1)
# hook/ must not touch vector registers nor call libc's memcpy/memset
# behind the programmer's back (gcc: loop distribution; clang: idioms)
HOOK_CFLAGS := -mgeneral-regs-only -fno-delete-null-pointer-checks \
           -fno-stack-protector \
           $(if $(IS_CLANG),-fno-builtin,-fno-tree-loop-distribute-patterns)
CFLAGS  := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fPIC -I. $(EXTRA_CFLAGS)
ASFLAGS := -D__ASSEMBLY__ -I. -fPIC
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=all

DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS   := $(shell pkg-config --libs libdpdk 2>/dev/null)

# ---- source lists -------------------------------------------------------
HOOK_SRCS  := $(wildcard hook/*.c) $(wildcard hook/*.S)
TRACE_SRCS := $(wildcard trace/*.c)
VFS_SRCS   := $(wildcard vfs/*.c)
STACK_SRCS := $(wildcard stack/*.c)
IO_SRCS    := $(wildcard io/*.c)
LWIP_SRCS  := $(wildcard backends/lwip/*.c)

obj = $(patsubst %.c,$(B)/obj/%.o,$(patsubst %.S,$(B)/obj/%.o,$(1)))
san = $(patsubst %.c,$(B)/san/%.o,$(1))

HOOK_OBJS  := $(call obj,$(HOOK_SRCS))
TRACE_OBJS := $(call obj,$(TRACE_SRCS))
VFS_OBJS   := $(call obj,$(VFS_SRCS))
STACK_OBJS := $(call obj,$(STACK_SRCS))
IO_OBJS    := $(call obj,$(IO_SRCS))
LWIP_OBJS  := $(call obj,$(LWIP_SRCS))

LIBHOOK    := $(B)/libhook.so
LIBSTACK   := $(B)/libnfstack.a
LIBIO      := $(B)/libnfio.a
LIBIO_SO   := $(B)/libnfio.so
# NETFUSE_STACK=lwip: lwIP (Debian's liblwip) as a backend, loaded by vfs/
# from beside libhook.so (backends/lwip/)
LIBLWIP_BE := $(B)/libnfbe_lwip.so
LWIP_CFLAGS := -isystem /usr/include/lwip

# ---- tests --------------------------------------------------------------
UNIT_SRCS  := $(wildcard tests/*/test_*.c)
UNIT_BINS  := $(patsubst %.c,$(B)/%,$(UNIT_SRCS))
UNIT_SAN   := $(patsubst %.c,$(B)/san/%,$(filter tests/stack/% tests/apps/% tests/vfs/% tests/io/%,$(UNIT_SRCS)))
ITEST_SRCS := $(wildcard tests/*/itest_*.c)
ITEST_BINS := $(patsubst %.c,$(B)/%,$(ITEST_SRCS))
ITEST_ASM  := $(wildcard tests/*/asm_*.S)

# per-module extra link flags for tests
HOOK_TEST_OBJS  := $(filter-out $(B)/obj/hook/init.o,$(HOOK_OBJS))
TEST_LIBS_hook  := $(HOOK_TEST_OBJS) -lopcodes -lbfd -ldl -lpthread
TEST_DEPS_hook  := $(HOOK_TEST_OBJS)
TEST_LIBS_stack := $(LIBSTACK)
TEST_LIBS_io    := $(LIBIO) $(LIBSTACK) $(DPDK_LIBS) -lnuma -lpthread
VFS_TEST_OBJS   := $(VFS_OBJS) $(HOOK_TEST_OBJS)
TEST_LIBS_vfs   := $(VFS_TEST_OBJS) $(LIBSTACK) -lopcodes -lbfd -ldl -lpthread
TEST_DEPS_vfs   := $(VFS_TEST_OBJS) $(LIBSTACK)
TEST_DEPS_stack := $(LIBSTACK)
TEST_DEPS_io    := $(LIBIO) $(LIBSTACK)
TEST_DEPS_apps  := $(wildcard apps/*.h)

APPS_SRCS  := $(wildcard apps/*.c)
APPS_BINS  := $(patsubst apps/%.c,$(B)/apps/%,$(APPS_SRCS))
BENCH_SRCS := $(filter-out bench/zphook_pass.c,$(wildcard bench/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRCS))

.PHONY: all check test test-long demo clean setup fuzz bench install uninstall
all: $(LIBHOOK) $(LIBSTACK) $(LIBIO) $(LIBIO_SO) $(LIBLWIP_BE) $(UNIT_BINS) $(ITEST_BINS) $(APPS_BINS) $(BENCH_BINS) $(B)/bench/libzphook_pass.so

# ---- compile rules ------------------------------------------------------
$(B)/obj/backends/lwip/%.o: backends/lwip/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LWIP_CFLAGS) -MMD -c $< -o $@
$(B)/obj/io/%.o: io/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DPDK_CFLAGS) -MMD -c $< -o $@
$(B)/obj/hook/%.o: hook/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(HOOK_CFLAGS) -MMD -c $< -o $@
# trace/ runs inside the hook too (NETFUSE_TRACE's strace format)
$(B)/obj/trace/%.o: trace/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(HOOK_CFLAGS) -MMD -c $< -o $@
$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -c $< -o $@
$(B)/obj/%.o: %.S
	@mkdir -p $(@D)
	$(CC) $(ASFLAGS) -MMD -c $< -o $@
$(B)/san/io/%.o: io/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(DPDK_CFLAGS) -MMD -c $< -o $@
$(B)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -MMD -c $< -o $@

# libhook.so: the hook, vfs/ and the stack. io/ and DPDK live in
# libnfio.so, which vfs/ loads on the first netfuse socket, so programs
# that never open one do not pay DPDK's start-up.
$(LIBHOOK): $(HOOK_OBJS) $(TRACE_OBJS) $(VFS_OBJS) $(LIBSTACK)
	@mkdir -p $(@D)
	$(CC) -shared -o $@ $(HOOK_OBJS) $(TRACE_OBJS) $(VFS_OBJS) $(LIBSTACK) -Wl,-z,defs \
	      -Wl,--version-script=hook/libhook.map -lopcodes -lbfd -ldl -lpthread
$(LIBLWIP_BE): $(LWIP_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -o $@ $(LWIP_OBJS) -Wl,-z,defs -llwip -lpthread
$(LIBIO_SO): $(IO_OBJS)
	@mkdir -p $(@D)
	$(CC) -shared -o $@ $(IO_OBJS) -Wl,-z,defs $(DPDK_LIBS) -lnuma -lpthread
# The same two under ASan/UBSan (vfs/, the stack and io/ sanitized; the
# hook's objects as they are): tests/vfs/itest_san.sh runs hooked
# programs with LD_PRELOAD="libasan.so $(B)/san/libhook.so"
$(B)/san/libhook.so: $(HOOK_OBJS) $(TRACE_OBJS) $(call san,$(VFS_SRCS)) $(B)/san/libnfstack.a
	@mkdir -p $(@D)
	$(CC) -shared $(SAN) -o $@ $(HOOK_OBJS) $(TRACE_OBJS) $(call san,$(VFS_SRCS)) \
	      $(B)/san/libnfstack.a -Wl,--version-script=hook/libhook.map \
	      -lopcodes -lbfd -ldl -lpthread
$(B)/san/libnfio.so: $(call san,$(IO_SRCS))
	@mkdir -p $(@D)
	$(CC) -shared $(SAN) -o $@ $^ $(DPDK_LIBS) -lnuma -lpthread
$(LIBSTACK): $(STACK_OBJS)
	@mkdir -p $(@D)
	rm -f $@; ar rcs $@ $^
$(LIBIO): $(IO_OBJS)
	@mkdir -p $(@D)
	rm -f $@; ar rcs $@ $^

# hook integration tests run under LD_PRELOAD: they must not link the hook
$(B)/tests/hook/itest_%: tests/hook/itest_%.c $(LIBHOOK) $(B)/tests/hook/libfixture.so
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< -ldl -lpthread -lcmocka
$(B)/tests/hook/libfixture.so: tests/hook/fixture.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -shared -o $@ $<

# vfs/ integration helpers are plain POSIX programs run under LD_PRELOAD
$(B)/tests/vfs/itest_%: tests/vfs/itest_%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< -lpthread

# unit tests: tests/<mod>/test_x.c -> build/tests/<mod>/test_x
.SECONDEXPANSION:
$(B)/tests/%: tests/%.c $$(TEST_DEPS_$$(firstword $$(subst /, ,$$*))) $$(wildcard tests/$$(firstword $$(subst /, ,$$*))/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(if $(filter io/%,$*),$(DPDK_CFLAGS)) -o $@ $< \
	      $(TEST_LIBS_$(firstword $(subst /, ,$*))) -lcmocka
$(B)/san/libnfstack.a: $(call san,$(STACK_SRCS))
	rm -f $@; ar rcs $@ $^
$(B)/san/tests/apps/%: tests/apps/%.c $(wildcard apps/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -o $@ $< -lcmocka
$(B)/san/tests/stack/%: tests/stack/%.c $(B)/san/libnfstack.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -o $@ $< $(B)/san/libnfstack.a -lcmocka
# io/ under ASan/UBSan: its objects and the stack's sanitized, DPDK as it is
$(B)/san/tests/io/%: tests/io/%.c $(call san,$(IO_SRCS)) $(B)/san/libnfstack.a \
		$(wildcard tests/io/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $(DPDK_CFLAGS) -o $@ $< $(call san,$(IO_SRCS)) \
	      $(B)/san/libnfstack.a $(DPDK_LIBS) -lnuma -lpthread -lcmocka
# vfs/ under ASan/UBSan: its objects and the stack's sanitized; the hook's
# (general registers only, raw system calls) as they are
$(B)/san/tests/vfs/%: tests/vfs/%.c $(call san,$(VFS_SRCS)) $(HOOK_TEST_OBJS) \
		$(B)/san/libnfstack.a $(wildcard tests/vfs/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -o $@ $< $(call san,$(VFS_SRCS)) \
	      $(HOOK_TEST_OBJS) $(B)/san/libnfstack.a -lopcodes -lbfd -ldl \
	      -lpthread -lcmocka

$(B)/apps/%: apps/%.c $(wildcard apps/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< -lpthread -lm
$(B)/bench/bench_io: bench/bench_io.c $(LIBIO) $(LIBSTACK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DPDK_CFLAGS) -o $@ $< $(LIBIO) $(LIBSTACK) $(DPDK_LIBS) \
	      -lnuma -lpthread -lm
# zpoline's pass-through hook, for bench-hook's zpoline column
$(B)/bench/libzphook_pass.so: bench/zphook_pass.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -shared -o $@ $<
# bench-scale drives vfs/ directly (no hook, no DPDK), like tests/vfs
$(B)/bench/bench_scale: bench/bench_scale.c $(VFS_TEST_OBJS) $(LIBSTACK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(VFS_TEST_OBJS) $(LIBSTACK) -lopcodes -lbfd \
	      -ldl -lpthread
$(B)/bench/%: bench/%.c $(LIBSTACK)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(LIBSTACK) -lpthread -lm

# ---- running ------------------------------------------------------------
setup:
	bash scripts/setup.sh

check: $(UNIT_BINS)
	@bash tests/run.sh unit $(UNIT_BINS)

# an itest_x.c with an itest_x.sh beside it is a helper the script runs
ITEST_RUN := $(foreach b,$(ITEST_BINS),$(if $(wildcard $(patsubst $(B)/%,%,$(b)).sh),,$(b)))

test: setup
	$(MAKE) -j2 all
	$(MAKE) -j2 $(UNIT_SAN) $(B)/san/libhook.so $(B)/san/libnfio.so
	@bash tests/run.sh all $(UNIT_BINS) $(UNIT_SAN) $(ITEST_RUN) \
	      $(wildcard tests/*/itest_*.sh)

test-long: test
	NETFUSE_TEST_LONG=1 NETFUSE_TEST_TIMEOUT=3600 bash tests/run.sh long \
	      tests/rel/itest_transfer.sh tests/rel/itest_load.sh \
	      tests/rel/itest_fuzz.sh tests/rel/itest_zz_results.sh

demo: setup
	$(MAKE) -j2 all
	bash scripts/demo.sh

bench-%: all
	bash bench/run.sh $*

bench: all
	bash bench/run.sh all

# libFuzzer (clang): make fuzz FUZZ_TIME=seconds (per target; every
# target of tests/stack/fuzz_*.c: corpus replay, then fuzzing; `make test`
# runs the same script for 60 s per target)
FUZZ_TIME ?= 600
fuzz:
	B=$(B) NETFUSE_FUZZ_TIME=$(FUZZ_TIME) bash tests/rel/itest_fuzz.sh

# ---- install ------------------------------------------------------------
# make install PREFIX=/usr/local DESTDIR=: the libraries (and the native
# stack's libnfstack.a) in PREFIX/lib/netfuse, `netfuse` in PREFIX/bin,
# the public headers in PREFIX/include/netfuse, netfuse.pc, netfuse(1)
PREFIX ?= /usr/local
LIBDIR_NF = $(PREFIX)/lib/netfuse
install: all
	install -d $(DESTDIR)$(LIBDIR_NF)/tools $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/include/netfuse/stack \
	    $(DESTDIR)$(PREFIX)/include/netfuse/io \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(LIBHOOK) $(LIBIO_SO) $(LIBLWIP_BE) $(DESTDIR)$(LIBDIR_NF)/
	install -m 644 $(LIBSTACK) $(DESTDIR)$(LIBDIR_NF)/
	install -m 644 tools/nftel.py tools/nfcmds.py $(DESTDIR)$(LIBDIR_NF)/tools/
	sed 's|@LIBDIR@|$(LIBDIR_NF)|' tools/netfuse >$(DESTDIR)$(PREFIX)/bin/netfuse
	chmod 755 $(DESTDIR)$(PREFIX)/bin/netfuse
	install -m 644 stack/stack.h stack/nf_io.h stack/nf_backend.h $(DESTDIR)$(PREFIX)/include/netfuse/stack/
	install -m 644 io/io.h $(DESTDIR)$(PREFIX)/include/netfuse/io/
	sed 's|@PREFIX@|$(PREFIX)|' docs/netfuse.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/netfuse.pc
	install -m 644 docs/netfuse.1 $(DESTDIR)$(PREFIX)/share/man/man1/
uninstall:
	rm -rf $(DESTDIR)$(LIBDIR_NF) $(DESTDIR)$(PREFIX)/include/netfuse
	rm -f $(DESTDIR)$(PREFIX)/bin/netfuse $(DESTDIR)$(PREFIX)/lib/pkgconfig/netfuse.pc \
	    $(DESTDIR)$(PREFIX)/share/man/man1/netfuse.1

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
