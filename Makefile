# EMP top-level Makefile.
#
#   make [KVER=6.1|6.12 | KDIR=<headers tree>]   emp.ko + tools + selftests
#   make unit        host unit tests (no guest)
#   make test        full set-up, host unit tests, guest suite on all lines
#   make demo        full set-up, boot a guest, show emp.ko working
#   make shell KVER=6.12   interactive shell in a test guest
#   make deps        install the Debian packages the build and guests need
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
UCFLAGS  = $(CFLAGS) $(WFLAGS) -I$(EMP_TOP)/uapi -I$(EMP_TOP)/tools/lib

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

EMPCTL_SRC := $(wildcard tools/empctl/*.c)
build/tools/empctl: $(EMPCTL_SRC) tools/empctl/empctl.h $(LIBEMP) $(LIB_HDR)
	$(CC) $(UCFLAGS) -o $@ $(EMPCTL_SRC) $(LIBEMP)

# The preload library carries its own copy of libemp (built -fPIC) and
# exports only the allocator interface (tools/preload/preload.map).
build/tools/libemp-preload.so: tools/preload/preload.c tools/preload/preload.map $(LIB_SRC) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) -fPIC -shared -fvisibility=hidden -Wl,-z,defs \
		-Wl,--version-script=tools/preload/preload.map -o $@ $< $(LIB_SRC) -lmimalloc

selftests: $(SELFTESTS) $(UNITTESTS)

build/selftests/%: selftests/%.c $(LIBEMP) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(UCFLAGS) $(KSFT_CFLAGS) -o $@ $< $(LIBEMP) -lpthread

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

clean:
	rm -rf build

# --- vmd: the donor daemon, its test client and fuzzer (tools/vmd/) ----------
VMD_DIR  := tools/vmd
VMD_HDR  := $(VMD_DIR)/wire.h $(VMD_DIR)/vmd.h uapi/linux/emp_wire.h
VMD_BINS := build/tools/vmd build/tools/vmd-client build/tools/vmd-fuzz
VMD_CFLAGS = $(UCFLAGS) -I$(EMP_TOP)/$(VMD_DIR) -D_GNU_SOURCE -pthread

tools: $(VMD_BINS)

# Only libemp's size helpers: vmd does not need the rest.
build/tools/vmd: $(VMD_DIR)/vmd.c $(VMD_DIR)/tcp.c $(VMD_DIR)/rdma.c $(VMD_DIR)/wire.c \
		 tools/lib/emp_size.c $(VMD_HDR)
	@mkdir -p $(@D)
	$(CC) $(VMD_CFLAGS) -o $@ $(filter %.c,$^) -lrdmacm -libverbs

build/tools/vmd-client: $(VMD_DIR)/vmd-client.c $(VMD_DIR)/client.c $(VMD_DIR)/wire.c \
			$(VMD_DIR)/client.h $(VMD_HDR)
	@mkdir -p $(@D)
	$(CC) $(VMD_CFLAGS) -o $@ $(filter %.c,$^) -lrdmacm -libverbs

build/tools/vmd-fuzz: $(VMD_DIR)/vmd-fuzz.c $(VMD_DIR)/client.c $(VMD_DIR)/wire.c \
		      $(VMD_DIR)/client.h $(VMD_HDR)
	@mkdir -p $(@D)
	$(CC) $(VMD_CFLAGS) -o $@ $(filter %.c,$^)

build/unit/wire_test: selftests/unit/wire_test.c $(VMD_DIR)/wire.c $(VMD_HDR)
	@mkdir -p $(@D)
	$(CC) $(VMD_CFLAGS) $(KSFT_CFLAGS) -fsanitize=address,undefined -o $@ $(filter %.c,$^)
