# xdpsec - one `make` builds everything into build/.
#
#   make            BPF objects + skeletons, libxdpsec.a, xdpsecd, xdpsecctl,
#                   unit tests, benchmarks and man pages (build/man, with
#                   scdoc when it is installed: `man -l build/man/xdpsecd.8`)
#   sudo make deps  install every Debian package the project needs (idempotent)
#   make check      build, then the unit tests that need no root
#   sudo make test  deps, build, then every test (unit, BPF, fuzz smoke, netns)
#   make fixtures   tests/bpf/classify_fixtures.txt anew (scapy)
#   sudo make demo  deps, build, then the end-to-end demo in namespaces
#   sudo make test-kernels  deps, build, then the smoke set inside each kernel
#                   of tests/kernels/kernels.list (Debian's 6.1 and 6.12, qemu
#                   TCG); kernels are cached in /var/cache/xdpsec/kernels
#   sudo make test-ike  deps, build, then tests/e2e/test_ike.py (strongSwan's
#                   charon keys xdpsecd --xfrm) in the 6.1 guest (IKE_KERNEL)
#   make fuzz       libFuzzer targets (clang) into build/fuzz/
#   make vmlinux    regenerate vmlinux/vmlinux.h from the running kernel's BTF
#   make install    PREFIX=/usr/local DESTDIR= (UNITDIR: see docs/install.mk)
#
# Sources are discovered by directory so that adding a file needs no edit here:
#   bpf/NAME.bpf.c        -> build/NAME.bpf.o + build/NAME.skel.h
#                            (and build/xdpsec.bpf.o, a copy of classify.bpf.o:
#                            the name users give to `ip link ... xdp obj`, and
#                            the name it is installed under)
#   user/STAGE/*.c        -> build/libxdpsec.a, except the programs' mains
#                            (one folder a pipeline stage: docs/architecture.md;
#                            every folder is on the include path):
#   user/*/xdpsecd.c, user/*/xdpsecctl.c -> build/xdpsecd, build/xdpsecctl
#   tests/unit/test_*.c, tests/bpf/test_*.c -> build/tests/test_*
#   tests/fuzz/fuzz_*.c   -> build/fuzz/fuzz_*  (make fuzz)
#   bench/*.c             -> build/bench/*  (bench/traffic_*.c: libc only;
#                            bench/reasm.c only with DPDK: pkg-config libdpdk;
#                            `make` says when it skips it)
#
# An object waits for a BPF skeleton only when its source includes one
# (found with grep below; -MMD records the rest after the first build).

BUILD    ?= build
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PYTHON   ?= /usr/bin/python3
PREFIX   ?= /usr/local
DESTDIR  ?=
SCDOC    ?= scdoc

ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

# ---------------------------------------------------------------- sanitizers
# SANITIZE=1: daemon, CLI and tests with ASan + UBSan, into build-san/ (see
# the sanitizers block at the end and docs/testing.md).
ifeq ($(SANITIZE),1)
BUILD    := build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS   ?= -O1 -g
override CFLAGS += $(SAN_FLAGS)
endif

# ---------------------------------------------------------------- flags
WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
VERSION  ?= 0.1
GIT_REV  := $(shell git rev-parse --short HEAD 2>/dev/null)
# user/ and each of its stage folders (user/io, user/esp, ...), so that
# "esp.h" is found wherever it lives.
USER_DIRS := user $(patsubst %/,%,$(sort $(dir $(wildcard user/*/*.c user/*/*.h))))
CPPFLAGS := -D_GNU_SOURCE -Iheaders $(addprefix -I,$(USER_DIRS)) -I$(BUILD) \
	    -DXDPSEC_VERSION='"$(VERSION)$(if $(GIT_REV),+g$(GIT_REV))"'
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) $(CPPFLAGS) -MMD -MP -pthread
LDLIBS   := -lmnl -lxdp -lbpf -lelf -lz -ljson-c -lcrypto -l:libIPSec_MB.a -lpthread -lm

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) \
	-Wno-unused-function -Iheaders -Ivmlinux -I$(BUILD)

# DPDK (bench/reasm.c's baseline only); -isystem keeps its headers out of -Werror.
HAVE_DPDK   := $(shell pkg-config --exists libdpdk 2>/dev/null && echo yes)
DPDK_CFLAGS := $(patsubst -I%,-isystem %,$(shell pkg-config --cflags libdpdk 2>/dev/null))
DPDK_LIBS   := $(shell pkg-config --libs libdpdk 2>/dev/null)

# ---------------------------------------------------------------- sources
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_NAMES  := $(patsubst bpf/%.bpf.c,%,$(BPF_SRCS))
BPF_OBJS   := $(patsubst %,$(BUILD)/%.bpf.o,$(BPF_NAMES))
SKELS      := $(patsubst %,$(BUILD)/%.skel.h,$(BPF_NAMES))
# the classify program under the name users attach and we install
ATTACH_OBJ := $(BUILD)/xdpsec.bpf.o
INSTALL_BPF := $(ATTACH_OBJ) $(filter-out $(BUILD)/classify.bpf.o,$(BPF_OBJS))

PROG_NAMES := xdpsecd xdpsecctl
USER_SRCS  := $(wildcard $(addsuffix /*.c,$(USER_DIRS)))
MAINS      := $(foreach p,$(PROG_NAMES),$(filter %/$(p).c,$(USER_SRCS)))
LIB_SRCS   := $(filter-out $(MAINS),$(USER_SRCS))
LIB_OBJS   := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIB        := $(BUILD)/libxdpsec.a
PROGS      := $(addprefix $(BUILD)/,$(PROG_NAMES))

TEST_SRCS  := $(wildcard tests/unit/test_*.c tests/bpf/test_*.c)
TESTS      := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TEST_SRCS)))
# the tests that need no root: every unit test, and the BPF helper audit
# (it reads the objects, loads nothing)
CHECK_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c)) \
	       $(BUILD)/tests/test_helpers
TEST_HELPERS := $(filter-out $(TEST_SRCS),$(wildcard tests/unit/*.c tests/bpf/*.c))

FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS    := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LIB_OBJS := $(patsubst user/%.c,$(BUILD)/fuzzobj/%.o,$(LIB_SRCS))

BENCH_SRCS := $(wildcard bench/*.c)
DPDK_BENCH := bench/reasm.c
ifneq ($(HAVE_DPDK),yes)
BENCH_SRCS := $(filter-out $(DPDK_BENCH),$(BENCH_SRCS))
endif
BENCHES    := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

# docs/NAME.8.scd -> build/man/NAME.8.  scdoc is optional, as for
# xdp-tools: without it everything else builds and `make` says why there
# are no man pages.
MAN_SRCS   := $(wildcard docs/*.scd)
MANS       := $(patsubst docs/%.scd,$(BUILD)/man/%,$(MAN_SRCS))
HAVE_SCDOC := $(shell command -v $(SCDOC) 2>/dev/null)

.PHONY: all bpf user tests bench fuzz man deps check test test-kernels test-ike demo clean vmlinux install fixtures
.DEFAULT_GOAL := all

all: bpf user tests bench man

bpf: $(BPF_OBJS) $(ATTACH_OBJ) $(SKELS)
user: $(LIB) $(PROGS) $(BUILD)/xdpsecctl.bash
tests: $(TESTS)
bench: $(BENCHES)
ifneq ($(HAVE_DPDK),yes)
	@echo "bench: libdpdk not found by pkg-config: $(DPDK_BENCH) not built (sudo make deps)"
endif
fuzz: $(FUZZERS)

# ---------------------------------------------------------------- BPF
$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(ATTACH_OBJ): $(BUILD)/classify.bpf.o
	cp $< $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name xdpsec_$* > $@.tmp && mv $@.tmp $@

# ---------------------------------------------------------------- userspace
$(BUILD)/obj/%.o: user/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

# build/xdpsecd <- build/obj/daemon/xdpsecd.o (wherever the main lives)
$(foreach p,$(PROG_NAMES),$(eval $(BUILD)/$(p): $(patsubst user/%.c,$(BUILD)/obj/%.o,$(filter %/$(p).c,$(MAINS)))))
$(PROGS): $(LIB)
	$(CC) $(ALL_CFLAGS) $(filter %.o,$^) -o $@ $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(TEST_HELPERS) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -Itests/unit $< $(filter tests/unit/%,$(TEST_HELPERS)) -o $@ $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/bpf/%.c $(LIB) $(BPF_OBJS) $(ATTACH_OBJ) $(TEST_HELPERS) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -Itests/unit -Itests/bpf $< $(filter tests/bpf/%,$(TEST_HELPERS)) -o $@ $(LIB) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB) | $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) -O3 $< -o $@ $(LIB) $(LDLIBS)

$(patsubst bench/%.c,$(BUILD)/bench/%,$(DPDK_BENCH)): $(BUILD)/bench/%: bench/%.c $(LIB) | $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) -O3 $(DPDK_CFLAGS) $< -o $@ $(LIB) $(LDLIBS) $(DPDK_LIBS)

# The traffic harness (bench/traffic_*.c) is libc only: no libxdpsec, no
# DPDK, so it builds and runs wherever the benchmark does.  (The shorter
# stem wins over the rule above.)
$(BUILD)/bench/traffic_%: bench/traffic_%.c | $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) -O2 $< -o $@

# ---------------------------------------------------------------- skeleton users
# "SRC:NAME.skel.h" for every source that includes a skeleton; its object
# (or test program) waits for that skeleton only.
SKEL_USES  := $(shell grep -o --include='*.c' -r '"[a-z0-9_]*\.skel\.h"' user tests bench 2>/dev/null | tr -d '"')
skel_src    = $(word 1,$(subst :, ,$(1)))
skel_hdr    = $(BUILD)/$(word 2,$(subst :, ,$(1)))
skel_tgts   = $(if $(filter user/%,$(1)),$(patsubst user/%.c,$(BUILD)/obj/%.o,$(1)) \
		$(patsubst user/%.c,$(BUILD)/fuzzobj/%.o,$(1)),$(BUILD)/$(patsubst %/,%,$(dir $(1)))/$(basename $(notdir $(1))))
$(foreach u,$(SKEL_USES),$(eval $(call skel_tgts,$(call skel_src,$(u))): $(call skel_hdr,$(u))))

# bash completion: the command part generated from the command table
# (CTL_CMD_LIST, user/ctl/ctl_proto.h), then packaging/xdpsecctl.bash.in
$(BUILD)/gen_completion: packaging/gen_completion.c user/ctl/ctl_proto.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) $< -o $@

$(BUILD)/xdpsecctl.bash: $(BUILD)/gen_completion packaging/xdpsecctl.bash.in
	$(BUILD)/gen_completion > $@.tmp && cat packaging/xdpsecctl.bash.in >> $@.tmp && mv $@.tmp $@

# ---------------------------------------------------------------- fuzz
$(BUILD)/fuzzobj/%.o: user/%.c
	@mkdir -p $(@D)
	$(CLANG) -std=gnu11 $(WARN) $(CPPFLAGS) $(FUZZ_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJS) | $(BUILD)/fuzz
	$(CLANG) -std=gnu11 $(WARN) $(CPPFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -MMD -MP $< $(FUZZ_LIB_OBJS) -o $@ $(LDLIBS)

# ---------------------------------------------------------------- man pages
ifneq ($(HAVE_SCDOC),)
man: $(MANS)

$(BUILD)/man/%: docs/%.scd | $(BUILD)/man
	$(SCDOC) < $< > $@.tmp && mv $@.tmp $@
else
man:
	@echo "man: $(SCDOC) not found: man pages not built into $(BUILD)/man" \
	      "(sudo make deps, or apt-get install scdoc); read docs/*.scd or docs/control.md"
endif

# ---------------------------------------------------------------- dirs
$(BUILD) $(BUILD)/obj $(BUILD)/tests $(BUILD)/bench $(BUILD)/fuzz $(BUILD)/fuzzobj $(BUILD)/man:
	mkdir -p $@

# ---------------------------------------------------------------- meta
# make test-kernels: qemu, the guest's initramfs (busybox, cpio, xz for the
# modules, kmod for depmod/modprobe of the guest kernel's modules)
KERNEL_DEB_PKGS := qemu-system-x86 busybox-static cpio xz-utils kmod zstd apt dpkg
# make test-ike: strongSwan's charon and swanctl (the test runs its own
# charons, in namespaces of the guest).  This machine must not run an IKE
# daemon of its own: when deps installs them, a policy-rc.d refuses every
# service start (if there is none already), and the services the packages
# enabled (strongswan-starter, ipsec) are disabled again.
IKE_DEB_PKGS := strongswan-charon strongswan-swanctl
DEB_PKGS := clang llvm libbpf-dev libxdp-dev bpftool xdp-tools iproute2 \
	libssl-dev libelf-dev zlib1g-dev pkg-config libipsec-mb-dev libdpdk-dev \
	libjson-c-dev libmnl-dev libclang-rt-14-dev python3-scapy python3-cryptography python3-pytest \
	python3-prometheus-client tcpdump ethtool iputils-ping scdoc man-db make gcc util-linux \
	$(KERNEL_DEB_PKGS) $(IKE_DEB_PKGS)

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing:" $$missing; \
		starter=$$(dpkg-query -W -f='$${Status}' strongswan-starter 2>/dev/null); \
		prc=; if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && prc=1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; rc=$$?; \
		if [ -n "$$prc" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
		case "$$starter" in *"install ok installed"*) ;; *) \
			if dpkg-query -W -f='$${Status}' strongswan-starter 2>/dev/null | grep -q 'install ok installed'; then \
				systemctl disable strongswan-starter.service >/dev/null 2>&1; \
				update-rc.d ipsec disable >/dev/null 2>&1; \
				echo "deps: strongswan-starter and ipsec disabled (no IKE daemon on this machine)"; fi ;; esac; \
		exit $$rc; \
	else echo "deps: all Debian packages present"; fi

check: $(CHECK_TESTS)
	@failed=; for t in $(CHECK_TESTS); do echo "=== $$t"; $$t || failed="$$failed $$t"; done; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi; \
	echo "make check: $(words $(CHECK_TESTS)) unit tests passed (sudo make test runs everything)"

fixtures:
	$(PYTHON) tests/bpf/gen_fixtures.py > tests/bpf/classify_fixtures.txt.tmp
	mv tests/bpf/classify_fixtures.txt.tmp tests/bpf/classify_fixtures.txt

test: deps
ifeq ($(SANITIZE),1)
	$(MAKE) bpf user tests
	BUILD=$(BUILD) FUZZ_SECONDS=0 SANITIZE=1 tests/run.sh
else
	$(MAKE) all fuzz
	tests/run.sh
endif

# The kernel matrix (tests/kernels/): boots each kernel of kernels.list under
# qemu TCG with this machine's root shared read-only and runs
# tests/kernels/smoke.sh in it; KERNELS="6.1" picks kernels.
test-kernels: deps
	$(MAKE) all
	tests/kernels/matrix.sh $(KERNELS)

# tests/e2e/test_ike.py in one guest (tests/kernels/ike_test.sh): charon
# in two namespaces, xdpsecd --xfrm on the responder; report in
# $(BUILD)/kernels/ike-KERNEL/report.txt.
IKE_KERNEL ?= 6.1
test-ike: deps
	$(MAKE) all
	BUILD=$(BUILD) tests/kernels/ike_test.sh $(IKE_KERNEL)

demo: deps
	$(MAKE) all
	$(PYTHON) tests/e2e/demo.py

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h.tmp
	mv vmlinux/vmlinux.h.tmp vmlinux/vmlinux.h

install: bpf user man
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/xdpsec
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 $(INSTALL_BPF) $(DESTDIR)$(PREFIX)/lib/xdpsec/
	@if [ -f docs/install.mk ]; then $(MAKE) -f docs/install.mk BUILD=$(BUILD) PREFIX=$(PREFIX) DESTDIR=$(DESTDIR); fi

clean:
	rm -rf $(BUILD)

# (not $(BUILD)/*.d: the mains' dependency files from before user/ had
# folders name sources that are gone)
-include $(wildcard $(BUILD)/*.bpf.d $(BUILD)/obj/*.d $(BUILD)/obj/*/*.d $(BUILD)/tests/*.d \
	$(BUILD)/bench/*.d $(BUILD)/fuzzobj/*.d $(BUILD)/fuzzobj/*/*.d)

# ---------------------------------------------------------------- sanitizers, memcheck, fuzz campaigns
# make test SANITIZE=1   daemon, CLI, unit and BPF tests built with ASan +
#                        UBSan into build-san/, then the unit and e2e suites
#                        against them; any sanitizer report fails the run
#                        (tests/run.sh collects build-san/sanitizer/*)
# make memcheck          the unit tests (tests/unit) under valgrind memcheck
# make fuzz-long         libFuzzer campaigns, FUZZ_RUNS (10^8) executions or
#                        FUZZ_LONG_SECONDS per target (tests/fuzz/campaign.sh)
# make fuzz-seeds        minimize each corpus into tests/fuzz/seeds/TARGET
.PHONY: memcheck fuzz-long fuzz-seeds soak
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
VALGRIND   ?= valgrind
MEMCHECK_FLAGS := --tool=memcheck --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --track-origins=yes --quiet

# A memcheck error (exit 99 or a report in TEST.memcheck.log) fails; a test
# that fails only because valgrind makes it 20-50x slower (timing
# assumptions) is listed, not counted as a memory error.
memcheck: $(UNIT_TESTS)
	@failed=""; slow=""; for t in $(UNIT_TESTS); do \
		echo "=== valgrind $$t"; \
		$(VALGRIND) $(MEMCHECK_FLAGS) --log-file=$$t.memcheck.log $$t > $$t.memcheck.out 2>&1; \
		rc=$$?; tail -1 $$t.memcheck.out; \
		if [ $$rc -eq 99 ] || [ -s $$t.memcheck.log ]; then \
			failed="$$failed $$t"; cat $$t.memcheck.log; \
		elif [ $$rc -ne 0 ]; then slow="$$slow $$t"; grep FAIL $$t.memcheck.out; fi; \
	done; \
	if [ -n "$$slow" ]; then echo "memcheck: tests failing under valgrind, no memory error:$$slow"; fi; \
	if [ -n "$$failed" ]; then echo "memcheck FAILED:$$failed"; exit 1; fi; \
	echo "memcheck: no memory error, no leak in $(words $(UNIT_TESTS)) unit tests"

fuzz-long: fuzz
	BUILD=$(BUILD) tests/fuzz/campaign.sh $(FUZZ_TARGETS)

fuzz-seeds: fuzz
	BUILD=$(BUILD) tests/fuzz/campaign.sh --merge $(FUZZ_TARGETS)

-include $(wildcard $(BUILD)/fuzz/*.d)

# ---------------------------------------------------------------- soak
# make soak   xdpsecd under mixed traffic (every branch, malformed and
#             replayed frames) for SOAK_SECONDS (default 600); RSS, open fds,
#             the conservation law every 10 s and delivered/sent into
#             $(BUILD)/soak/report.txt (tests/soak/soak.py, docs/testing.md).
#             Needs root; not part of make test.
SOAK_SECONDS ?= 600
soak: all
	BUILD=$(BUILD) $(PYTHON) tests/soak/soak.py --seconds $(SOAK_SECONDS) --out $(BUILD)/soak/report.txt
