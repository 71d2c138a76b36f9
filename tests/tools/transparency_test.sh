#!/usr/bin/env bash
# transparency_test BIN_DIR: the log as outsiders check it (docs/audit.md, "Checkpoints, proofs
# and witnesses"), on a log written by a real ledgerd:
# - a checkpoint taken while ledgerd serves, and a witness's cosignature, verify later;
# - a tlog-proof of a record verifies with ledger-audit verify-proof and with an independent
#   Python verifier (tlog_proof_verify.py, written from the docs), and tampered proofs do not;
# - the attacks that every local check misses: a consistent rewrite of the chain with the tree
#   rebuilt and checkpoints re-signed by the directory's own log key, and a cut of the last
#   records; `verify --since` a kept checkpoint and the witness both refuse them (exit 1);
# - a rewrite that leaves the tree alone is refused by ledgerd (exit 3) and by verify.
# Needs /usr/bin/python3 with lmdb and nacl (python3-lmdb, python3-nacl): fails, never skips.
set -uo pipefail
bin=${1:?usage: transparency_test.sh BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/ledger-transparency-XXXXXX)
. "$here/../support/lib.sh" # check, fail, report, need_python3, start_ledgerd, stop_ledgerd, cleanup
# includes DESCRIPTION TEXT PART: TEXT contains PART.
includes() { checks=$((checks + 1)); case "$2" in *"$3"*) ;; *) fail "$1: \"$2\" does not contain \"$3\"" ;; esac; }

need_python3 "lmdb, nacl" "python3-lmdb, python3-nacl"
audit="$bin/ledger-audit"
d=$dir/d
# since_refuses WHAT DATA SINCE SAYS: the tampered log in DATA passes every local check, and
# `verify --since` a checkpoint kept from before (SINCE) refuses it, saying SAYS.
since_refuses() {
	"$audit" verify --data "$2" --log-key "$vkey" >/dev/null
	check "$1: passes local checks" "$?" 0
	out=$("$audit" verify --data "$2" --log-key "$vkey" --since "$3")
	check "$1: verify --since refuses it" "$?" 1
	includes "and says" "$out" "$4"
}
accounts() { for i in $(seq "$2" "$3"); do "$bin/ledgerctl" --data "$1" --platform account add "u$i@x.fr" --name "U $i" >/dev/null || fail "account $i"; done; }

"$bin/ledgerd" init --data "$d" --log-origin ledger.test.example/log >"$dir/init.out" || { echo "FAIL: init"; exit 1; }
vkey=$dir/log.vkey
cp "$d/keys/log.vkey" "$vkey" # what the auditors were handed
includes "init prints the log key" "$(cat "$dir/init.out")" "$(cat "$vkey")"
"$audit" witness-key --name witness.test.example/w1 --key-file "$dir/w1.key" >"$dir/w1.vkey"
check "witness-key" "$?" 0
check "witness key file mode" "$(stat -c %a "$dir/w1.key")" 600

start_ledgerd "$d"
# the records before the first account: LogCreated and the keys ledgerd recorded at its start
base=$("$bin/ledgerctl" --data "$d" --platform head | sed -n 's/^head seq \([0-9]*\) .*/\1/p')
check "ledgerd's start recorded its keys" "$([ "${base:-0}" -gt 1 ] && echo yes)" yes
accounts "$d" 1 10
"$audit" checkpoint --data "$d" --log-key "$vkey" >"$dir/c10"
check "checkpoint while serving" "$?" 0
check "checkpoint size" "$(sed -n 2p "$dir/c10")" $((base + 10))
"$audit" witness --data "$d" --log-key "$vkey" --key-file "$dir/w1.key" --state "$dir/w1.state" >/dev/null
check "first witness run" "$?" 0
accounts "$d" 11 30
stop_ledgerd

"$audit" witness --data "$d" --log-key "$vkey" --key-file "$dir/w1.key" --state "$dir/w1.state" >/dev/null
check "the witness sees the log grow" "$?" 0
check "witnessed size" "$(sed -n 2p "$dir/w1.state")" $((base + 30))
out=$("$audit" verify --data "$d" --log-key "$vkey" --since "$dir/c10")
check "verify --since an older checkpoint" "$?" 0
includes "verify --since says" "$out" "the log of $((base + 10)) records then is a prefix"
"$audit" verify --data "$d" --since "$dir/w1.state" --log-key "$vkey" >/dev/null
check "verify --since the witnessed checkpoint" "$?" 0

# Proofs: ours and the independent verifier, with and without the witness.
"$audit" prove --data "$d" --seq 7 --tlog-proof "$dir/p7" --checkpoint "$dir/w1.state" --log-key "$vkey" 2>/dev/null
check "prove --tlog-proof" "$?" 0
out=$("$audit" verify-proof "$dir/p7" --log-key "$vkey" --witness "$dir/w1.vkey")
check "verify-proof" "$?" 0
includes "verify-proof says" "$out" "proved: record 7"
out=$("$py" "$here/tlog_proof_verify.py" "$dir/p7" --log-vkey "$vkey" --witness-vkey "$dir/w1.vkey")
check "independent verifier" "$?" 0
includes "independent verifier says" "$out" "proved 7 "
for seq in 1 2 16 31; do
	"$audit" prove --data "$d" --seq "$seq" --tlog-proof "$dir/p" --log-key "$vkey" 2>/dev/null
	"$py" "$here/tlog_proof_verify.py" "$dir/p" --log-vkey "$vkey" >/dev/null
	check "independent verifier, seq $seq" "$?" 0
done
# Tampered proofs: a wrong index, a changed record byte, a changed path hash, another key,
# a witness who did not cosign. Both verifiers refuse each.
"$audit" witness-key --name witness.test.example/w2 --key-file "$dir/w2.key" >"$dir/w2.vkey"
"$bin/ledgerd" init --data "$dir/other" >/dev/null
sed 's/^index 6$/index 5/' "$dir/p7" >"$dir/bad-index"
"$py" - "$dir/p7" "$dir/bad-record" "$dir/bad-path" <<'PY'
import base64, sys
lines = open(sys.argv[1]).read().split("\n")
rec = bytearray(base64.b64decode(lines[1][6:]))
rec[-1] ^= 1
open(sys.argv[2], "w").write("\n".join(lines[:1] + ["extra " + base64.b64encode(rec).decode()] + lines[2:]))
h = bytearray(base64.b64decode(lines[3]))
h[0] ^= 1
open(sys.argv[3], "w").write("\n".join(lines[:3] + [base64.b64encode(h).decode()] + lines[4:]))
PY
for bad in bad-index bad-record bad-path; do
	"$audit" verify-proof "$dir/$bad" --log-key "$vkey" >/dev/null
	check "verify-proof refuses $bad" "$?" 1
	"$py" "$here/tlog_proof_verify.py" "$dir/$bad" --log-vkey "$vkey" >/dev/null
	check "independent verifier refuses $bad" "$?" 1
done
"$audit" verify-proof "$dir/p7" --log-key "$dir/other/keys/log.vkey" >/dev/null
check "verify-proof refuses another log's key" "$?" 1
"$audit" verify-proof "$dir/p7" --log-key "$vkey" --witness "$dir/w2.vkey" >/dev/null
check "verify-proof refuses a witness that did not cosign" "$?" 1

# Witnesses over RPC (ledgerctl witness): w1 is configured, so its cosignatures are kept and
# served; w2 is not, so the log does not keep its line.
start_ledgerd "$d" --witness "$dir/w1.vkey"
ctlw() { "$bin/ledgerctl" --data "$d" --platform witness --log-key "$vkey" "$@"; }
ctlw --key-file "$dir/w1.key" --state "$dir/r1.state" >/dev/null 2>"$dir/r1.err"
check "RPC witness, first run" "$?" 0
includes "the log kept it" "$(cat "$dir/r1.err")" "kept by the log"
accounts "$d" 31 33
ctlw --key-file "$dir/w1.key" --state "$dir/r1.state" >/dev/null 2>&1
check "RPC witness, after growth" "$?" 0
check "RPC witnessed size" "$(sed -n 2p "$dir/r1.state")" $((base + 33))
ctlw --key-file "$dir/w2.key" --state "$dir/r2.state" >/dev/null 2>"$dir/r2.err"
check "an unconfigured witness still cosigns for itself" "$?" 0
includes "but the log does not keep it" "$(cat "$dir/r2.err")" "no configured witness"
served=$("$bin/ledgerctl" --data "$d" --platform head --all)
includes "head --all serves w1's cosignature" "$served" "— witness.test.example/w1 "
case "$served" in *witness.test.example/w2*) fail "the log kept an unconfigured witness's line" ;; esac
"$audit" verify-proof <("$audit" prove --data "$d" --seq 33 --tlog-proof - --checkpoint "$dir/r1.state" --log-key "$vkey" 2>/dev/null) \
	--log-key "$vkey" --witness "$dir/w1.vkey" >/dev/null
check "a proof against the RPC-cosigned checkpoint" "$?" 0
stop_ledgerd

# Attack 1: rewrite event 5 and every hash after it, rebuild the tree, re-sign checkpoints
# with the directory's own log key. Every local check passes; the kept checkpoint does not.
cp -a "$d" "$dir/rw"
"$py" "$here/tamper_log.py" "$dir/rw" rewrite-all 5
start_ledgerd "$dir/rw" # rebuilds the tree
accounts "$dir/rw" 60 60 # and signs a checkpoint of the rewritten log
stop_ledgerd
since_refuses "a rewrite re-signed with the directory's key" "$dir/rw" "$dir/c10" "the log was rewritten"
out=$("$audit" witness --data "$dir/rw" --log-key "$vkey" --key-file "$dir/w1.key" --state "$dir/w1.state" 2>&1)
check "the witness refuses the rewrite" "$?" 1
includes "and says" "$out" "it was rewritten"
start_ledgerd "$dir/rw"
out=$("$bin/ledgerctl" --data "$dir/rw" --platform witness --log-key "$vkey" --key-file "$dir/w1.key" --state "$dir/r1.state" 2>&1)
check "the RPC witness refuses the rewrite" "$?" 1
includes "and says" "$out" "it was rewritten"
stop_ledgerd

# Attack 2: cut the last 9 records and fix the head.
cp -a "$d" "$dir/cut"
"$py" "$here/tamper_log.py" "$dir/cut" cut $((base + 24))
start_ledgerd "$dir/cut"
out=$("$bin/ledgerctl" --data "$dir/cut" --platform witness --log-key "$vkey" --key-file "$dir/w1.key" --state "$dir/r1.state" 2>&1)
check "the RPC witness refuses a log that went back" "$?" 1
includes "and says" "$out" "the log went back"
stop_ledgerd
since_refuses "a cut log with its head fixed" "$dir/cut" "$dir/w1.state" "the log was cut"
start_ledgerd "$dir/cut"
accounts "$dir/cut" 70 80 # the log grows back past the witnessed size: still not an extension
stop_ledgerd
out=$("$audit" witness --data "$dir/cut" --log-key "$vkey" --key-file "$dir/w1.key" --state "$dir/w1.state" 2>&1)
check "the witness refuses a cut log grown back" "$?" 1
includes "and says" "$out" "it was rewritten"

# A rewrite that leaves the tree as it was: ledgerd refuses the store, verify names the tree.
cp -a "$d" "$dir/rt"
"$py" "$here/tamper_log.py" "$dir/rt" rewrite 5
"$bin/ledgerd" serve --data "$dir/rt" 2>"$dir/rt.log"
check "ledgerd refuses a tree that is not the records'" "$?" 3
includes "and says" "$(cat "$dir/rt.log")" "Merkle tree"
out=$("$audit" verify --data "$dir/rt" --log-key "$vkey")
check "verify refuses it" "$?" 1
includes "and names the tree" "$out" "Merkle tree"

report transparency_test
