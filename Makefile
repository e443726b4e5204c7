# herd: build with `make`, test with `make check` (as root: system tests use
# network namespaces). See README.md.

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CC ?= cc
CLANG ?= clang
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wno-missing-field-initializers -Isrc -I/usr/include/postgresql -DHERD_VERSION='"$(VERSION)"' -MMD -MP
CFLAGS ?= -O2 -g
LIBS := -linih -lcap-ng -lmnl -lseccomp -lmicrohttpd -larchive -lpq
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SRCS_LIB := $(wildcard src/core/*.c src/conf/*.c src/tftp/*.c src/syslog/*.c src/dhcp/*.c \
	src/boot/*.c src/files/*.c src/http/*.c src/inventory/*.c src/swarm/*.c src/image/*.c src/ops/*.c \
	src/cluster/*.c)
SRCS_MAIN := $(wildcard src/cmd/*.c) src/main.c
# Generated sources: the node initramfs's /init, embedded as a C array.
SRCS_GEN := build/gen/image/node_init.c build/gen/ops/dashboard.c
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
FUZZERS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

OBJ_REL := $(patsubst %.c,build/rel/%.o,$(SRCS_LIB) $(SRCS_GEN) $(SRCS_MAIN))
OBJ_SAN_LIB := $(patsubst %.c,build/san/%.o,$(SRCS_LIB) $(SRCS_GEN))
OBJ_SAN_MAIN := $(patsubst %.c,build/san/%.o,$(SRCS_MAIN))

.PHONY: all check unit replay system fuzz clean format install uninstall
all: build/herd

build/herd: $(OBJ_REL)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -c -o $@ $<

build/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 -g $(SAN) -c -o $@ $<

# src/image/node_init.sh as bytes (od: no xxd needed), with its length.
build/gen/image/node_init.c: src/image/node_init.sh
	@mkdir -p $(dir $@)
	{ echo '/* generated from $< by the Makefile */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char initramfs_node_init[];'; \
	  echo 'extern const size_t initramfs_node_init_len;'; \
	  echo 'const unsigned char initramfs_node_init[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const size_t initramfs_node_init_len = sizeof(initramfs_node_init);'; } >$@.tmp
	mv $@.tmp $@

# src/ops/dashboard.html the same way: the ops listener serves it at /.
build/gen/ops/dashboard.c: src/ops/dashboard.html
	@mkdir -p $(dir $@)
	{ echo '/* generated from $< by the Makefile */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char ops_dashboard_html[];'; \
	  echo 'extern const size_t ops_dashboard_html_len;'; \
	  echo 'const unsigned char ops_dashboard_html[] = {'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const size_t ops_dashboard_html_len = sizeof(ops_dashboard_html);'; } >$@.tmp
	mv $@.tmp $@

# The sanitizer build of herd is the one the system tests run.
build/herd-san: $(OBJ_SAN_LIB) $(OBJ_SAN_MAIN)
	$(CC) $(SAN) -o $@ $^ $(LIBS)

build/unit/%: build/san/tests/unit/%.o $(OBJ_SAN_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LIBS) -lcmocka

# The seccomp filter lives with the other confinement steps in src/cmd/.
build/unit/test_confine: build/san/src/cmd/confine.o

# Corpus replay: each fuzz target linked with a plain driver, under ASan/UBSan.
build/replay/%: build/san/tests/fuzz/fuzz_%.o build/san/tests/fuzz/replay_main.o $(OBJ_SAN_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LIBS)

# libFuzzer builds (clang): `make fuzz`, then tests/fuzz/run.sh TARGET SECONDS.
build/fuzz/%: tests/fuzz/fuzz_%.c $(SRCS_LIB) $(SRCS_GEN)
	@mkdir -p $(dir $@)
	$(CLANG) -std=c11 -D_GNU_SOURCE -Isrc -g -O1 -fsanitize=fuzzer,address,undefined \
		-DHERD_VERSION='"fuzz"' -o $@ $^ $(LIBS)

# A command-line driver of src/image/initramfs.c for the QEMU proof
# (tests/system/qemu/initramfs-direct.sh), until `herd image build` exists.
build/tools/mkinitramfs: build/rel/tests/tools/mkinitramfs.o $(patsubst %.c,build/rel/%.o,$(SRCS_LIB) $(SRCS_GEN))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

unit: $(addprefix build/unit/,$(UNIT_TESTS))
replay: $(addprefix build/replay/,$(FUZZERS))
fuzz: $(addprefix build/fuzz/,$(FUZZERS))

check: build/herd build/herd-san unit replay
	tests/run-all

# Installation, with the usual prefixes: `make install DESTDIR=/tmp/stage`,
# `make install PREFIX=/usr`. herd is a system daemon (herd(8)): sbin. The
# configuration is in /etc whatever the prefix (the unit names it), and an
# existing herd.conf is never replaced (mode 644: a reload reads it as
# [server] user). The unit names BINDIR and SYSCONFDIR.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
MANPAGES := man/herd.8 man/herd.conf.5 man/herd-nodes.5
INSTALL ?= install

install: build/herd
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/herd $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	$(INSTALL) -m 755 build/herd $(DESTDIR)$(BINDIR)/herd
	$(INSTALL) -m 644 man/herd.8 $(DESTDIR)$(MANDIR)/man8/herd.8
	$(INSTALL) -m 644 man/herd.conf.5 man/herd-nodes.5 $(DESTDIR)$(MANDIR)/man5/
	sed -e 's|/usr/sbin/herd|$(BINDIR)/herd|' -e 's|/etc/herd/|$(SYSCONFDIR)/herd/|' \
		etc/systemd/herd.service >$(DESTDIR)$(SYSTEMDUNITDIR)/herd.service.tmp
	mv $(DESTDIR)$(SYSTEMDUNITDIR)/herd.service.tmp $(DESTDIR)$(SYSTEMDUNITDIR)/herd.service
	chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/herd.service
	$(INSTALL) -m 644 etc/logrotate.d/herd $(DESTDIR)$(SYSCONFDIR)/logrotate.d/herd
	[ -e $(DESTDIR)$(SYSCONFDIR)/herd/herd.conf ] || \
		$(INSTALL) -m 644 etc/herd.conf.example $(DESTDIR)$(SYSCONFDIR)/herd/herd.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/herd/nodes.tab ] || \
		$(INSTALL) -m 644 etc/nodes.tab.example $(DESTDIR)$(SYSCONFDIR)/herd/nodes.tab

# Removes what install put there, except the configuration and inventory
# (the administrator's) and the state in /var (leases, images, node logs).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/herd $(DESTDIR)$(MANDIR)/man8/herd.8 \
		$(DESTDIR)$(MANDIR)/man5/herd.conf.5 $(DESTDIR)$(MANDIR)/man5/herd-nodes.5 \
		$(DESTDIR)$(SYSTEMDUNITDIR)/herd.service $(DESTDIR)$(SYSCONFDIR)/logrotate.d/herd

format:
	clang-format -i $(SRCS_LIB) $(SRCS_MAIN) $(wildcard src/*/*.h tests/unit/*.c tests/fuzz/*.c)

clean:
	rm -rf build

# Only the object trees: build/ also holds unpacked system-test assets, whose
# *.d files and directories are not dependency lists.
-include $(shell find build/rel build/san -name '*.d' -type f 2>/dev/null)
