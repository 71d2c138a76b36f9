#!/usr/bin/env bash
# evidence_read_only_test: ledger-audit evidence writes nothing under keys/ (docs/evidence.md), not
# even when the time-stamping unit's certificate is within its renewal margin, where ledgerd's start
# re-issues it (and records the new one). ledger-audit writes no log: a certificate it issued would
# seal a bundle while on no record.
#
# The audit's time is the system clock's (ledger-audit has no other), so the data directory is
# dated back: init and a first start by ledgerd-test-clock 1725 days ago (the units' certificates
# live 1825: 100 days are left now, within the default margin of 365), then a start now by ledgerd
# with --tsa-renew-days 30, which renews the expired platform seal and keeps the units. Then, with
# ledgerd stopped, the bundle: keys/ is the same byte for byte after it, the bundle verifies, and
# its seal's validation data holds the TSA certificate the log records.
set -uo pipefail
bin=${1:?usage: evidence_read_only_test.sh BIN_DIR}
dir=$(mktemp -d /tmp/ledger-evidence-ro-XXXXXX)
pid=
. "$(dirname "$0")/../support/lib.sh" # expect, contains, check, fail, report, keys_state, start_ledgerd
d=$dir/d
ctl() { "$bin/ledgerctl" --data "$d" "$@"; }
audit() { "$bin/ledger-audit" "$@"; }
pem_serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
days_left() { echo $((($(date -u -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s)) / 86400)); }
# a port of its own for the PKI endpoint: other tests' ledgerd may hold the default one
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

date -u -d "-1725 days" +%Y-%m-%dT%H:%M:%SZ >"$dir/clock"
expect 0 "init, 1725 days ago" -- "$bin/ledgerd-test-clock" init --data "$d" --clock-file "$dir/clock" \
	--pki-url "http://127.0.0.1:$port"
ledgerd_program=ledgerd-test-clock start_ledgerd "$d" --clock-file "$dir/clock"
stop_ledgerd

start_ledgerd "$d" --tsa-renew-days 30
"$py" "$(dirname "$0")/../support/make_pdf.py" "$dir/doc.pdf" --text "Lettre de mission"
ec=ec@lecture-seule.fr
ctl --platform account add $ec --name "EC Lecture" --ec >/dev/null
ctl --platform firm add RO --name "Cabinet Lecture" --ec $ec --siren 732829320 >/dev/null
col=$(ctl --as $ec collection create --firm RO --kind signature --title "Lettre de mission" --order sequential)
expect 0 "a document in the collection" -- ctl --as $ec collection add-document --firm RO "$col" "$dir/doc.pdf"
stop_ledgerd

left=$(days_left "$d/keys/signer-tsa.pem")
checks=$((checks + 1))
[ "$left" -gt 30 ] && [ "$left" -lt 365 ] ||
	fail "the TSA's certificate has $left days left: not within the default margin (365) and past ledgerd's (30)"
tsa_serial=$(audit export --data "$d" --what log 2>/dev/null | "$py" "$(dirname "$0")/../support/key_events.py" |
	awk '$2 == "created" && $3 == 2 {s = $5} END {print s}')
check "the TSA's certificate is the one on record" "$(pem_serial "$d/keys/signer-tsa.pem")" "$tsa_serial"

keys_state "$d" >"$dir/keys.before"
expect 0 "evidence bundle, the TSA within its margin" -- \
	audit evidence --data "$d" --firm RO --collection "$col" -o "$dir/ev.zip"
keys_state "$d" >"$dir/keys.after"
checks=$((checks + 1))
cmp -s "$dir/keys.before" "$dir/keys.after" ||
	fail "ledger-audit evidence changed keys/: $(diff "$dir/keys.before" "$dir/keys.after" | grep '^[<>]' | tr '\n' ' ')"
check "the TSA's certificate is still the one on record" "$(pem_serial "$d/keys/signer-tsa.pem")" "$tsa_serial"

cp "$d/keys/log.vkey" "$dir/log.vkey"
expect 0 "verify-evidence" -- audit verify-evidence "$dir/ev.zip" --log-key "$dir/log.vkey"
contains "sealed at B-LTA by the platform's seal whose KeyCreated the log records" "the certificate is sealed"
(cd "$dir" && unzip -q "$dir/ev.zip" certificat-de-preuve.pdf)
# qpdf and openssl read the seal's /DSS: the time-stamping unit's certificate there is the recorded one
expect 0 "the seal's validation data holds the TSA's certificate on record" -- \
	"$py" "$(dirname "$0")/dss_check.py" "$dir/certificat-de-preuve.pdf" "$d/keys/signer-ca.pem" \
	--cert-serial "$tsa_serial"

report evidence_read_only_test
