# EMP top-level Makefile.
#
#   make [KVER=6.1|6.12|sid|debug | KDIR=<headers tree>]   emp.ko + tools + selftests
#   make kmod | tools | selftests | unittests | kernels | clean   parts of it
#   make unit        host unit tests (no guest)
#   make fuzz        the tier-spec parser under libFuzzer, bounded
#   make test        full set-up, host unit tests, guest suite on all lines
#   make demo        full set-up, boot a guest, show EMP at work (README)
#   make shell KVER=6.12   interactive shell in a test guest
#   make deps        install the Debian packages the build and guests need
#   make bench       benchmarks in one guest (KVER), results in $EMP_CACHE/bench
#   make vmtest, make vmtest-patched   opt-in VM-mode guest runs (below)
#   make install, make install-dkms    (below)
#
# EMP_CACHE (default ~/.cache/emp) holds fetched kernels and generated files.

EMP_TOP   := $(CURDIR)
EMP_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/emp
export EMP_CACHE

KVER ?= 6.12
# KDIR given by the user wins over the short name.
KSEL := $(if $(filter command line environment environment override,$(origin KDIR)),--kdir $(KDIR),--kernel $(KVER))

CC      ?= gcc
CFLAGS  ?= -O2 -g
WFLAGS  := -Wall -Wextra -Werror -Wno-unused-parameter
# libcurl's headers: libemp's etcd client loads the library itself with
# dlopen (tools/lib/emp_etcd_http.c), so tools link neither it nor -ldl.
CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS   := -ldl
UCFLAGS  = $(CFLAGS) $(WFLAGS) -I$(EMP_TOP)/uapi -I$(EMP_TOP)/tools/lib $(CURL_CFLAGS)

LIB_SRC  := $(wildcard tools/lib/*.c)
LIB_OBJ  := $(patsubst tools/lib/%.c,build/tools/lib/%.o,$(LIB_SRC))
LIB_HDR  := $(wildcard tools/lib/*.h) uapi/linux/emp.h
LIBEMP   := build/tools/libemp.a
TOOLS    := build/tools/empctl build/tools/libemp-preload.so

KSFT_INC  = $(shell scripts/fetch-kselftest.sh)
# The harness macros compare ints with unsigned values; that is theirs.
KSFT_CFLAGS = -I$(KSFT_INC) -Wno-sign-compare
SELFTESTS := $(patsubst selftests/%.c,build/selftests/%,$(wildcard selftests/*.c))
UNITTESTS := $(patsubst selftests/unit/%.c,build/unit/%,$(wildcard selftests/unit/*.c))

.PHONY: all kmod tools selftests unittests unit test demo shell deps kernels clean fuzz
all: kmod tools selftests

kernels:
	scripts/fetch-kernel.sh $(KVER)

kmod:
	scripts/build-kmod.sh $(KSEL)

tools: $(TOOLS)

build/tools/lib/%.o: tools/lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) -c -o $@ $<

$(LIBEMP): $(LIB_OBJ)
	$(AR) rcs $@ $^

# libemp-genl (tools/lib/genl/): emp.ko's netlink events through libnl-3,
# for empctl events and empd; apart from libemp, which needs no libnl.
NL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NL_LIBS   := $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null || echo -lnl-genl-3 -lnl-3)
GENL_SRC  := tools/lib/genl/emp_genl.c
GENL_HDR  := tools/lib/genl/emp_genl.h

EMPCTL_SRC := $(wildcard tools/empctl/*.c)
build/tools/empctl: $(EMPCTL_SRC) tools/empctl/empctl.h $(LIBEMP) $(LIB_HDR) $(GENL_SRC) $(GENL_HDR)
	$(CC) $(UCFLAGS) $(NL_CFLAGS) -o $@ $(EMPCTL_SRC) $(GENL_SRC) $(LIBEMP) $(NL_LIBS)

# The preload library carries its own copy of libemp (built -fPIC) and
# exports only the allocator interface (tools/preload/preload.map).
build/tools/libemp-preload.so: tools/preload/preload.c tools/preload/preload.map $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) -fPIC -shared -fvisibility=hidden -Wl,-z,defs \
		-Wl,--version-script=tools/preload/preload.map -o $@ $< $(LIB_SRC) -lmimalloc

selftests: $(SELFTESTS) $(UNITTESTS)

build/selftests/%: selftests/%.c $(LIBEMP) $(LIB_HDR) $(wildcard selftests/lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) $(KSFT_CFLAGS) -o $@ $< $(LIBEMP) -lpthread

# The RDMA build of the remote-tier tests includes the TCP one.
build/selftests/emp_remote_rdma_test: selftests/emp_remote_test.c
build/selftests/emp_remote_rdma_core_test: selftests/emp_remote_test.c
build/selftests/emp_replica_rdma_test: selftests/emp_replica_test.c

build/unit/%: selftests/unit/%.c $(LIBEMP) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) $(KSFT_CFLAGS) -fsanitize=address,undefined -o $@ $< $(LIB_SRC)

unittests: $(UNITTESTS)

unit: $(UNITTESTS)
	scripts/run-unit.sh $(UNITTESTS)

test:
	scripts/test.sh

demo:
	scripts/demo.sh

shell: all
	scripts/guest.sh --kernel $(KVER) --shell

deps:
	scripts/deps.sh

# Benchmarks against the alternatives (Linux swap, fio, ib_read_lat, a TCP
# ping-pong) in one guest; not part of make test. See docs/bench.md.
.PHONY: bench
BENCH_BIN := build/selftests/emp_bench
$(BENCH_BIN): selftests/bench/emp_bench.c selftests/bench/bench_swap.c selftests/bench/bench_vm.c \
	      selftests/bench/bench_pool.c \
	      selftests/bench/bench.h selftests/lib/emp_test.h selftests/lib/emp_kvm_vm.h $(LIBEMP) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) -I$(EMP_TOP)/selftests -o $@ $(filter %.c,$^) $(LIBEMP) -lpthread -lm

bench: all $(BENCH_BIN)
	KVER=$(KVER) scripts/bench.sh

# libFuzzer target of the tier-spec parser, run for a bounded time in CI.
CLANG      ?= $(shell command -v clang-14 || command -v clang)
FUZZ_RUNS  ?= 1000000
FUZZ_TIME  ?= 60
FUZZ_SRC   := $(LIB_SRC)
build/fuzz/spec_fuzz: fuzz/spec_fuzz.c $(FUZZ_SRC) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(WFLAGS) -I$(EMP_TOP)/uapi -I$(EMP_TOP)/tools/lib -o $@ $< $(FUZZ_SRC)

fuzz: build/fuzz/spec_fuzz
	fuzz/run.sh $< $(FUZZ_RUNS) $(FUZZ_TIME)

# --- install (DESTDIR-aware; PREFIX for the tools) ---------------------------
# emp.ko and its companions go to /lib/modules/<release>/extra of the kernel
# selected by KVER or KDIR; tools, preload library, headers, man pages under
# PREFIX; the vmd unit and its settings to UNITDIR and DEFAULTDIR.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= /lib/systemd/system
DEFAULTDIR ?= /etc/default
DKMSDIR    ?= /usr/src
EMP_VERSION = $(shell sed -n 's/^\#define EMP_VERSION_STR[^"]*"\(.*\)"/\1/p' kmod/emp_export.h)
MANPAGES   := $(wildcard tools/man/*.[1-8])

# The man pages also go into the guests, for selftests/guest/man_examples.sh.
selftests: $(patsubst tools/man/%,build/selftests/%,$(MANPAGES))
build/selftests/%: tools/man/%
	@mkdir -p $(@D)
	cp $< $@

.PHONY: install install-kmod install-tools install-dkms
install: install-kmod install-tools

install-kmod:
	@ko=$$(scripts/build-kmod.sh $(KSEL) | tail -n 1) && \
	krel=$$(modinfo -F vermagic "$$ko" | cut -d' ' -f1) && \
	install -d "$(DESTDIR)/lib/modules/$$krel/extra" && \
	install -m 644 "$$(dirname "$$ko")"/*.ko "$(DESTDIR)/lib/modules/$$krel/extra/" && \
	echo "installed $$(cd "$$(dirname "$$ko")" && echo *.ko) in $(DESTDIR)/lib/modules/$$krel/extra" && \
	if [ -z "$(DESTDIR)" ]; then depmod -a "$$krel"; fi

install-tools: build/tools/empctl build/tools/libemp-preload.so $(LIBEMP)
	install -d "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(INCLUDEDIR)/linux" \
		"$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(DEFAULTDIR)"
	install -m 755 build/tools/empctl "$(DESTDIR)$(SBINDIR)/"
	if [ -x build/tools/vmd ]; then install -m 755 build/tools/vmd "$(DESTDIR)$(SBINDIR)/"; fi
	install -m 755 build/tools/libemp-preload.so "$(DESTDIR)$(LIBDIR)/"
	install -m 644 $(LIBEMP) "$(DESTDIR)$(LIBDIR)/"
	install -m 644 tools/lib/libemp.h "$(DESTDIR)$(INCLUDEDIR)/"
	install -m 644 uapi/linux/*.h "$(DESTDIR)$(INCLUDEDIR)/linux/"
	for p in $(MANPAGES); do s=$${p##*.}; install -d "$(DESTDIR)$(MANDIR)/man$$s" && \
		install -m 644 "$$p" "$(DESTDIR)$(MANDIR)/man$$s/" || exit 1; done
	sed 's|@SBINDIR@|$(SBINDIR)|g' systemd/emp-vmd.service.in > "$(DESTDIR)$(UNITDIR)/emp-vmd.service"
	[ -e "$(DESTDIR)$(DEFAULTDIR)/emp-vmd" ] || \
		install -m 644 systemd/emp-vmd.default "$(DESTDIR)$(DEFAULTDIR)/emp-vmd"
	sed 's|@SBINDIR@|$(SBINDIR)|g' systemd/emp-cluster-watch.service.in > \
		"$(DESTDIR)$(UNITDIR)/emp-cluster-watch.service"
	[ -e "$(DESTDIR)$(DEFAULTDIR)/emp-cluster" ] || \
		install -m 644 systemd/emp-cluster.default "$(DESTDIR)$(DEFAULTDIR)/emp-cluster"
	# So that LD_PRELOAD=libemp-preload.so finds the library by name.
	if [ -z "$(DESTDIR)" ]; then ldconfig; fi

# The module sources as DKMS wants them: /usr/src/emp-VERSION/dkms.conf.
install-dkms:
	d="$(DESTDIR)$(DKMSDIR)/emp-$(EMP_VERSION)" && rm -rf "$$d" && install -d "$$d" && \
	find kmod uapi -name '*.[ch]' -o -name Kbuild | \
		tar -cf - -T - kmod/compat/probe.sh packaging/dkms-build.sh | \
		tar -xf - -C "$$d" && \
	sed 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="$(EMP_VERSION)"/' dkms.conf > "$$d/dkms.conf" && \
	echo "installed the DKMS sources of emp $(EMP_VERSION) in $$d"

clean:
	rm -rf build

# --- vmd: the donor daemon (tools/vmd/), its test client and fuzzer ---------
# (selftests/vmd/: vmd-client and vmd-fuzz, run against vmd on the host by
# selftests/vmd/host-test.sh and in the guests by vmd_rdma.sh; the etcd
# registry by selftests/vmd/etcd-test.sh)
VMD_DIR  := tools/vmd
VMD_HDR  := $(VMD_DIR)/wire.h $(VMD_DIR)/vmd.h uapi/linux/emp_wire.h
VMDT_DIR := selftests/vmd
VMD_CFLAGS = $(UCFLAGS) -I$(EMP_TOP)/$(VMD_DIR) -D_GNU_SOURCE -pthread

tools: build/tools/vmd
selftests: build/selftests/vmd-client build/selftests/vmd-fuzz

# Only libemp's size helpers and etcd client: vmd does not need the rest.
# libcurl reaches etcd's HTTP/JSON gateway for --etcd (registry.c, with
# libemp's emp_etcd_http.c), loaded then with dlopen: CURL_CFLAGS (above).
build/tools/vmd: $(VMD_DIR)/vmd.c $(VMD_DIR)/tcp.c $(VMD_DIR)/rdma.c $(VMD_DIR)/wire.c \
		 $(VMD_DIR)/registry.c tools/lib/emp_etcd.c tools/lib/emp_etcd_http.c \
		 tools/lib/emp_size.c $(VMD_HDR) tools/lib/emp_etcd.h
	@mkdir -p $(@D)
	$(CC) $(VMD_CFLAGS) $(CURL_CFLAGS) -o $@ $(filter %.c,$^) -lrdmacm -libverbs $(CURL_LIBS)

build/selftests/vmd-client: $(VMDT_DIR)/vmd-client.c $(VMDT_DIR)/rclient.c $(VMDT_DIR)/client.c \
			    $(VMD_DIR)/wire.c $(VMDT_DIR)/rclient.h $(VMDT_DIR)/client.h $(VMD_HDR)
	@mkdir -p $(@D)
	$(CC) $(VMD_CFLAGS) -o $@ $(filter %.c,$^) -lrdmacm -libverbs

build/selftests/vmd-fuzz: $(VMDT_DIR)/vmd-fuzz.c $(VMDT_DIR)/client.c $(VMD_DIR)/wire.c \
			  $(VMDT_DIR)/client.h $(VMD_HDR)
	@mkdir -p $(@D)
	$(CC) $(VMD_CFLAGS) -o $@ $(filter %.c,$^)

build/unit/wire_test: selftests/unit/wire_test.c $(VMD_DIR)/wire.c $(VMD_HDR)
	@mkdir -p $(@D)
	$(CC) $(VMD_CFLAGS) $(KSFT_CFLAGS) -fsanitize=address,undefined -o $@ $(filter %.c,$^)

build/unit/etcd_test: selftests/unit/etcd_test.c tools/lib/emp_etcd.c tools/lib/emp_etcd.h
	@mkdir -p $(@D)
	$(CC) $(VMD_CFLAGS) $(KSFT_CFLAGS) -fsanitize=address,undefined -o $@ $(filter %.c,$^)

# --- VM mode: emp-qemu, its test payload, make vmtest, make vmtest-patched -
# emp-qemu runs stock QEMU with guest RAM on an instance (tools/emp-qemu.c).
# Its guest test (selftests/guest/emp_qemu.sh) needs qemu-system-x86_64 and
# its libraries in the initramfs (about 45 MB more; guest.sh copies them).
# make test runs a short set of it on the 6.12 line; all of it, on any line:
#   make vmtest [VMTEST_LINES="6.1 6.12 sid"]
# boots one guest per line with one vCPU and runs the KVM tests there, and
# vm_balloon.sh: the line's kernel booted nested by emp-qemu, whose freed
# memory (free page reporting) and balloon must reach emp.ko as discards.
tools: build/tools/emp-qemu
build/tools/emp-qemu: tools/emp-qemu.c $(LIBEMP) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) -o $@ $< $(LIBEMP)

# The guest tests' payload (selftests/emp-qemu-payload.S): a 64 KiB -bios
# image (flat, 32-bit) that checks a pattern over the RAM.
selftests: build/selftests/emp-qemu-payload.bin
build/selftests/emp-qemu-payload.bin: selftests/emp-qemu-payload.S
	@mkdir -p build/obj $(@D)
	$(AS) --32 -o build/obj/emp-qemu-payload.o $<
	objcopy -O binary -j .text build/obj/emp-qemu-payload.o $@

# The nested Linux guest's /init of vm_balloon.sh (selftests/nested/): static,
# as it is the only program of that guest's initramfs (mkinitramfs.sh puts
# both in the test initramfs when EMP_NESTED=1, which guest.sh sets for it).
selftests: build/selftests/nested/balloon-init
build/selftests/nested/balloon-init: selftests/nested/balloon-init.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WFLAGS) -static -o $@ $<

.PHONY: vmtest install-emp-qemu
VMTEST_LINES ?= $(KVER)
vmtest: tools selftests
	@set -e; for l in $(VMTEST_LINES); do scripts/build-kmod.sh --kernel $$l >/dev/null; \
		EMP_APPEND="emp.qemu_tests=all" scripts/guest.sh --kernel $$l --smp 1 \
		--tests "module_load.sh kvm_emp.sh emp_qemu.sh vm_balloon.sh" --out "$${EMP_OUT:-$(EMP_CACHE)/out}/vmtest-$$l"; done

# The QEMU patch (qemu-patch/): build Debian's QEMU 7.2 with it, then boot
# the payload with -mem-path SPEC in one guest per line (opt-in, like vmtest;
# the build takes a while).
.PHONY: vmtest-patched
QEMU_PATCHED = $(EMP_CACHE)/qemu/work/build/qemu-system-x86_64
vmtest-patched: tools selftests
	qemu-patch/build.sh --build
	@set -e; for l in $(VMTEST_LINES); do scripts/build-kmod.sh --kernel $$l >/dev/null; \
		EMP_EXTRA_FILES="$(QEMU_PATCHED) /usr/share/qemu/kvmvapic.bin" \
		EMP_APPEND="emp.qemu_patched=$(QEMU_PATCHED)" scripts/guest.sh --kernel $$l --smp 1 \
		--tests "module_load.sh qemu_patched.sh" --out "$${EMP_OUT:-$(EMP_CACHE)/out}/vmtest-patched-$$l"; done

install-tools: install-emp-qemu
install-emp-qemu: build/tools/emp-qemu
	install -d "$(DESTDIR)$(SBINDIR)"
	install -m 755 build/tools/emp-qemu "$(DESTDIR)$(SBINDIR)/"

# --- empd: the balancer daemon (tools/empd/), its unit tests ---------------
# config.c and policy.c are pure and also built into selftests/unit.
EMPD_DIR := tools/empd
EMPD_SRC := $(wildcard $(EMPD_DIR)/*.c)
EMPD_HDR := $(EMPD_DIR)/empd.h $(GENL_HDR) $(LIB_HDR)
tools: build/tools/empd
build/tools/empd: $(EMPD_SRC) $(EMPD_HDR) $(GENL_SRC) $(LIBEMP)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) $(NL_CFLAGS) -D_GNU_SOURCE -I$(EMP_TOP)/$(EMPD_DIR) -o $@ $(EMPD_SRC) $(GENL_SRC) $(LIBEMP) $(NL_LIBS)

build/unit/empd_config_test build/unit/empd_policy_test: build/unit/%: selftests/unit/%.c \
		$(EMPD_DIR)/config.c $(EMPD_DIR)/policy.c $(EMPD_HDR)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) $(KSFT_CFLAGS) -I$(EMP_TOP)/$(EMPD_DIR) -fsanitize=address,undefined -o $@ \
		$< $(EMPD_DIR)/config.c $(EMPD_DIR)/policy.c $(LIB_SRC)

build/unit/genl_test: selftests/unit/genl_test.c $(GENL_SRC) $(GENL_HDR) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) $(KSFT_CFLAGS) $(NL_CFLAGS) -fsanitize=address,undefined -o $@ \
		$< $(GENL_SRC) $(NL_LIBS)

install-tools: install-empd
.PHONY: install-empd
install-empd: build/tools/empd
	install -d "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)/etc/emp"
	install -m 755 build/tools/empd "$(DESTDIR)$(SBINDIR)/"
	sed 's|@SBINDIR@|$(SBINDIR)|g' systemd/empd.service.in > "$(DESTDIR)$(UNITDIR)/empd.service"
	[ -e "$(DESTDIR)/etc/emp/empd.conf" ] || \
		install -m 644 systemd/empd.conf "$(DESTDIR)/etc/emp/empd.conf"
