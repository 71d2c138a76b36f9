#!/usr/bin/env bash
# python_verify_test BIN_DIR: the independent Python verifier (verify_log.py, written from
# docs/log-format.md alone) and `ledger-audit verify` must agree on a log written by a real
# ledgerd: the same count and head hash on an intact log (also while ledgerd is serving it),
# the same first bad seq and exit 1 on tampered copies. A consistent rewrite of the whole chain
# verifies as a chain under both: only the head hash kept outside (`ledgerctl head`) reveals it
# to the chain-only Python verifier; ledger-audit also finds the Merkle tree changed.
# Needs /usr/bin/python3 with the lmdb module (Debian: python3-lmdb): fails, never skips.
set -uo pipefail
bin=${1:?usage: python_verify_test.sh BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/ledger-pyverify-XXXXXX)
. "$here/../support/lib.sh" # check, fail, report, need_python3, start_ledgerd, stop_ledgerd, cleanup

need_python3 lmdb "apt-get install python3-lmdb"
for b in ledgerd ledgerctl ledger-audit; do
	[ -x "$bin/$b" ] || { echo "FAIL: no $bin/$b"; exit 1; }
done

d=$dir/d
"$bin/ledgerd" init --data "$d" >/dev/null || { echo "FAIL: ledgerd init"; exit 1; }
start_ledgerd "$d"

ctl() { "$bin/ledgerctl" --data "$d" "$@" >>"$dir/ctl.out" 2>&1; }
run() { checks=$((checks + 1)); ctl "$@" || { fail "ledgerctl $*"; tail -3 "$dir/ctl.out"; }; }
run --platform account add ec@x.fr --name "E C" --ec
run --platform account add col@x.fr --name "Col"
run --platform account add prep@x.fr --name "Prep"
run --platform firm add F1 --name "Firm One" --ec ec@x.fr --siren 732829320
run --as ec@x.fr delegation grant --firm F1 --to col@x.fr,prep@x.fr --rights sign,prepare --expires 2031-12-31
run --as ec@x.fr delegation revoke --firm F1 --to prep@x.fr --rights sign
run --as ec@x.fr --request-id retry-1 delegation grant --firm F1 --to col@x.fr --rights seal
run --as ec@x.fr --request-id retry-1 delegation grant --firm F1 --to col@x.fr --rights seal # a retry: no event
checks=$((checks + 1))
ctl --as col@x.fr delegation grant --firm F1 --to prep@x.fr --rights launch && fail "a collaborator granted rights"
anchor=$("$bin/ledgerctl" --data "$d" --platform --json head | "$py" -c 'import json,sys; print(json.load(sys.stdin)["hash"])')

# While ledgerd serves the directory: both read it through LMDB's reader table.
live_py=$("$py" "$here/verify_log.py" "$d")
check "verify_log.py exit status (live)" "$?" 0
live_c=$("$bin/ledger-audit" verify --data "$d" | head -1) # the second line is the tree's
check "verify_log.py and ledger-audit (live)" "$live_py" "$live_c"

stop_ledgerd

out_py=$("$py" "$here/verify_log.py" "$d")
check "verify_log.py exit status" "$?" 0
out_c=$("$bin/ledger-audit" verify --data "$d")
check "ledger-audit exit status" "$?" 0
out_c=$(printf '%s\n' "$out_c" | head -1)
check "verify_log.py and ledger-audit print the same line" "$out_py" "$out_c"
json=$("$bin/ledger-audit" verify --data "$d" --json)
check "ledger-audit --json exit status" "$?" 0
# The log: LogCreated, 3 accounts, 1 firm and its seal's key (KeyCreated), 4 grants, 1 revocation,
# 1 grant (retried), 1 refusal; one stored document: the seal certificate's DER.
want_events=13
read -r events head_seq head_hash < <(printf '%s' "$json" | "$py" -c \
	'import json,sys; j=json.load(sys.stdin); print(j["events"], j["head_seq"], j["head_hash"])')
check "event count" "$events" "$want_events"
check "head seq" "$head_seq" "$want_events"
check "head hash is the one ledgerctl head returned" "$head_hash" "$anchor"
check "verify_log.py line" "$out_py" \
	"intact: $want_events events, head seq $want_events, hash $anchor; 1 stored documents hash to their keys"

# tamper NAME MODE [SEQ] -- EXPECTED_LINE EXPECTED_STATUS: on a copy of the directory.
# C_STATUS (default STATUS): ledger-audit also checks the Merkle tree, which verify_log.py does
# not; when they differ only the statuses are compared.
tamper() {
	local name=$1 mode=$2 seq=$3 want=$4 status=$5 c_status=${6:-$5} copy=$dir/$1
	mkdir "$copy" && cp "$d/data.mdb" "$copy/"
	"$py" "$here/tamper_log.py" "$copy" "$mode" "$seq" || { fail "$name: tamper_log.py $mode"; return; }
	local a b
	a=$("$py" "$here/verify_log.py" "$copy")
	check "$name: verify_log.py exit status" "$?" "$status"
	b=$("$bin/ledger-audit" verify --data "$copy")
	check "$name: ledger-audit exit status" "$?" "$c_status"
	[ "$status" != "$c_status" ] || check "$name: verify_log.py and ledger-audit agree" "$a" "$b"
	[ -z "$want" ] || check "$name: verify_log.py names it" "$a" "$want"
}
tamper flip5 flip 5 "broken at seq 5: stored hash does not match the record's contents (4 good events before it)" 1
tamper flip1 flip 1 "broken at seq 1: stored hash does not match the record's contents (0 good events before it)" 1
tamper truncated drop-last 0 \
	"broken at seq $want_events: records missing at the end of the log (head says more) ($((want_events - 1)) good events before it)" 1
# A consistent rewrite of the chain from seq 7 on verifies as a chain: the chain alone cannot
# tell. Its head hash is no longer the anchor kept outside it, which is how it is caught; and
# ledger-audit finds the Merkle tree no longer the records' (transparency_test goes further).
tamper rewrite rewrite 7 "" 0 1
rewritten=$("$py" "$here/verify_log.py" "$dir/rewrite")
case "$rewritten" in
"intact: $want_events events, head seq $want_events, hash "*) ;;
*) fail "rewrite: expected an intact-looking log, got: $rewritten" ;;
esac
checks=$((checks + 1))
rewritten_hash=$(sed -E 's/.*, hash ([0-9a-f]{64}).*/\1/' <<<"$rewritten")
[ "${#rewritten_hash}" = 64 ] && [ "$rewritten_hash" != "$anchor" ] || fail "rewrite: the head hash still equals the anchor"

report python_verify_test
