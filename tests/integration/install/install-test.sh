#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Intent: what an operator installs works as documented (README.md "Install"):
#   - `cmake --install` (DESTDIR, prefix /usr/local) lays out the binaries (longhaul-holder beside
#     longhauld), wan-lab with its emulator, the unit, the four man pages and the example config;
#   - the man pages render without a groff warning; systemd-analyze accepts the unit (and finds its
#     Documentation= pages);
#   - longhaul-certs makes a CA and two site certificates (SAN = the name, keys 0600) that the example
#     config, pointed at them, passes `longhauld --check` with, for both sites; a missing key fails it;
#   - with those certificates the two sites' longhauld (installed binaries) bring up all WAN streams to each
#     other, i.e. each accepts the other's certificate for its peer_name (a network namespace, 198.18.0.1-2);
#   - cpack -G DEB builds a package with the runtime dependencies, `dpkg -i` installs it, the installed
#     unit verifies and the installed longhauld checks the config; it is purged again, always.
# Network only in its own namespace. The dpkg steps hold a flock on /run/lock/longhaul-install-test.lock (another worktree may run
# this test at the same time); the lock file stays, as lock files do.
#
# usage: install-test.sh BUILD_DIR      (root)
set -euo pipefail
BUILD=$(readlink -f "${1:?usage: install-test.sh BUILD_DIR}")
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (dpkg -i)"; exit 77; }
for t in groff systemd-analyze cpack dpkg-deb dpkg-shlibdeps openssl; do
	command -v $t >/dev/null || { echo "install-test: FAIL: $t missing (.ci/install-deps)" >&2; exit 1; }
done
PKG=longhaul
TMP=$(mktemp -d /tmp/lh-install-test.XXXXXX)
installed=0
NS=lhinst$$
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	# the fd holders longhauld started (gateway/base/FDHOLD.md) would linger until they time out
	for p in "$TMP"/*/state/holder.sock.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
	ip netns del $NS 2>/dev/null || true
	# installed=1 only while fd 9 holds the lock (a second flock here would wait for ourselves)
	if [ $installed = 1 ]; then
		dpkg --purge $PKG >/dev/null || echo "install-test: FAIL: dpkg --purge $PKG" >&2
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "install-test: FAIL: $*" >&2; exit 1; }
ok() { echo "install-test: ok: $*"; }
# a command that must succeed and say nothing on stderr (groff and systemd-analyze warn but exit 0)
quiet() { # WHAT CMD...
	local what=$1 err; shift
	err=$("$@" 2>&1 >/dev/null) || fail "$what: exit $?: $err"
	[ -z "$err" ] || fail "$what: $err"
}

# --- cmake --install into a DESTDIR -------------------------------------------------------------
D=$TMP/dest
P=$D/usr/local
DESTDIR=$D cmake --install "$BUILD" --prefix /usr/local >"$TMP/install.log" 2>&1 ||
	{ cat "$TMP/install.log" >&2; fail "cmake --install"; }
for f in sbin/longhauld sbin/longhaul-holder bin/longhaulctl bin/lhcodec bin/longhaul-certs \
	libexec/longhaul/wan-lab libexec/longhaul/lh-wanem; do
	[ -x "$P/$f" ] || fail "$f not installed (or not executable)"
done
# wan-lab finds lh-wanem beside itself, through the symlink
[ "$(readlink -f "$P/bin/longhaul-wan-lab")" = "$(readlink -f "$P/libexec/longhaul/wan-lab")" ] ||
	fail "bin/longhaul-wan-lab does not lead to libexec/longhaul/wan-lab"
ok "binaries: longhauld + longhaul-holder in sbin, wan-lab + lh-wanem in libexec/longhaul"

UNIT=$P/lib/systemd/system/longhauld.service
CONF=$P/etc/longhaul/longhauld.conf.example
MAN="$P/share/man/man8/longhauld.8 $P/share/man/man8/longhaulctl.8 $P/share/man/man1/lhcodec.1
     $P/share/man/man5/longhauld.conf.5"
for f in $UNIT $CONF $MAN; do [ -f "$f" ] || fail "${f#"$D"} not installed"; done
for m in $MAN; do quiet "groff ${m##*/}" groff -man -Tutf8 -z -ww "$m"; done
ok "man pages render without warnings: $(for m in $MAN; do printf '%s ' "${m##*/}"; done)"

# --- the unit ---------------------------------------------------------------------------------------
grep -qx 'ExecStart=/usr/local/sbin/longhauld --config /usr/local/etc/longhaul/longhauld.conf -d' "$UNIT" ||
	fail "unit: ExecStart does not name the installed paths: $(grep ExecStart= "$UNIT")"
for l in KillMode=process Type=exec 'ExecReload=/bin/kill -HUP $MAINPID' ProtectSystem=strict \
	NoNewPrivileges=yes RuntimeDirectory=longhaul StateDirectory=longhaul LogsDirectory=longhaul \
	'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE'; do
	grep -qxF "$l" "$UNIT" || fail "unit: no $l"
done
# systemd-analyze wants ExecStart's binary to exist: verify a copy that points into the DESTDIR
mkdir "$TMP/unit"
sed "s|/usr/local/|$P/|g" "$UNIT" >"$TMP/unit/longhauld.service"
quiet "systemd-analyze verify (DESTDIR)" env MANPATH="$P/share/man" systemd-analyze verify "$TMP/unit/longhauld.service"
ok "unit: installed paths, KillMode=process, sandbox; systemd-analyze verify clean"

# --- certificates + the example config --------------------------------------------------------------
K=$TMP/pki
"$P/bin/longhaul-certs" ca "$K" >/dev/null
"$P/bin/longhaul-certs" site "$K" site-a >/dev/null
"$P/bin/longhaul-certs" site "$K" site-b >/dev/null
for n in ca site-a site-b; do
	[ "$(stat -c %a "$K/$n.key")" = 600 ] || fail "$n.key mode $(stat -c %a "$K/$n.key"), not 600"
done
for n in site-a site-b; do
	openssl verify -CAfile "$K/ca.pem" "$K/$n.pem" >/dev/null || fail "$n.pem does not chain to ca.pem"
	openssl x509 -in "$K/$n.pem" -noout -ext subjectAltName | grep -q "DNS:$n\$" || fail "$n.pem: no SAN DNS:$n"
	openssl x509 -in "$K/$n.pem" -noout -checkhost "$n" | grep -q 'does match' || fail "$n.pem: host check"
done
if "$P/bin/longhaul-certs" site "$K" site-a 2>/dev/null; then fail "longhaul-certs overwrote site-a"; fi
ok "longhaul-certs: CA + site-a + site-b, SAN DNS = name, keys 0600, no overwrite"

# site-a: the example as it comes, pointed at the test PKI; site-b: its mirror image
sed -e "s|/usr/local/etc/longhaul/|$K/|" "$CONF" >"$TMP/site-a.conf"
sed -e 's/site-a/SITE_X/g; s/site-b/site-a/g; s/SITE_X/site-b/g' "$TMP/site-a.conf" >"$TMP/site-b.conf"
check() { # LONGHAULD CONF
	local out
	out=$("$1" --check --config "$2" 2>&1) || fail "longhauld --check ${2##*/}: $out"
	grep -q ': OK (' <<<"$out" || fail "longhauld --check ${2##*/}: $out"
}
check "$P/sbin/longhauld" "$TMP/site-a.conf"
check "$P/sbin/longhauld" "$TMP/site-b.conf"
sed "s|^key = .*|key = $K/nonexistent.key|" "$TMP/site-a.conf" >"$TMP/nokey.conf"
if "$P/sbin/longhauld" --check --config "$TMP/nokey.conf" >/dev/null 2>&1; then
	fail "longhauld --check accepted a config whose key is missing"
fi
ok "example config with longhaul-certs' PKI: longhauld --check OK for site-a and site-b (a missing key fails)"

# --- the pair meets: each side accepts the other's certificate ---------------------------------------
# site-a listens, site-b dials; small page stores, everything the daemon writes under $TMP
ip netns add $NS
ip -n $NS link set lo up
ip -n $NS addr add 198.18.0.1/32 dev lo
ip -n $NS addr add 198.18.0.2/32 dev lo
for s in a b; do
	mkdir -p "$TMP/$s"
	sed -e "s|^lan_address = .*|lan_address = 198.18.0.$([ $s = a ] && echo 1 || echo 2)|" \
		-e "s|^audit_log = .*|audit_log = $TMP/$s/audit.jsonl\ncontrol_socket = $TMP/$s/ctl.sock\nstate_dir = $TMP/$s/state|" \
		-e "s|^store_mb = .*|store_mb = 16\nstore_commit = 0|" \
		-e "s|^listen = 203.0.113.1:7000|$([ $s = a ] && echo listen || echo peer) = 198.18.0.1:7000|" \
		"$TMP/site-$s.conf" >"$TMP/$s/longhauld.conf"
	check "$P/sbin/longhauld" "$TMP/$s/longhauld.conf"
	ip netns exec $NS "$P/sbin/longhauld" --config "$TMP/$s/longhauld.conf" -d 2>"$TMP/$s/log" &
	PIDS+=($!)
done
up=0
for _ in $(seq 100); do
	up=0
	for s in a b; do
		"$P/bin/longhaulctl" -s "$TMP/$s/ctl.sock" status --json 2>/dev/null |
			grep -q '"streams_up":8,"streams":8' && up=$((up + 1))
	done
	[ $up = 2 ] && break
	sleep 0.1
done
[ $up = 2 ] || fail "the pair did not bring its 8 WAN streams up: $(cat "$TMP/a/log" "$TMP/b/log")
$("$P/bin/longhaulctl" -s "$TMP/a/ctl.sock" status 2>&1)"
ok "site-a and site-b (longhaul-certs' certificates) bring up 8 WAN streams to each other"
for p in "${PIDS[@]}"; do kill -INT "$p"; wait "$p" || fail "longhauld exited $? on SIGINT"; done
PIDS=()

# --- the .deb ---------------------------------------------------------------------------------------
(cd "$BUILD" && cpack -G DEB -B "$TMP/pkg") >"$TMP/cpack.log" 2>&1 || { cat "$TMP/cpack.log" >&2; fail "cpack -G DEB"; }
DEB=$(ls "$TMP"/pkg/${PKG}_*.deb)
deps=$(dpkg-deb -f "$DEB" Depends)
for d in libssl3 libzstd1 libxxhash0 libev4 libmnl0 libc6 openssl; do
	grep -qw "$d" <<<"$deps" || fail ".deb Depends lacks $d: $deps"
done
files=$(dpkg-deb -c "$DEB")
for f in ./usr/sbin/longhauld ./usr/sbin/longhaul-holder ./usr/bin/longhaulctl ./usr/bin/lhcodec \
	./usr/bin/longhaul-certs ./usr/lib/systemd/system/longhauld.service ./etc/longhaul/longhauld.conf.example \
	./usr/share/man/man5/longhauld.conf.5 ./usr/libexec/longhaul/lh-wanem; do
	grep -q " $f\( \|\$\)" <<<"$files" || fail ".deb lacks $f"
done
ok ".deb built: ${DEB##*/}, Depends: $deps"

exec 9>/run/lock/longhaul-install-test.lock
flock -w 120 9 || fail "another install test holds the dpkg lock"
if dpkg-query -W -f='${Status}' $PKG 2>/dev/null | grep -q 'ok installed'; then
	echo "install-test: SKIP: package $PKG is installed on this machine, not touching it (dpkg -i/--purge)"
	exit 77
fi
installed=1 # from here the trap purges, whatever happens
dpkg -i "$DEB" >"$TMP/dpkg.log" 2>&1 || { cat "$TMP/dpkg.log" >&2; fail "dpkg -i"; }
grep -qx 'ExecStart=/usr/sbin/longhauld --config /etc/longhaul/longhauld.conf -d' /usr/lib/systemd/system/longhauld.service ||
	fail "installed unit: $(grep ExecStart= /usr/lib/systemd/system/longhauld.service)"
quiet "systemd-analyze verify (installed)" systemd-analyze verify /usr/lib/systemd/system/longhauld.service
for b in /usr/sbin/longhauld /usr/sbin/longhaul-holder /usr/bin/longhaulctl /usr/bin/lhcodec; do
	! ldd "$b" | grep -q 'not found' || fail "$b: $(ldd "$b" | grep 'not found')"
done
sed -e "s|/etc/longhaul/|$K/|" /etc/longhaul/longhauld.conf.example >"$TMP/deb-site-a.conf"
check /usr/sbin/longhauld "$TMP/deb-site-a.conf"
ok "dpkg -i: unit verifies, libraries resolve, installed longhauld --check OK"
dpkg --purge $PKG >/dev/null 2>&1 || fail "dpkg --purge"
installed=0
[ ! -e /usr/sbin/longhauld ] && [ ! -e /etc/longhaul/longhauld.conf.example ] || fail "files left after purge"
ok "dpkg --purge removes it"
echo "install-test: PASS"
