# docs/install.mk - installs what `make install` does not build: man pages
# (from scdoc sources), the systemd unit and the bash completion.
# Called by the top-level Makefile as
#   make -f docs/install.mk PREFIX=... DESTDIR=...
# Honours PREFIX (default /usr/local) and DESTDIR (staging root).

PREFIX   ?= /usr/local
DESTDIR  ?=
SCDOC    ?= scdoc
BUILD    ?= build
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
# systemd looks in /etc and /lib, not under /usr/local: keep the unit in
# PREFIX's tree, admins (or packagers with PREFIX=/usr) link or move it.
UNITDIR  ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

MANS := $(BUILD)/man/xdpsecd.8 $(BUILD)/man/xdpsecctl.8

.PHONY: install man
install: man
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 $(MANS) $(DESTDIR)$(MANDIR)/man8/
	sed 's|@SBINDIR@|$(SBINDIR)|g' packaging/xdpsecd.service > $(BUILD)/xdpsecd.service
	install -m 0644 $(BUILD)/xdpsecd.service $(DESTDIR)$(UNITDIR)/xdpsecd.service
	install -m 0644 packaging/xdpsecctl.bash $(DESTDIR)$(BASHCOMPDIR)/xdpsecctl

man: $(MANS)

$(BUILD)/man/%.8: docs/%.8.scd
	@mkdir -p $(dir $@)
	$(SCDOC) < $< > $@.tmp && mv $@.tmp $@
