#!/usr/bin/env bash
# tlog_cross_test BIN_DIR: the independent verifier tlog_verify.py (written from docs/tlog.md
# alone, Python + python3-nacl) accepts what tlog-tool produces (signed checkpoints of many
# sizes with two witnesses' cosignatures, every inclusion and consistency proof up to 70
# entries, proofs against signed checkpoints) and refuses every tampered copy: a checkpoint's
# size, root or signature changed, an unknown or mis-keyed witness, a proof hash changed,
# another index, and a rewritten log signed by the same key (what a witness catches).
# Needs /usr/bin/python3 with nacl (Debian: python3-nacl): fails, never skips.
set -uo pipefail
bin=${1:?usage: tlog_cross_test.sh BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
verify() { "$py" "$here/tlog_verify.py" "$@"; }
tool=$bin/tlog-tool
dir=$(mktemp -d /tmp/tlog-cross-XXXXXX)
trap 'rm -rf "$dir"' EXIT
failures=0
checks=0
fail() { failures=$((failures + 1)); echo "FAIL: $*"; }
# accepts NAME CMD...: the command must exit 0.  refuses NAME CMD...: it must exit 1.
accepts() { local n=$1; shift; checks=$((checks + 1)); "$@" >"$dir/out" 2>&1 || { fail "$n"; cat "$dir/out"; }; }
refuses() {
	local n=$1; shift; checks=$((checks + 1))
	"$@" >"$dir/out" 2>&1; local s=$?
	[ "$s" = 1 ] || { fail "$n: exit $s, expected 1 (refused)"; cat "$dir/out"; }
}

if ! [ -x "$py" ] || ! "$py" -c 'import nacl.signing' 2>"$dir/err"; then
	echo "FAIL: $py with nacl is required (apt-get install python3-nacl):"
	cat "$dir/err"
	exit 1
fi
[ -x "$tool" ] || { echo "FAIL: no $tool"; exit 1; }

seed() { printf "$1%.0s" $(seq 32); }
log_seed=$(seed 11) w1_seed=$(seed 22) w2_seed=$(seed 33) other_seed=$(seed 44)
origin=ledger.example/log
log_vkey=$("$tool" vkey --name $origin --seed "$log_seed")
w1_vkey=$("$tool" vkey --name witness.example/w1 --seed "$w1_seed" --cosigner)
w2_vkey=$("$tool" vkey --name witness.example/w2 --seed "$w2_seed" --cosigner)
other_vkey=$("$tool" vkey --name witness.example/w1 --seed "$other_seed" --cosigner)

# 70 entries, one of them empty, one with non-ASCII bytes.
entries=$dir/entries
{ for i in $(seq 0 67); do echo "event $i"; done; echo; echo "évènement 69 — ✓"; } >"$entries"

# Checkpoints of many sizes, cosigned by two witnesses, checked against the entries.
for size in 0 1 2 3 4 5 7 8 9 16 31 32 33 64 69 70; do
	cp=$dir/cp$size
	"$tool" checkpoint --name $origin --seed "$log_seed" --entries "$entries" --size $size >"$cp.log" ||
		fail "checkpoint $size"
	"$tool" cosign --name witness.example/w1 --seed "$w1_seed" --time $((1700000000 + size)) --log-vkey "$log_vkey" \
		<"$cp.log" >"$cp.w1" || fail "cosign w1 $size"
	"$tool" cosign --name witness.example/w2 --seed "$w2_seed" --time 1800000000 --log-vkey "$log_vkey" \
		<"$cp.w1" >"$cp" || fail "cosign w2 $size"
	accepts "checkpoint $size with 2 cosignatures" verify checkpoint --log-vkey "$log_vkey" \
		--witness-vkey "$w1_vkey" --witness-vkey "$w2_vkey" --quorum 2 --entries "$entries" "$cp"
	checks=$((checks + 1))
	grep -qx "cosigned by witness.example/w1 at $((1700000000 + size))" "$dir/out" || fail "w1's time at $size"
done

# RFC 6962's test leaves (bytes, one a NUL): both sides find the published root of size 8.
printf '\n\000\n\020\n\040\041\n\060\061\n\100\101\102\103\nPQRSTUVW\n`abcdefghijklmno\n' >"$dir/rfc"
"$tool" checkpoint --name $origin --seed "$log_seed" --entries "$dir/rfc" >"$dir/cp-rfc" || fail "checkpoint of RFC leaves"
checks=$((checks + 1))
# 5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328 in base64:
[ "$(sed -n 3p "$dir/cp-rfc")" = XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg= ] ||
	fail "tlog-tool's root of the RFC 6962 leaves"
accepts "Python's root of the RFC 6962 leaves" verify checkpoint --log-vkey "$log_vkey" --entries "$dir/rfc" "$dir/cp-rfc"

# Every inclusion and consistency proof of every size up to 70, against roots Python computes.
"$tool" proofs --entries "$entries" >"$dir/proofs" || fail "tlog-tool proofs"
accepts "all proofs up to 70" verify proofs --entries "$entries" "$dir/proofs"
checks=$((checks + 1))
grep -q "^5041 proofs verified over 70 entries" "$dir/out" || fail "proof count: $(cat "$dir/out")"

# Proofs against signed checkpoints.
"$tool" inclusion --entries "$entries" --size 33 --index 17 >"$dir/inc17"
accepts "inclusion of 17 in checkpoint 33" verify inclusion --log-vkey "$log_vkey" --checkpoint "$dir/cp33" \
	--entries "$entries" "$dir/inc17"
"$tool" inclusion --entries "$entries" --size 70 --index 69 >"$dir/inc69"
accepts "inclusion of 69 in checkpoint 70" verify inclusion --log-vkey "$log_vkey" --checkpoint "$dir/cp70" \
	--entries "$entries" "$dir/inc69"
"$tool" consistency --entries "$entries" --old 33 --new 70 >"$dir/con"
accepts "33 -> 70 consistent" verify consistency --log-vkey "$log_vkey" --old "$dir/cp33" --new "$dir/cp70" "$dir/con"

# ---- tampering ----------------------------------------------------------------------------
sed '2s/.*/34/' "$dir/cp33" >"$dir/bad-size"
refuses "checkpoint with its size changed" verify checkpoint --log-vkey "$log_vkey" "$dir/bad-size"
sed '3s/^./A/;3s/^AA/BA/' "$dir/cp33" >"$dir/bad-root"
refuses "checkpoint with its root changed" verify checkpoint --log-vkey "$log_vkey" "$dir/bad-root"
sed 's/ledger.example\/log /ledger.example\/log2 /' "$dir/cp33" >"$dir/renamed"
refuses "log signature under another name" verify checkpoint --log-vkey "$log_vkey" "$dir/renamed"
refuses "a log key that did not sign" verify checkpoint --log-vkey "$($tool vkey --name $origin --seed "$other_seed")" \
	"$dir/cp33"
refuses "quorum of 2 with one trusted witness" verify checkpoint --log-vkey "$log_vkey" --witness-vkey "$w1_vkey" \
	--quorum 2 "$dir/cp33"
# A witness key with w1's name but another key: its ID differs, so w1's line is not its own.
refuses "a witness whose key did not cosign" verify checkpoint --log-vkey "$log_vkey" --witness-vkey "$other_vkey" \
	--quorum 1 "$dir/cp33"
# w1's cosignature line with its timestamp changed: the time is signed.
"$py" - "$dir/cp33" "$dir/bad-time" <<'PY'
import base64, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
for i, line in enumerate(lines):
    if line.startswith("\u2014 witness.example/w1 "):
        raw = bytearray(base64.b64decode(line.split(" ")[2]))
        raw[11] ^= 1
        lines[i] = "\u2014 witness.example/w1 " + base64.b64encode(bytes(raw)).decode()
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines))
PY
refuses "a cosignature with its time changed" verify checkpoint --log-vkey "$log_vkey" --witness-vkey "$w1_vkey" \
	"$dir/bad-time"
# The same note with a duplicated log line.
{ cat "$dir/cp33"; grep "^— $origin " "$dir/cp33"; } >"$dir/dup"
refuses "the log's signature twice" verify checkpoint --log-vkey "$log_vkey" "$dir/dup"
awk '{ if (NR == 1) { $4 = ($4 ~ /^A/) ? "B" substr($4, 2) : "A" substr($4, 2) } print }' "$dir/inc17" >"$dir/bad-inc"
refuses "inclusion proof with a hash changed" verify inclusion --log-vkey "$log_vkey" --checkpoint "$dir/cp33" \
	--entries "$entries" "$dir/bad-inc"
sed 's/^inclusion 17 /inclusion 16 /' "$dir/inc17" >"$dir/other-index"
refuses "inclusion proof for another index" verify inclusion --log-vkey "$log_vkey" --checkpoint "$dir/cp33" \
	--entries "$entries" "$dir/other-index"
refuses "inclusion proof against another checkpoint" verify inclusion --log-vkey "$log_vkey" --checkpoint "$dir/cp32" \
	--entries "$entries" "$dir/inc17"
# A rewrite: entry 10 changed and the log re-signed by the same key. The new checkpoint
# verifies alone; no consistency proof from the old one can exist, so a witness refuses it.
sed '11s/.*/event 10, rewritten/' "$entries" >"$dir/rewritten"
"$tool" checkpoint --name $origin --seed "$log_seed" --entries "$dir/rewritten" >"$dir/cp70-rewritten"
accepts "a rewritten log's checkpoint verifies alone" verify checkpoint --log-vkey "$log_vkey" "$dir/cp70-rewritten"
"$tool" consistency --entries "$dir/rewritten" --old 33 --new 70 >"$dir/con-rewritten"
refuses "rewrite: 33 -> rewritten 70 inconsistent" verify consistency --log-vkey "$log_vkey" --old "$dir/cp33" \
	--new "$dir/cp70-rewritten" "$dir/con-rewritten"
refuses "rewrite: the honest proof does not fit" verify consistency --log-vkey "$log_vkey" --old "$dir/cp33" \
	--new "$dir/cp70-rewritten" "$dir/con"
# A truncation: the log shows size 32 after having signed 33.
"$tool" consistency --entries "$entries" --old 32 --new 33 >"$dir/con-back"
refuses "truncation: 33 -> 32" verify consistency --log-vkey "$log_vkey" --old "$dir/cp33" --new "$dir/cp32" \
	"$dir/con-back"
# The C witness refuses to cosign what the log did not sign.
checks=$((checks + 1))
"$tool" cosign --name witness.example/w1 --seed "$w1_seed" --time 1 --log-vkey "$log_vkey" <"$dir/bad-size" \
	>/dev/null 2>&1
[ $? = 1 ] || fail "tlog-tool cosign accepted a checkpoint whose size was changed"

echo "$checks checks, $failures failures"
[ "$failures" = 0 ]
