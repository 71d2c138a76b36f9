#!/usr/bin/env bash
# disk_full_test: ledgerd's store on a small file system that fills during a write load
# (issue 10, defect 7). Every refused command must be STORAGE_FULL, never INTERNAL (LMDB
# reports a write cut short by the full disk as EIO), every acknowledged upload must be
# readable after a restart with room again, and the chain must verify. The file system is a 1 MiB tmpfs: mounted directly as
# root, or in a private user and mount namespace (unshare -rm) otherwise.
set -uo pipefail
bin=${1:?usage: disk_full_test.sh BIN_DIR}
if [ "${LEDGER_DISK_FULL_INSIDE:-}" != 1 ]; then
	if [ "$(id -u)" = 0 ]; then
		exec unshare -m env LEDGER_DISK_FULL_INSIDE=1 bash "$0" "$@"
	fi
	exec unshare -rm env LEDGER_DISK_FULL_INSIDE=1 bash "$0" "$@"
fi
dir=$(mktemp -d /tmp/ledger-diskfull-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	wait 2>/dev/null
	umount "$dir/fs" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
mkdir "$dir/fs"
mount -t tmpfs -o size=1m tmpfs "$dir/fs" || { echo "FAIL: cannot mount a tmpfs"; exit 1; }
data="$dir/fs/d"
"$bin/ledgerd" init --data "$data" >/dev/null || { echo "FAIL: init"; exit 1; }
"$bin/ledgerd" serve --data "$data" --map-size 64M --ready-fd 3 3>"$dir/ready" 2>"$dir/log" &
pid=$!
for _ in $(seq 200); do grep -q ready "$dir/ready" 2>/dev/null && break; sleep 0.05; done
grep -q ready "$dir/ready" || { cat "$dir/log"; echo "FAIL: ledgerd did not start"; exit 1; }

failures=0
acknowledged=0
full=0
ctl() { "$bin/ledgerctl" --data "$data" --timeout 10000 "$@"; }
ctl --platform account add ec@x.fr --name "E C" --ec >/dev/null || { echo "FAIL: account"; exit 1; }
ctl --platform firm add F --name "Firm" --ec ec@x.fr --siren 732829320 >/dev/null || { echo "FAIL: firm"; exit 1; }
id=$(ctl --as ec@x.fr collection create --firm F --kind signature --title "T") || { echo "FAIL: collection"; exit 1; }
# PDFs of about 150 KiB, each different: one upload writes its blob as tens of LMDB pages in
# one vectored write, which the full disk cuts short (LMDB's EIO) rather than refusing whole.
make_pdf() { /usr/bin/python3 "$(dirname "$0")/../support/make_pdf.py" "$1" --text "Document $2" --padding-kib 150; }
for i in $(seq 40); do
	make_pdf "$dir/doc$i.pdf" "$i"
	out=$(ctl --as ec@x.fr collection add-document --firm F "$id" "$dir/doc$i.pdf" 2>&1)
	case "$?:$out" in
	0:*) acknowledged=$((acknowledged + 1)); echo "$out" >>"$dir/acknowledged" ;;
	*STORAGE_FULL*) full=$((full + 1)); [ "$full" -ge 4 ] && break ;;
	*) failures=$((failures + 1)); echo "FAIL: document $i: $out"; [ "$failures" -ge 3 ] && break ;;
	esac
done
[ "$full" -ge 1 ] || { failures=$((failures + 1)); echo "FAIL: the disk never filled ($acknowledged documents)"; }
kill -TERM "$pid"
wait "$pid"
pid=
# Room again: every acknowledged account is there, and the chain verifies.
mount -o remount,size=64m "$dir/fs"
"$bin/ledger-audit" verify --data "$data" >"$dir/verify" 2>&1 || { failures=$((failures + 1)); echo "FAIL: verify: $(cat "$dir/verify")"; }
"$bin/ledgerd" serve --data "$data" --ready-fd 3 3>"$dir/ready2" 2>>"$dir/log" &
pid=$!
for _ in $(seq 200); do grep -q ready "$dir/ready2" 2>/dev/null && break; sleep 0.05; done
missing=0
while read -r sha; do
	ctl --as ec@x.fr document get --firm F "$sha" >/dev/null 2>&1 || missing=$((missing + 1))
done <"$dir/acknowledged"
[ "$missing" = 0 ] || { failures=$((failures + 1)); echo "FAIL: $missing acknowledged documents missing"; }
echo "disk_full: $acknowledged acknowledged, $full STORAGE_FULL, $failures failures"
[ "$failures" = 0 ]
