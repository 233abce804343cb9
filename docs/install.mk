# docs/install.mk - installs what the top-level `make install` does not:
# man pages (built into $(BUILD)/man by `make`, from the scdoc sources),
# the systemd units, an example options file and the bash completion.
# Called by the top-level Makefile as
#   make -f docs/install.mk BUILD=... PREFIX=... DESTDIR=...
# Honours PREFIX (default /usr/local), DESTDIR (staging root) and UNITDIR.

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/xdpsec
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

# Units go where systemd looks for them (systemd.unit(5), "Unit File Load
# Path"; `systemd-analyze unit-paths` lists them):
#   PREFIX=/usr        the distribution's directory, as pkg-config says
#   PREFIX=/usr/local  /usr/local/lib/systemd/system (units installed by
#                      the administrator; on systemd's load path)
#   any other PREFIX   /etc/systemd/system: systemd never looks under /opt
ifeq ($(PREFIX),/usr)
UNITDIR  ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
else ifeq ($(PREFIX),/usr/local)
UNITDIR  ?= /usr/local/lib/systemd/system
else
UNITDIR  ?= /etc/systemd/system
endif

# The units' user (User=xdpsec): a sysusers.d file, read by
# systemd-sysusers from /usr/lib/sysusers.d and /etc/sysusers.d only.
ifeq ($(PREFIX),/usr)
SYSUSERSDIR ?= $(or $(shell pkg-config --variable=sysusersdir systemd 2>/dev/null),/usr/lib/sysusers.d)
else
SYSUSERSDIR ?= /etc/sysusers.d
endif

MANS  := $(wildcard $(BUILD)/man/*.8)
UNITS := xdpsecd.service xdpsecd@.service

.PHONY: install
install:
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR) $(BUILD)/systemd
	@if [ -n "$(MANS)" ]; then \
		echo "install -m 0644 $(MANS) $(DESTDIR)$(MANDIR)/man8/"; \
		install -d $(DESTDIR)$(MANDIR)/man8 && install -m 0644 $(MANS) $(DESTDIR)$(MANDIR)/man8/; \
	else \
		echo "install: no man pages in $(BUILD)/man (scdoc missing when building): not installed"; \
	fi
	for u in $(UNITS); do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
		    -e '/^@HARDENING@$$/{r packaging/hardening.conf' -e 'd}' \
		    packaging/$$u > $(BUILD)/systemd/$$u && \
		install -m 0644 $(BUILD)/systemd/$$u $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -d $(DESTDIR)$(SYSUSERSDIR)
	install -m 0644 packaging/xdpsec.sysusers $(DESTDIR)$(SYSUSERSDIR)/xdpsec.conf
	install -m 0644 packaging/xdpsecd.env.example $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(BUILD)/xdpsecctl.bash $(DESTDIR)$(BASHCOMPDIR)/xdpsecctl
	@echo "install: systemd units in $(DESTDIR)$(UNITDIR): xdpsecd@IFACE.service, or xdpsecd.service with /etc/xdpsec/xdpsecd.env (example in $(DOCDIR))"
	@echo "install: the units run as user xdpsec ($(DESTDIR)$(SYSUSERSDIR)/xdpsec.conf): create it with systemd-sysusers (or adduser --system --group xdpsec)"
