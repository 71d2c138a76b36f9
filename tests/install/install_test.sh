#!/usr/bin/env bash
# install_test: `cmake --install` into a staging root (DESTDIR), then what a packager and an
# operator rely on: exactly the three programs, the hardened systemd unit (checked by
# systemd-analyze), the service user, the documentation, and the installed programs working
# together on a first scenario.
set -uo pipefail
build=${1:?usage: install_test.sh BUILD_DIR}
stage=$(mktemp -d /tmp/ledger-install-XXXXXX)
failures=0
checks=0
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$stage"; }
trap cleanup EXIT
fail() { failures=$((failures + 1)); echo "FAIL: $*"; }
check() { checks=$((checks + 1)); "$@"; }

if ! DESTDIR="$stage/root" cmake --install "$build" >"$stage/install.log" 2>&1; then
	cat "$stage/install.log"
	echo "FAIL: cmake --install"
	exit 1
fi
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
root="$stage/root$prefix"
bin="$root/bin"

installed=$(cd "$bin" && ls | sort | tr '\n' ' ')
check [ "$installed" = "ledger-audit ledgerctl ledgerd " ] || fail "installed programs: '$installed'"
for p in ledgerd ledgerctl ledger-audit; do
	check "$bin/$p" --help >/dev/null 2>&1 || fail "$p --help"
done
# A production ledgerd never lets an operator choose the time of a signature.
help=$("$bin/ledgerd" --help 2>&1)
checks=$((checks + 1))
case "$help" in *clock-file*) fail "installed ledgerd offers --clock-file" ;; esac
check [ ! -e "$bin/ledgerd-test-clock" ] || fail "the test build's ledgerd is installed"

unit="$root/lib/systemd/system/ledgerd.service"
check [ -f "$unit" ] || fail "no unit at $unit"
for directive in "User=ledgerd" "StateDirectory=ledgerd" "StateDirectoryMode=0700" "NoNewPrivileges=yes" \
	"ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" "PrivateDevices=yes" "CapabilityBoundingSet=" \
	"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" "SystemCallFilter=@system-service" "MemoryDenyWriteExecute=yes" \
	"ExecStart=$prefix/bin/ledgerd serve --data \${STATE_DIRECTORY}"; do
	check grep -qxF -- "$directive" "$unit" || fail "unit lacks $directive"
done
# systemd-analyze checks every directive and that the programs exist: point it at the staged
# programs, since the unit names their final place.
sed "s|$prefix/bin/|$bin/|g" "$unit" >"$stage/ledgerd.service"
check systemd-analyze verify "$stage/ledgerd.service" >"$stage/verify.log" 2>&1 || {
	fail "systemd-analyze verify"
	cat "$stage/verify.log"
}
check grep -q '^u ledgerd ' "$root/lib/sysusers.d/ledgerd.conf" || fail "no sysusers entry for ledgerd"
for doc in README.md LICENSE operations.md design.md architecture.md rpc.md; do
	check [ -f "$root/share/doc/jse_ledger/$doc" ] || fail "doc $doc not installed"
done

# The installed programs, alone, on a first scenario.
data="$stage/data"
check "$bin/ledgerd" init --data "$data" >/dev/null || fail "installed ledgerd init"
"$bin/ledgerd" serve --data "$data" --ready-fd 3 3>"$stage/ready" 2>"$stage/serve.log" &
pid=$!
for _ in $(seq 200); do grep -q ready "$stage/ready" 2>/dev/null && break; sleep 0.05; done
check grep -q ready "$stage/ready" || { fail "installed ledgerd did not get ready"; cat "$stage/serve.log"; }
ctl() { "$bin/ledgerctl" --data "$data" "$@"; }
check ctl --platform account add ec@x.fr --name "E C" --ec >/dev/null || fail "account add"
check ctl --platform firm add F1 --name "Firm" --ec ec@x.fr >/dev/null || fail "firm add"
out=$(ctl --as ec@x.fr --data "$data" can --firm F1 --actor ec@x.fr signature.send 2>&1)
check [ "${out%%:*}" = "allowed" ] || fail "can: '$out'"
kill -TERM "$pid"
wait "$pid"
check [ $? = 0 ] || fail "ledgerd did not stop cleanly on SIGTERM"
pid=
check "$bin/ledger-audit" verify --data "$data" >/dev/null || fail "installed ledger-audit verify"

echo "install: $checks checks, $failures failures"
[ "$failures" = 0 ]
