#!/usr/bin/env bash
# install_test: `cmake --install` into a staging root (DESTDIR), then what a packager and an
# operator rely on: exactly the three programs, the hardened systemd unit (checked by
# systemd-analyze), the service user, the documentation, and the installed programs working
# together on a first scenario.
set -uo pipefail
build=${1:?usage: install_test.sh BUILD_DIR}
dir=$(mktemp -d /tmp/ledger-install-XXXXXX) # the staging root is $dir/root
. "$(dirname "$0")/../support/lib.sh" # fail, report, start_ledgerd, stop_ledgerd, cleanup
# counted COMMAND...: runs COMMAND as one more check (its status is the caller's to judge).
counted() { checks=$((checks + 1)); "$@"; }

if ! DESTDIR="$dir/root" cmake --install "$build" >"$dir/install.log" 2>&1; then
	cat "$dir/install.log"
	echo "FAIL: cmake --install"
	exit 1
fi
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
root="$dir/root$prefix"
bin="$root/bin"

installed=$(cd "$bin" && ls | sort | tr '\n' ' ')
counted [ "$installed" = "ledger-audit ledger-signer ledgerctl ledgerd " ] || fail "installed programs: '$installed'"
for p in ledgerd ledger-signer ledgerctl ledger-audit; do
	counted "$bin/$p" --help >/dev/null 2>&1 || fail "$p --help"
done
# A production ledgerd never lets an operator choose the time of a signature.
help=$("$bin/ledgerd" --help 2>&1)
checks=$((checks + 1))
case "$help" in *clock-file*) fail "installed ledgerd offers --clock-file" ;; esac
counted [ ! -e "$bin/ledgerd-test-clock" ] || fail "the test build's ledgerd is installed"

unit="$root/lib/systemd/system/ledgerd.service"
counted [ -f "$unit" ] || fail "no unit at $unit"
for directive in "User=ledgerd" "StateDirectory=ledgerd" "StateDirectoryMode=0700" "NoNewPrivileges=yes" \
	"ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" "PrivateDevices=yes" "CapabilityBoundingSet=" \
	"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" "SystemCallFilter=@system-service" "MemoryDenyWriteExecute=yes" \
	"ExecStart=$prefix/bin/ledgerd serve --data \${STATE_DIRECTORY}"; do
	counted grep -qxF -- "$directive" "$unit" || fail "unit lacks $directive"
done
# systemd-analyze checks every directive and that the programs exist: point it at the staged
# programs, since the unit names their final place.
sed "s|$prefix/bin/|$bin/|g" "$unit" >"$dir/ledgerd.service"
counted systemd-analyze verify "$dir/ledgerd.service" >"$dir/verify.log" 2>&1 || {
	fail "systemd-analyze verify"
	cat "$dir/verify.log"
}
counted grep -q '^u ledgerd ' "$root/lib/sysusers.d/ledgerd.conf" || fail "no sysusers entry for ledgerd"
for doc in README.md LICENSE operations.md design.md architecture.md rpc.md; do
	counted [ -f "$root/share/doc/jse_ledger/$doc" ] || fail "doc $doc not installed"
done

# The installed programs, alone, on a first scenario.
data="$dir/data"
counted "$bin/ledgerd" init --data "$data" >/dev/null || fail "installed ledgerd init"
start_ledgerd "$data"
ctl() { "$bin/ledgerctl" --data "$data" "$@"; }
counted ctl --platform account add ec@x.fr --name "E C" --ec >/dev/null || fail "account add"
counted ctl --platform firm add F1 --name "Firm" --ec ec@x.fr --siren 732829320 >/dev/null || fail "firm add"
out=$(ctl --as ec@x.fr --data "$data" can --firm F1 --actor ec@x.fr signature.send 2>&1)
counted [ "${out%%:*}" = "allowed" ] || fail "can: '$out'"
stop_ledgerd
counted "$bin/ledger-audit" verify --data "$data" >/dev/null || fail "installed ledger-audit verify"

report install
