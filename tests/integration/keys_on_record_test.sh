#!/usr/bin/env bash
# keys_on_record_test: the keys ledgerd holds for itself are on record (docs/signer.md, "The keys
# on record"), against a real ledgerd. After the first start the log holds one KeyCreated per
# authority key (the root, the persons', seals' and time-stamping CAs, the TSA unit, the OCSP
# responder), each naming the certificate the CA actually has (the PEM files, and /ca.crt over
# HTTP), its serial and notAfter as openssl reads them, and its token label; and the platform's
# seal's KeyCreated (owner "platform"), its key in the token, its file holding no private key. A
# second start writes nothing, and destroys the file in the clear an older ledgerd kept the seal in. A start years later re-issues the TSA unit's certificate for the
# same key (a new KeyCreated) and the platform's seal near its end (a new KeyCreated, the old one's
# KeyDestroyed "superseded", its key gone). The log verifies and replays after each.
set -uo pipefail
bin=${1:?usage: keys_on_record_test.sh BIN_DIR}
dir=$(mktemp -d /tmp/ledger-keys-XXXXXX)
pid=
. "$(dirname "$0")/../support/lib.sh" # expect, contains, check, fail, report, cleanup
. "$(dirname "$0")/../support/token.sh" # token_labels, token_count
py=/usr/bin/python3
d=$dir/d
audit() { "$bin/ledger-audit" "$@"; }

# The key events of the log, one line each: seq event kind key_id serial sha256 not_after owner
# [reason], decoded by tests/support/key_events.py, which shares no code with ledgerd.
key_events() { audit export --data "$d" --what log 2>/dev/null | "$py" "$(dirname "$0")/../support/key_events.py"; }
der_sha() { openssl x509 -in "$1" -outform DER | sha256sum | cut -c1-64; }
pem_serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
pem_end() { date -u -d "$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" +%Y-%m-%d; }

# a port of its own for the PKI endpoint: other tests' ledgerd may hold the default one
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
expect 0 "init" -- "$bin/ledgerd" init --data "$d" --pki-url "$url"
start_ledgerd "$d"
checks=$((checks + 1))
grep -q "placeholder organizationIdentifier NTRFR-000000000" "$dir/log" ||
	fail "init named no organizationIdentifier: ledgerd warns that the CAs carry the placeholder"
first=$(head_seq)
key_events >"$dir/keys1"
checks=$((checks + 1))
[ "$(wc -l <"$dir/keys1")" = 7 ] || fail "seven keys on record after the first start: $(cat "$dir/keys1")"
# kind (proto/events.proto KeyKind), the certificate file, the token label
while read -r kind file label; do
	line=$(awk -v k="$kind" '$2 == "created" && $3 == k' "$dir/keys1")
	checks=$((checks + 1))
	[ "$(wc -l <<<"$line")" = 1 ] && [ -n "$line" ] || { fail "one KeyCreated of kind $kind: \"$line\""; continue; }
	read -r _ _ _ key_id serial sha not_after owner <<<"$line"
	check "kind $kind: the certificate's SHA-256 is $file's" "$sha" "$(der_sha "$d/keys/$file")"
	check "kind $kind: its serial" "$serial" "$(pem_serial "$d/keys/$file")"
	check "kind $kind: its notAfter" "$not_after" "$(pem_end "$d/keys/$file")"
	check "kind $kind: its key in the token" "$key_id" "token:$label"
	check "kind $kind: no owner" "$owner" "-"
	checks=$((checks + 1))
	[ "$(token_count "$d" "$label")" -ge 1 ] || fail "kind $kind: the token holds $label"
done <<'EOF'
1 signer-ca.pem signer-ca
8 signer-ca-persons.pem signer-ca-persons
9 signer-ca-seals.pem signer-ca-seals
10 signer-ca-tsa.pem signer-ca-tsa
2 signer-tsa.pem signer-tsa
3 signer-ocsp-persons.pem signer-ocsp
EOF
# The root the PKI endpoint serves is the one on record.
expect 0 "the root's certificate over HTTP" -- curl -sf -o "$dir/ca.der" "$url/ca.crt"
check "/ca.crt is the root on record" "$(sha256sum <"$dir/ca.der" | cut -c1-64)" \
	"$(awk '$3 == 1 {print $6}' "$dir/keys1")"

# The platform's seal: kept in the token, its file the certificate and the label only.
read -r _ _ _ seal_key seal_serial seal_sha seal_end seal_owner <<<"$(awk '$3 == 7' "$dir/keys1")"
check "the platform's seal: owner" "$seal_owner" platform
seal_file=$d/keys/signers/$seal_serial.pem
check "the platform's seal: its certificate is the one kept" "$(der_sha "$seal_file")" "$seal_sha"
check "the platform's seal: its key in the token" "$seal_key" "token:$(sed -n 's/^Token-Key-Label: //p' "$seal_file")"
check "the platform's seal: two token objects" "$(token_count "$d" "${seal_key#token:}")" 2
expect 0 "the platform seal's certificate" -- openssl x509 -in "$seal_file" -noout -subject -issuer
contains "JeSignExpert (plateforme)" "names the platform"
contains "JeSignExpert Seals CA" "issued by the seals' CA"
checks=$((checks + 1))
found=$(grep -rl "PRIVATE KEY" "$d" 2>/dev/null)
[ -z "$found" ] || fail "no PEM private key anywhere under the data directory: $found"
stop_ledgerd

# A keys directory from before kept the platform's seal as a file, its key in the clear
# (signer_credential_get_or_issue: SHA-256 of the tag, its NUL, the kind 2 and the id): a start
# destroys it, and records nothing again.
legacy=$d/keys/signers/$("$py" -c 'import hashlib; print(hashlib.sha256(b"jse-signer-credential-v1\0\x02JeSignExpert (plateforme)").hexdigest())').pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$legacy" 2>/dev/null
checks=$((checks + 1))
grep -q "PRIVATE KEY" "$legacy" || fail "the former seal's file holds a key in the clear"
start_ledgerd "$d"
check "a second start writes no event" "$(head_seq)" "$first"
checks=$((checks + 1))
[ ! -e "$legacy" ] || fail "the former seal's file with its key in the clear is destroyed"
checks=$((checks + 1))
grep -q "destroyed the platform seal's former key file" "$dir/log" || fail "and ledgerd says so"
stop_ledgerd
expect 0 "the log verifies" -- audit verify --data "$d"
expect 0 "the projections replay" -- audit replay --data "$d"

# Years later (the tests' clock), close to the seal's end (under 90 days left) and with a units'
# renewal margin of 4 years: the TSA unit's and the OCSP responder's certificates are re-issued
# for the same keys, the platform's seal is re-issued, the old one destroyed.
later=$(date -u -d "$seal_end - 60 days" +%Y-%m-%dT12:00:00Z)
echo "$later" >"$dir/clock"
rm -f "$dir/ready"
"$bin/ledgerd-test-clock" serve --data "$d" --clock-file "$dir/clock" --tsa-renew-days 1460 --ready-fd 3 \
	3>"$dir/ready" 2>"$dir/log" &
pid=$!
for _ in $(seq 600); do grep -q ready "$dir/ready" 2>/dev/null && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
grep -q ready "$dir/ready" || { fail "ledgerd did not start at $later: $(cat "$dir/log")"; report keys_on_record_test; }
key_events >"$dir/keys2"
tail -n +8 "$dir/keys2" >"$dir/new"
checks=$((checks + 1))
[ "$(wc -l <"$dir/new")" = 4 ] || fail "four key events at the later start: $(cat "$dir/new")"
while read -r kind file label; do
	read -r _ _ _ unit_key unit_serial unit_sha _ <<<"$(awk -v k="$kind" '$2 == "created" && $3 == k' "$dir/new")"
	check "the re-issued $file: the file's" "$unit_sha" "$(der_sha "$d/keys/$file")"
	check "the re-issued $file: the same key" "$unit_key" "token:$label"
	checks=$((checks + 1))
	[ "$unit_serial" != "$(awk -v k="$kind" '$3 == k {print $5}' "$dir/keys1")" ] ||
		fail "the re-issued $file has a new serial"
done <<'EOF'
2 signer-tsa.pem signer-tsa
3 signer-ocsp-persons.pem signer-ocsp
EOF
read -r _ _ _ new_key new_serial new_sha _ new_owner <<<"$(awk '$2 == "created" && $3 == 7' "$dir/new")"
check "a new platform seal: owner" "$new_owner" platform
check "a new platform seal: its certificate is the one kept" "$(der_sha "$d/keys/signers/$new_serial.pem")" "$new_sha"
checks=$((checks + 1))
[ "$new_serial" != "$seal_serial" ] && [ "$new_key" != "$seal_key" ] || fail "a new key and certificate"
check "the old seal's KeyDestroyed" "$(awk '$2 == "destroyed" {print $3, $4, $5, $9}' "$dir/new")" \
	"7 $seal_key $seal_serial superseded"
checks=$((checks + 1))
[ ! -e "$seal_file" ] || fail "the old seal's file is gone"
check "the old seal's key is gone from the token" "$(token_count "$d" "${seal_key#token:}")" 0
kill -TERM "$pid"
wait "$pid"
pid=
expect 0 "the log verifies after the renewals" -- audit verify --data "$d"
expect 0 "the projections replay after the renewals" -- audit replay --data "$d"

report keys_on_record_test
