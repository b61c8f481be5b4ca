# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# tollgate build. `make help` lists the targets. Quiet by default; `make V=1`
# shows every command. All output goes to $(OUTPUT) except the binary.

OUTPUT ?= .output
override OUTPUT := $(abspath $(OUTPUT))

CC ?= cc
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
			-e 's/ppc64le/powerpc/' -e 's/riscv64/riscv/')
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

BIN := tollgate

# Debian packages that build, run and test tollgate.
DEPS_BUILD := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config \
	      make gcc libc6-dev libclang-rt-14-dev libyaml-dev libjson-c-dev \
	      libsqlite3-dev libmicrohttpd-dev libgnutls28-dev libcrypt-dev \
	      libpq-dev
# The natural day of the ledger comes from the system time-zone database.
DEPS_RUN := tzdata
DEPS_TEST := libcmocka-dev iproute2 ethtool jq iperf3 nginx-light wrk curl \
	     socat procps kmod tcpdump prometheus openssl python3 \
	     postgresql-15 util-linux
# zic, which makes test_midnight.sh a time zone of its own.
DEPS_TEST += libc-bin
# make test-deploy: the unit's score, the man page, the package, the manifest.
DEPS_TEST += systemd groff-base dpkg-dev python3-yaml
# make fuzz: the references the HTTP request counter and the names of
# requests are fuzzed against.
DEPS_TEST += libhttp-parser-dev libnghttp2-dev
# The TLS tests: where the agent's hooks go in libssl (readelf, objdump),
# and the gateway's writes that found its socket full (bpftrace).
DEPS_TEST += binutils bpftrace
# test_names.sh: names of cleartext HTTP/2 requests, under load (h2load).
DEPS_TEST += nghttp2-client
DEPS := $(DEPS_BUILD) $(DEPS_RUN) $(DEPS_TEST)

INCLUDES := -I$(OUTPUT) -Iinclude -Iuser \
	    $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
CFLAGS ?= -g -O2
WARNINGS := -Wall -Wextra -Werror -Wmissing-prototypes -Wno-unused-parameter
ALL_CFLAGS := $(CFLAGS) $(WARNINGS) -std=gnu11 -D_GNU_SOURCE \
	      -DTOLLGATE_VERSION='"$(VERSION)"' $(INCLUDES) $(EXTRA_CFLAGS)
LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
# libelf for the loader's own reading of TLS libraries (load/tlssite.c).
LIBS += -lelf
# Configuration and price plans (YAML), IP-range files and usage records
# (JSON), the ledger (SQLite), the fleet ledger (PostgreSQL's libpq).
LIBS += -lyaml -ljson-c -lsqlite3 -lpq
# The metrics endpoint (libmicrohttpd, its own threads), bcrypt passwords,
# and GnuTLS (libmicrohttpd's TLS) for the HMAC of passwords that passed.
LIBS += -lmicrohttpd -lcrypt -lgnutls -lpthread
ALL_LDFLAGS := $(LDFLAGS) $(EXTRA_LDFLAGS)

BPF_CFLAGS := -g -O2 -mcpu=v3 -Wall -Werror -target bpf \
	      -D__TARGET_ARCH_$(ARCH) $(INCLUDES) -Ibpf $(BPF_DEFS)
# clang -target bpf knows no system include paths: borrow the host's, after
# our own, so that asm/types.h and friends resolve (libbpf-bootstrap does so).
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

BPF_APPS := meter sockiter
BPF_HEADERS := $(wildcard bpf/*.bpf.h) $(wildcard include/*.h) $(OUTPUT)/vmlinux.h
SKELS := $(patsubst %,$(OUTPUT)/%.skel.h,$(BPF_APPS))

# user/ holds a folder per stage of the data path (load, collect,
# classify, ledger, rate, export), the commands (cmd) and shared helpers
# (lib); objects mirror that tree under $(OUTPUT).
USER_SRCS := $(wildcard user/*.c user/*/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(OUTPUT)/user/main.o,$(USER_OBJS))

# Unit tests run under AddressSanitizer and UndefinedBehaviorSanitizer, on
# their own build of the user code.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=all
SAN_OBJS := $(patsubst $(OUTPUT)/user/%,$(OUTPUT)/san/%,$(LIB_OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
BPFTEST_SRCS := $(wildcard tests/bpf/test_*.c)
BPFTEST_BINS := $(patsubst tests/bpf/%.c,$(OUTPUT)/tests/%,$(BPFTEST_SRCS))
TEST_LIBS := $(LIBS) -lcmocka
# Helpers the end-to-end tests run: a client from many addresses, a
# reader of counters at an instant.
E2E_HELPERS := $(OUTPUT)/tests/manyconn $(OUTPUT)/tests/readat
# The benchmark's programs: built with the tests, so that a change that
# breaks `make bench` fails `make test` too.
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(OUTPUT)/tests/%,$(BENCH_SRCS))
# And the agent stopped after each step of its receive program
# (TG_RECV_STOP, bpf/calls.bpf.h), each built whole in a folder of its own.
RECV_STOPS := 1 2 3 4
RECV_BINS := $(foreach n,$(RECV_STOPS),$(OUTPUT)/recv$(n)/$(BIN))

ifeq ($(V),1)
	Q =
	msg =
else
	Q = @
	msg = @printf '  %-8s %s\n' "$(1)" "$(patsubst $(abspath .)/%,%,$(2))";
	MAKEFLAGS += --no-print-directory
endif

# And a TLS client that sends its ClientHello in pieces, and a UDP
# server that tears its socket's peer cache.
E2E_HELPERS += $(OUTPUT)/tests/tlssplit $(OUTPUT)/tests/sockcache

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps run test test-build test-unit test-bpf test-e2e test-deploy \
	bench bench-metrics bench-collect clean help \
	vmlinux FORCE

all: $(BIN)

help:
	@echo 'Targets:'
	@echo '  all        build ./$(BIN) (default)'
	@echo '  deps       install missing Debian packages (needs root)'
	@echo '  run        deps, build, run the agent on the default configuration'
	@echo '  test       deps, build, run every test (unit, BPF, end to end)'
	@echo '  test-unit  cmocka unit tests under ASan and UBSan'
	@echo '  test-bpf   BPF programs on crafted packets (root)'
	@echo '  test-e2e   network-namespace end-to-end tests (root)'
	@echo '  test-deploy  unit hardening, man page, install, package (some root);'
	@echo '             Prometheus rules and Grafana dashboard (promtool, jq)'
	@echo '  bench      per-packet cost and throughput with/without the agent'
	@echo '  bench-metrics  render and scrape time of /metrics, 1,000 and 10,000 series'
	@echo '  bench-collect  collection time and map memory with 10^4, 10^5 and 10^6 peers (root)'
	@echo '  fuzz       parsers under libFuzzer, bounded: configuration, range'
	@echo '             files, time-zone files, ledger import, price plans; the'
	@echo '             HTTP request counter against http-parser and nghttp2;'
	@echo '             the names of requests (Host, :authority, SNI)'
	@echo '  fuzz-seeds regenerate the HTTP/2 seed corpora (nghttp2 HPACK)'
	@echo '  vmlinux    regenerate vmlinux/$(ARCH)/vmlinux.h from this kernel'
	@echo '  install    install binary, man page, unit, examples, plans'
	@echo '  uninstall  remove what install put there, not your configuration'
	@echo '  deb        build a Debian package in $(OUTPUT)/'
	@echo '  clean      remove build output'
	@echo 'Variables: V=1 (show commands), OUTPUT=dir, CC, CLANG, BPFTOOL,'
	@echo '  VMLINUX_BTF=path, EXTRA_CFLAGS, EXTRA_LDFLAGS, RUN_ARGS (make run),'
	@echo '  FUZZ_TIME=seconds per fuzz target (make fuzz),'
	@echo '  BENCH_COLLECT_PEERS, BENCH_COLLECT_ROUNDS (make bench-collect, bench),'
	@echo '  PREFIX (/usr/local), DESTDIR, bindir, mandir, sysconfdir (/etc),'
	@echo '  datadir, systemdunitdir, sysusersdir (make install)'

deps:
	$(Q)missing=$$(for p in $(DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
			grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "  DEPS     installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make deps: need root to install:" $$missing >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing \
			>/dev/null || exit 1; \
	fi

# run and test install first, then build in a fresh make, which sees the
# tools that deps may just have installed.
run: deps
	$(Q)$(MAKE) all
	./$(BIN) run $(RUN_ARGS)

test: deps
	$(Q)$(MAKE) test-build
	$(Q)tests/run-all.sh

test-build: all $(UNIT_BINS) $(BPFTEST_BINS) $(E2E_HELPERS) $(BENCH_BINS)

test-unit: $(UNIT_BINS)
	$(Q)tests/run-all.sh unit

test-bpf: $(BPFTEST_BINS) $(BIN)
	$(Q)tests/run-all.sh bpf

test-e2e: $(BIN)
	$(Q)tests/run-all.sh e2e

test-deploy: $(BIN)
	$(Q)tests/run-all.sh deploy

bench: deps
	$(Q)$(MAKE) all $(BENCH_BINS) $(RECV_BINS)
	$(Q)OUTPUT=$(OUTPUT) BENCH_COLLECT_PEERS="$(BENCH_COLLECT_PEERS)" \
		BENCH_COLLECT_ROUNDS=$(BENCH_COLLECT_ROUNDS) tests/bench/run.sh

bench-metrics: $(OUTPUT)/tests/bench_metrics
	$(Q)$(OUTPUT)/tests/bench_metrics $(BENCH_RUNS)

BENCH_COLLECT_PEERS ?= 10000 100000 1000000
BENCH_COLLECT_ROUNDS ?= 20

bench-collect: $(OUTPUT)/tests/bench_collect
	$(Q)$(OUTPUT)/tests/bench_collect -r $(BENCH_COLLECT_ROUNDS) \
		$(BENCH_COLLECT_PEERS)

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/san $(OUTPUT)/tests:
	$(call msg,MKDIR,$@)
	$(Q)mkdir -p $@

# vmlinux.h: the running kernel's BTF when there is one, else the checked-in
# copy. Written through a temporary file so an unchanged kernel rebuilds
# nothing.
$(OUTPUT)/vmlinux.h: FORCE | $(OUTPUT)
	$(Q)if [ -r $(VMLINUX_BTF) ] && command -v $(BPFTOOL) >/dev/null; then \
		$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp; \
	else \
		cp vmlinux/$(ARCH)/vmlinux.h $@.tmp; \
	fi; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else \
		printf '  %-8s %s\n' GEN vmlinux.h; mv $@.tmp $@; fi

vmlinux:
	$(call msg,GEN,vmlinux/$(ARCH)/vmlinux.h)
	$(Q)mkdir -p vmlinux/$(ARCH)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > vmlinux/$(ARCH)/vmlinux.h

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HEADERS) Makefile | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# The built-in price plans are the files of deploy/plans, compiled in as
# C strings: one source for both.
PLAN_FILES := $(sort $(wildcard deploy/plans/*.yaml))

$(OUTPUT)/plans.inc: $(PLAN_FILES) Makefile | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)for f in $(PLAN_FILES); do \
		printf '{ "%s",\n' "$$(basename $$f .yaml)"; \
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' \
			-e 's/$$/\\n"/' $$f; \
		printf '},\n'; \
	done > $@

$(OUTPUT)/user/rate/plan.o $(OUTPUT)/san/rate/plan.o: $(OUTPUT)/plans.inc

$(OUTPUT)/user/%.o: user/%.c $(SKELS) Makefile | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/san/%.o: user/%.c $(SKELS) Makefile | $(OUTPUT)/san
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(BIN): $(USER_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ $(ALL_LDFLAGS) $(LIBS) -o $@

$(OUTPUT)/recv%/$(BIN): FORCE
	$(Q)$(MAKE) OUTPUT=$(OUTPUT)/recv$* BIN=$@ BPF_DEFS=-DTG_RECV_STOP=$* $@

$(OUTPUT)/tests/manyconn: tests/e2e/manyconn.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -o $@

$(OUTPUT)/tests/readat: tests/e2e/readat.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -o $@

$(OUTPUT)/tests/tlssplit: tests/e2e/tlssplit.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -lssl -lcrypto -o $@

$(OUTPUT)/tests/sockcache: tests/e2e/sockcache.c include/meter.h | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< -lbpf -o $@

# Seams: a unit test may replace library calls with its own __wrap_ ones.
WRAP_privs := -Wl,--wrap=bpf_map_lookup_elem
WRAP_sizing := -Wl,--wrap=libbpf_num_possible_cpus
# The names' HPACK cases are made and checked by libnghttp2.
WRAP_names := -lnghttp2

$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(SAN_OBJS) | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -MMD -MP $< $(SAN_OBJS) \
		$(ALL_LDFLAGS) $(WRAP_$*) $(TEST_LIBS) -o $@

$(OUTPUT)/tests/test_%: tests/bpf/test_%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP $< $(LIB_OBJS) $(ALL_LDFLAGS) \
		$(TEST_LIBS) -o $@

# The benchmarks share the BPF tests' headers: the per-packet one builds
# its packets with pkt.h, the collection one reads map memory with memlock.h.
$(OUTPUT)/tests/bench_%: tests/bench/bench_%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/bpf -MMD -MP $< $(LIB_OBJS) \
		$(ALL_LDFLAGS) $(LIBS) -o $@

# The benchmark's own BPF objects, never loaded by the agent: empty
# programs (the floor), the meter's per-packet programs built to reach
# their fast path in test runs, and built to stop after a step of it. Each
# is its own bpf/*.bpf.c over the meter's headers.
$(OUTPUT)/tests/bench_prog: $(OUTPUT)/bench.skel.h $(OUTPUT)/benchfast.skel.h \
	$(OUTPUT)/benchsocket.skel.h $(OUTPUT)/benchstorage.skel.h \
	$(OUTPUT)/benchtls.skel.h

# Fuzz targets: libFuzzer with ASan and UBSan, over the parsers only (no
# BPF, no skeletons): configuration, range files, time-zone files, ledger
# import records, price plans, include/http.h's request counter against
# reference parsers (http-parser, nghttp2), and include/names.h's names
# (Host, SNI; :authority against nghttp2's HPACK inflater).
# tests/fuzz/run.sh runs each for FUZZ_TIME seconds on a copy of its seed
# corpus in tests/fuzz/corpus/<target>/.
FUZZ_TIME ?= 20
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIB := classify/cidr classify/ranges classify/config classify/hosts \
	    lib/tgerr \
	    ledger/records ledger/ledger ledger/delta ledger/tz lib/util \
	    lib/log rate/plan classify/traffic
FUZZ_OBJS := $(patsubst %,$(OUTPUT)/fuzz/%.o,$(FUZZ_LIB))
# lib/log routes libbpf's messages: the only reason for libbpf here.
FUZZ_LIBS := -lyaml -ljson-c -lsqlite3 -lhttp_parser -lnghttp2 \
	     $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf)
FUZZ_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	      -fno-omit-frame-pointer

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	$(Q)FUZZ_TIME=$(FUZZ_TIME) OUTPUT=$(OUTPUT) tests/fuzz/run.sh

$(OUTPUT)/fuzz:
	$(call msg,MKDIR,$@)
	$(Q)mkdir -p $@

$(OUTPUT)/fuzz/rate/plan.o: $(OUTPUT)/plans.inc

$(OUTPUT)/fuzz/%.o: user/%.c Makefile | $(OUTPUT)/fuzz
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(ALL_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link \
		-MMD -MP -c $< -o $@

$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS) | $(OUTPUT)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(ALL_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -MMD -MP \
		$< $(FUZZ_OBJS) $(ALL_LDFLAGS) $(FUZZ_LIBS) -o $@

# fuzz_http2's and fuzz_hpack's seeds, with header blocks from nghttp2's
# HPACK deflater: made by hand with `make fuzz-seeds`, and checked in.
.PHONY: fuzz-seeds
fuzz-seeds: $(OUTPUT)/fuzz/gen_h2 $(OUTPUT)/fuzz/gen_hpack
	$(Q)$(OUTPUT)/fuzz/gen_h2 tests/fuzz/corpus/fuzz_http2
	$(Q)mkdir -p tests/fuzz/corpus/fuzz_hpack
	$(Q)$(OUTPUT)/fuzz/gen_hpack tests/fuzz/corpus/fuzz_hpack

$(OUTPUT)/fuzz/gen_%: tests/fuzz/gen_%.c | $(OUTPUT)/fuzz
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP $< $(ALL_LDFLAGS) -lnghttp2 -o $@

# ---------------------------------------------------------------------------
# Installing. The usual GNU variables; sysconfdir is /etc whatever the
# prefix, because that is where tollgate looks for its configuration.
# A configuration of the user's is never overwritten: the example lands
# beside it, and /etc/default/tollgate only when there is none, 0600 since
# it may hold the fleet ledger's password (TOLLGATE_SHIP).
PREFIX ?= /usr/local
prefix ?= $(PREFIX)
exec_prefix ?= $(prefix)
bindir ?= $(exec_prefix)/bin
datarootdir ?= $(prefix)/share
datadir ?= $(datarootdir)
mandir ?= $(datarootdir)/man
docdir ?= $(datarootdir)/doc/tollgate
sysconfdir ?= /etc
systemdunitdir ?= $(prefix)/lib/systemd/system
sysusersdir ?= $(prefix)/lib/sysusers.d
INSTALL ?= install
DESTDIR ?=

INSTALL_FILES := $(DESTDIR)$(bindir)/$(BIN) \
	$(DESTDIR)$(mandir)/man8/tollgate.8 \
	$(DESTDIR)$(systemdunitdir)/tollgate.service \
	$(DESTDIR)$(sysusersdir)/tollgate.conf \
	$(DESTDIR)$(sysconfdir)/tollgate/tollgate.yaml.example \
	$(patsubst deploy/plans/%,$(DESTDIR)$(datadir)/tollgate/plans/%,$(PLAN_FILES))

.PHONY: install uninstall deb
install: $(BIN)
	$(call msg,INSTALL,$(DESTDIR)$(prefix))
	$(Q)$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(mandir)/man8 \
		$(DESTDIR)$(systemdunitdir) $(DESTDIR)$(sysusersdir) \
		$(DESTDIR)$(sysconfdir)/tollgate $(DESTDIR)$(sysconfdir)/default \
		$(DESTDIR)$(datadir)/tollgate/plans
	$(Q)$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(bindir)/$(BIN)
	$(Q)$(INSTALL) -m 0644 man/tollgate.8 $(DESTDIR)$(mandir)/man8/tollgate.8
	$(Q)sed 's|/usr/bin/tollgate|$(bindir)/tollgate|' deploy/tollgate.service \
		> $(DESTDIR)$(systemdunitdir)/tollgate.service
	$(Q)chmod 0644 $(DESTDIR)$(systemdunitdir)/tollgate.service
	$(Q)$(INSTALL) -m 0644 deploy/tollgate.sysusers \
		$(DESTDIR)$(sysusersdir)/tollgate.conf
	$(Q)$(INSTALL) -m 0644 deploy/tollgate.yaml \
		$(DESTDIR)$(sysconfdir)/tollgate/tollgate.yaml.example
	$(Q)if [ -e $(DESTDIR)$(sysconfdir)/default/tollgate ]; then \
		[ -z "$$(find $(DESTDIR)$(sysconfdir)/default/tollgate -perm /077)" ] || \
		echo "  NOTE     $(DESTDIR)$(sysconfdir)/default/tollgate is readable" \
			"by others: 'chmod 600' it if it holds TOLLGATE_SHIP"; \
	else \
		$(INSTALL) -m 0600 deploy/tollgate.default \
			$(DESTDIR)$(sysconfdir)/default/tollgate; fi
	$(Q)$(INSTALL) -m 0644 $(PLAN_FILES) $(DESTDIR)$(datadir)/tollgate/plans/
	$(Q)if [ -z "$(DESTDIR)" ] && ! getent passwd tollgate >/dev/null; then \
		echo "  NOTE     the service runs as user tollgate: make it with" \
			"'systemd-sysusers $(sysusersdir)/tollgate.conf'"; fi

# Leaves the user's configuration (tollgate.yaml, /etc/default/tollgate),
# the ledger in /var/lib/tollgate and the user tollgate.
uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(prefix))
	$(Q)rm -f $(INSTALL_FILES)
	$(Q)rmdir $(DESTDIR)$(datadir)/tollgate/plans $(DESTDIR)$(datadir)/tollgate \
		$(DESTDIR)$(sysconfdir)/tollgate 2>/dev/null || true

# A Debian package, from a staging tree and dpkg-deb: no debian/ source
# tree, no debhelper. Run-time dependencies come from dpkg-shlibdeps
# (the libraries the binary links) plus DEB_DEPENDS.
DEB_ARCH = $(shell dpkg --print-architecture)
DEB_VERSION ?= $(VERSION)-1
DEB_DEPENDS := $(shell echo $(DEPS_RUN) adduser | sed 's/  */, /g')
DEB_STAGE := $(OUTPUT)/deb
DEB_FILE = $(OUTPUT)/tollgate_$(DEB_VERSION)_$(DEB_ARCH).deb

deb: $(BIN)
	$(call msg,DEB,$(DEB_FILE))
	$(Q)rm -rf $(DEB_STAGE) && mkdir -p $(DEB_STAGE)/root/DEBIAN \
		$(DEB_STAGE)/debian
	$(Q)$(MAKE) install DESTDIR=$(DEB_STAGE)/root prefix=/usr \
		sysconfdir=/etc systemdunitdir=/lib/systemd/system \
		sysusersdir=/usr/lib/sysusers.d Q=@ >/dev/null
	$(Q)strip --strip-unneeded $(DEB_STAGE)/root/usr/bin/$(BIN)
	$(Q)gzip -9n $(DEB_STAGE)/root/usr/share/man/man8/tollgate.8
	$(Q)$(INSTALL) -d $(DEB_STAGE)/root/usr/share/doc/tollgate
	$(Q)$(INSTALL) -m 0644 deploy/debian/copyright README.md \
		$(DEB_STAGE)/root/usr/share/doc/tollgate/
	$(Q)$(INSTALL) -d $(DEB_STAGE)/root/usr/share/doc/tollgate/docs
	$(Q)$(INSTALL) -m 0644 docs/*.md \
		$(DEB_STAGE)/root/usr/share/doc/tollgate/docs/
	$(Q)$(INSTALL) -m 0755 deploy/debian/postinst deploy/debian/prerm \
		deploy/debian/postrm $(DEB_STAGE)/root/DEBIAN/
	$(Q)cd $(DEB_STAGE)/root && find etc -type f | sed 's|^|/|' | sort \
		> DEBIAN/conffiles
	$(Q)printf 'Source: tollgate\n\nPackage: tollgate\nArchitecture: any\n' \
		> $(DEB_STAGE)/debian/control
	$(Q)cd $(DEB_STAGE) && dpkg-shlibdeps -O root/usr/bin/$(BIN) \
		2>/dev/null > shlibs.vars
	$(Q){ echo "Package: tollgate"; \
	  echo "Version: $(DEB_VERSION)"; \
	  echo "Architecture: $(DEB_ARCH)"; \
	  echo "Maintainer: tollgate developers <tollgate@localhost>"; \
	  echo "Installed-Size: $$(du -sk --exclude=DEBIAN $(DEB_STAGE)/root | cut -f1)"; \
	  echo "Depends: $$(sed -n 's/^shlibs:Depends=//p' $(DEB_STAGE)/shlibs.vars), $(DEB_DEPENDS)"; \
	  echo "Section: net"; \
	  echo "Priority: optional"; \
	  echo "Description: eBPF traffic meter for API-gateway hosts"; \
	  echo " tollgate counts, in the kernel, the IP bytes and packets of a"; \
	  echo " gateway's sockets per peer and direction, exactly, and books them"; \
	  echo " into a usage ledger for billing."; \
	} > $(DEB_STAGE)/root/DEBIAN/control
	$(Q)grep -q '^Depends: lib' $(DEB_STAGE)/root/DEBIAN/control || \
		{ echo "make deb: dpkg-shlibdeps found no libraries" >&2; exit 1; }
	$(Q)dpkg-deb --root-owner-group -Zxz --build $(DEB_STAGE)/root $(DEB_FILE) \
		>/dev/null

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf $(OUTPUT) $(BIN)

-include $(wildcard $(OUTPUT)/user/*.d $(OUTPUT)/user/*/*.d $(OUTPUT)/san/*.d \
	$(OUTPUT)/san/*/*.d $(OUTPUT)/tests/*.d $(OUTPUT)/fuzz/*.d \
	$(OUTPUT)/fuzz/*/*.d)
