#!/usr/bin/env bash
# platform_seal_test: the cases of the platform's seal (docs/signer.md, "The keys on record") that
# keys_on_record_test and evidence_test leave out, against a real ledgerd. A seal whose kept key
# is lost is issued again at the next start, at once, not at its end: a new KeyCreated, the old
# one's KeyDestroyed, and bundles sealed by the new one verify. A bundle that proves a genuine
# KeyCreated of a platform seal, but of another seal than the one that sealed it (the old one,
# proved against the very same checkpoint), is refused by verify-evidence: the seal is checked
# against the certificate the proved record names, not merely against its kind. ledger-audit
# never issues a credential: on a data directory ledgerd never served it refuses, writes no zip
# and keeps no key.
set -uo pipefail
bin=${1:?usage: platform_seal_test.sh BIN_DIR}
dir=$(mktemp -d /tmp/ledger-seal-XXXXXX)
pid=
. "$(dirname "$0")/../support/lib.sh" # expect, contains, check, fail, report, cleanup, start_ledgerd
py=/usr/bin/python3
here=$(dirname "$0")

d=$dir/d
k=$d/keys
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect 0 "init" -- "$bin/ledgerd" init --data "$d" --pki-url "http://127.0.0.1:$port"
ctl() { "$bin/ledgerctl" --data "$d" "$@"; }
audit() { "$bin/ledger-audit" "$@"; }

# keys: one line per platform seal key event of the log, "created|destroyed SEQ SERIAL SHA256",
# from tests/support/key_events.py, a protobuf reader of its own (KeyKind 7 is the platform's seal).
keys() {
	audit export --data "$d" --what log 2>/dev/null | "$py" "$here/../support/key_events.py" |
		awk '$3 == 7 { print $2, $1, $5, ($2 == "created" ? $6 : "-") }'
}
seal_now() { ls "$k/signers" | grep -v -x -e "$firm_seal" | sed 's/\.pem$//'; }

start_ledgerd "$d"
"$py" "$here/../support/make_pdf.py" "$dir/doc.pdf" --text "Lettre de mission"
ec=ec@seal.fr
ctl --platform account add $ec --name "EC Sceau" --ec >/dev/null
firm_seal=
first=$(seal_now)
ctl --platform firm add SEA --name "Cabinet Sceau" --ec $ec --siren 732829320 >/dev/null
firm_seal=$(ls "$k/signers" | grep -v -x "$first.pem") # the firm's seal, issued with it
col=$(ctl --as $ec collection create --firm SEA --kind signature --title "Lettre")
ctl --as $ec collection add-document --firm SEA "$col" "$dir/doc.pdf" >/dev/null
stop_ledgerd
checks=$((checks + 1))
[[ "$first" =~ ^[0-9A-F]{32}$ ]] || fail "the first start keeps the platform's seal: \"$first\""

# ----- a lost seal is issued again at the next start -----
rm "$k/signers/$first.pem"
start_ledgerd "$d"
expect 0 "a bundle over RPC after the loss" -- ctl --as $ec collection evidence --firm SEA "$col" -o "$dir/new.zip"
stop_ledgerd
contains_log() { checks=$((checks + 1)); grep -q "$1" "$dir/log" || fail "$2"; }
contains_log "the platform's seal $first is re-issued" "ledgerd says the lost seal is replaced"
keys >"$dir/keys"
second=$(seal_now)
checks=$((checks + 1))
[[ "$second" =~ ^[0-9A-F]{32}$ ]] && [ "$second" != "$first" ] || fail "a new platform seal: \"$second\""
second_sha=$(openssl x509 -in "$k/signers/$second.pem" -outform DER | sha256sum | cut -c1-64)
checks=$((checks + 1))
grep -q "^created [0-9]* $second $second_sha$" "$dir/keys" || fail "the new seal's KeyCreated names its certificate"
checks=$((checks + 1))
grep -q "^destroyed [0-9]* $first -$" "$dir/keys" || fail "the lost seal ends on record (KeyDestroyed)"
cp "$k/log.vkey" "$dir/log.vkey"
expect 0 "verify-evidence of the bundle sealed by the new seal" -- audit verify-evidence "$dir/new.zip" --log-key "$dir/log.vkey"

# ----- the old seal's genuine KeyCreated in place of the new one's -----
old_seq=$(awk -v s="$first" '$1 == "created" && $3 == s {print $2}' "$dir/keys")
mkdir "$dir/old" && unzip -p "$dir/new.zip" checkpoint.txt >"$dir/old/checkpoint.txt"
expect 0 "the old seal's KeyCreated (record $old_seq) proved against the bundle's checkpoint" -- \
	audit prove --data "$d" --seq "$old_seq" --tlog-proof "$dir/old/platform-seal.tlog-proof" \
	--checkpoint "$dir/old/checkpoint.txt"
cp "$dir/new.zip" "$dir/oldseal.zip" && (cd "$dir/old" && zip -q "$dir/oldseal.zip" platform-seal.tlog-proof)
expect 1 "verify-evidence refuses a bundle proving another seal's KeyCreated" -- \
	audit verify-evidence "$dir/oldseal.zip" --log-key "$dir/log.vkey"
contains "is not the platform's seal the log records" "says the seal is not the one on record"

# ----- renewed while serving -----
# A ledgerd that runs for months: the tests' clock moves past (notAfter - 90 days) while it serves,
# and within a few seconds, without a restart, the seal is re-issued as a start would: the new
# one's KeyCreated, the old one's KeyDestroyed, its file gone, once only; a bundle sealed then (a
# token and verify-evidence at that time, by faketime) is sealed by the new one and verifies.
seal_end=$(openssl x509 -in "$k/signers/$second.pem" -noout -enddate | cut -d= -f2)
date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/clock"
ledgerd_program=ledgerd-test-clock start_ledgerd "$d" --clock-file "$dir/clock"
serving=$pid
renewal_at=$(date -u -d "$seal_end - 60 days" +%Y-%m-%dT12:00:00Z)
echo "$renewal_at" >"$dir/clock"
for _ in $(seq 100); do
	grep -q "recorded the platform's seal" "$dir/log" && break
	sleep 0.1
done
sleep 2 # a few more expiry scans: the renewal is not made again
keys >"$dir/keys3"
diff "$dir/keys" "$dir/keys3" | sed -n 's/^> //p' >"$dir/renewed"
third=$(seal_now)
checks=$((checks + 1))
[[ "$third" =~ ^[0-9A-F]{32}$ ]] && [ "$third" != "$second" ] || fail "a new platform seal while serving: \"$third\""
third_sha=$(openssl x509 -in "$k/signers/$third.pem" -outform DER 2>/dev/null | sha256sum | cut -c1-64)
check "the key events of the renewal" "$(awk '{print $1, $3, $4}' "$dir/renewed" | sort | tr '\n' ' ')" \
	"created $third $third_sha destroyed $second - "
checks=$((checks + 1))
[ ! -e "$k/signers/$second.pem" ] || fail "the superseded seal's file is gone"
checks=$((checks + 1))
[ "$pid" = "$serving" ] && kill -0 "$pid" 2>/dev/null || fail "ledgerd still serves, not restarted"
contains_log "the platform's seal $second is re-issued: it nears its end" "ledgerd says the seal is renewed"
at="@$(date -u -d "$renewal_at" '+%Y-%m-%d %H:%M:%S')"
export FAKETIME_DONT_FAKE_MONOTONIC=1
# faketime preloads libfaketime ahead of an ASan build's runtime, which ASan refuses by default.
saved_asan_options=${ASAN_OPTIONS-}
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
expect 0 "a bundle over RPC after the renewal" -- faketime -f "$at" "$bin/ledgerctl" --data "$d" --as $ec \
	collection evidence --firm SEA "$col" -o "$dir/renewed.zip"
check "the bundle names the renewed seal" "$(unzip -p "$dir/renewed.zip" platform-seal.der | sha256sum | cut -c1-64)" \
	"$third_sha"
expect 0 "verify-evidence of the bundle sealed by the renewed seal" -- \
	faketime -f "$at" "$bin/ledger-audit" verify-evidence "$dir/renewed.zip" --log-key "$dir/log.vkey"
unset FAKETIME_DONT_FAKE_MONOTONIC
export ASAN_OPTIONS=$saved_asan_options
stop_ledgerd
ledgerd_program=ledgerd-test-clock start_ledgerd "$d" --clock-file "$dir/clock"
stop_ledgerd
keys >"$dir/keys4"
check "a start after the renewal re-issues nothing" "$(wc -l <"$dir/keys4")" "$(wc -l <"$dir/keys3")"

# ----- ledger-audit never issues a seal -----
"$bin/ledgerd" init --data "$dir/never" >/dev/null 2>&1
checks=$((checks + 1))
audit evidence --data "$dir/never" --firm SEA --collection "$col" -o "$dir/never.zip" >/dev/null 2>&1 &&
	fail "ledger-audit evidence on a directory ledgerd never served"
checks=$((checks + 1))
[ ! -e "$dir/never.zip" ] && [ -z "$(ls "$dir/never/keys/signers" 2>/dev/null)" ] || fail "no zip, no key issued"
expect 0 "ledger-audit verify" -- audit verify --data "$d"
expect 0 "ledger-audit replay" -- audit replay --data "$d"
checks=$((checks + 1))
found=$(grep -rl "PRIVATE KEY" "$d" 2>/dev/null)
[ -z "$found" ] || fail "no PEM private key under the data directory: $found"

report platform_seal_test
