#!/usr/bin/env bash
# fetch.sh - get the kernels of tests/kernels/kernels.list into the cache.
#
# usage: tests/kernels/fetch.sh [NAME...]          (default: every kernel of the list)
#        tests/kernels/fetch.sh --path NAME        print the cached kernel root of NAME
#
# For each kernel: find the newest package matching the list's regex in the
# list's suite, `apt-get download` it, unpack it with `dpkg-deb -x` into
# $KERNELS_CACHE/PACKAGE_VERSION/, run `depmod -b` there (the package ships
# no modules.dep; the guest's modprobe needs one), and point the link
# $KERNELS_CACHE/NAME at it.  Nothing is installed on the host.
#
# The cache lives outside build/ so that `make clean` keeps it (each kernel
# is a ~100 MB download).  KERNELS_CACHE overrides it (default
# /var/cache/xdpsec/kernels); `rm -rf` it to start over.  A kernel already in
# the cache is reused without network access unless KERNELS_REFRESH=1, which
# looks for a newer package (and keeps the old one if the lookup fails).
#
# Suites the host's apt sources do not carry are read through a private
# sources list and lists folder under $KERNELS_CACHE/apt/SUITE/, on the same
# mirrors the host uses (taken from its sources), so the host's apt state is
# untouched.  Needs apt, dpkg and kmod (depmod).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
LIST=${KERNELS_LIST:-$HERE/kernels.list}
CACHE=${KERNELS_CACHE:-/var/cache/xdpsec/kernels}

die() { echo "fetch.sh: $*" >&2; exit 1; }

# kernels.list lines: NAME SUITE REGEX
entry() {
	awk -v n="$1" '$1 == n && $1 !~ /^#/ { print $2, $3; found = 1 } END { exit !found }' "$LIST"
}
names() { awk '$1 !~ /^#/ && NF >= 3 { print $1 }' "$LIST"; }

# The host's configured suites and mirrors (deb822 .sources and one-line .list).
host_sources() {
	{
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			awk 'BEGIN { RS = ""; FS = "\n" }
			     { u = ""; s = ""; t = "";
			       for (i = 1; i <= NF; i++) {
				   if ($i ~ /^URIs:/)   { u = $i; sub(/^URIs:[ \t]*/, "", u) }
				   if ($i ~ /^Suites:/) { s = $i; sub(/^Suites:[ \t]*/, "", s) }
				   if ($i ~ /^Types:/)  { t = $i }
			       }
			       if (t ~ /deb( |$)/ && u != "") { n = split(s, a, /[ \t]+/); for (j = 1; j <= n; j++) print u, a[j] } }' "$f"
		done
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i, $(i + 1) }' "$f"
		done
	} | sort -u
}

host_has_suite() { host_sources | awk -v s="$1" '$2 == s { f = 1 } END { exit !f }'; }

# Mirrors for a suite the host lacks: the host's main archive and its security archive.
mirror_main() { host_sources | awk '$2 !~ /-security$/ && $1 !~ /security/ { print $1; exit }'; }
mirror_security() { host_sources | awk '$2 ~ /-security$/ { print $1; exit }'; }

# apt options for SUITE: nothing (host lists) or a private state.
apt_opts() {
	local suite=$1 d
	if host_has_suite "$suite"; then
		return 0
	fi
	d=$CACHE/apt/$suite
	printf '%s\n' -o "Dir::Etc::sourcelist=$d/sources.list" -o "Dir::Etc::sourceparts=$d/sources.list.d" \
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache"
}

private_update() {
	local suite=$1 d main sec
	d=$CACHE/apt/$suite
	main=$(mirror_main); sec=$(mirror_security)
	[ -n "$main" ] || die "no Debian mirror in the host's apt sources"
	mkdir -p "$d/sources.list.d" "$d/lists/partial" "$d/cache/archives/partial"
	{
		echo "deb $main $suite main"
		echo "deb $main $suite-updates main"
		[ -n "$sec" ] && echo "deb $sec $suite-security main"
	} > "$d/sources.list"
	mapfile -t o < <(apt_opts "$suite")
	apt-get "${o[@]}" -qq update >&2 || echo "fetch.sh: apt-get update for $suite reported errors" >&2
}

# newest package name matching REGEX in SUITE, with its candidate version
resolve() {
	local suite=$1 re=$2 o pkg
	mapfile -t o < <(apt_opts "$suite")
	if [ ${#o[@]} -gt 0 ]; then
		private_update "$suite"
	fi
	pkg=$(apt-cache "${o[@]}" pkgnames linux-image- 2>/dev/null | grep -E "$re" | sort -V | tail -1 || true)
	if [ -z "$pkg" ] && [ ${#o[@]} -eq 0 ]; then
		apt-get -qq update >&2 || true    # a fresh machine may have no lists yet
		pkg=$(apt-cache pkgnames linux-image- 2>/dev/null | grep -E "$re" | sort -V | tail -1 || true)
	fi
	[ -n "$pkg" ] || return 1
	echo "$pkg $(apt-cache "${o[@]}" policy "$pkg" | awk '/Candidate:/ { print $2 }')"
}

unpack() {
	local name=$1 suite=$2 pkg=$3 ver=$4 o dir tmp deb kver
	dir=$CACHE/${pkg}_${ver}
	if [ ! -f "$dir/.complete" ]; then
		mapfile -t o < <(apt_opts "$suite")
		tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
		echo "fetch.sh: $name: apt-get download $pkg=$ver ($suite)" >&2
		(cd "$tmp" && apt-get "${o[@]}" -o APT::Sandbox::User=root -qq download "$pkg=$ver" >&2) ||
			{ rm -rf "$tmp"; die "$name: apt-get download $pkg=$ver failed"; }
		deb=$(ls "$tmp"/*.deb)
		rm -rf "$dir" && mkdir -p "$dir"
		dpkg-deb -x "$deb" "$dir"
		rm -rf "$tmp"
		# modules are under lib/modules or usr/lib/modules depending on the release
		if [ ! -d "$dir/lib/modules" ] && [ -d "$dir/usr/lib/modules" ]; then
			ln -s usr/lib "$dir/lib"
		fi
		kver=$(basename "$(ls -d "$dir"/lib/modules/* | head -1)")
		depmod -b "$dir" "$kver"
		printf '%s\n' "$pkg" "$ver" "$kver" "$suite" > "$dir/.complete"
	fi
	ln -sfn "${pkg}_${ver}" "$CACHE/$name"
}

fetch_one() {
	local name=$1 e suite re r
	e=$(entry "$name") || die "no kernel '$name' in $LIST"
	read -r suite re <<< "$e"
	if [ -f "$CACHE/$name/.complete" ] && [ "${KERNELS_REFRESH:-0}" != 1 ]; then
		return 0
	fi
	mkdir -p "$CACHE"
	if ! r=$(resolve "$suite" "$re"); then
		[ -f "$CACHE/$name/.complete" ] && { echo "fetch.sh: $name: lookup failed, keeping the cached kernel" >&2; return 0; }
		die "$name: no package matching '$re' in $suite"
	fi
	read -r pkg ver <<< "$r"
	unpack "$name" "$suite" "$pkg" "$ver"
}

if [ "${1:-}" = --path ]; then
	[ -f "$CACHE/$2/.complete" ] || fetch_one "$2"
	readlink -f "$CACHE/$2"
	exit 0
fi

[ $# -gt 0 ] || set -- $(names)
for n in "$@"; do
	fetch_one "$n"
	read -r pkg ver kver suite < <(tr '\n' ' ' < "$CACHE/$n/.complete"; echo)
	printf '%-6s %-34s %-22s %s\n' "$n" "$pkg" "$ver" "$(readlink -f "$CACHE/$n")"
done
