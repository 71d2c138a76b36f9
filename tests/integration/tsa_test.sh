#!/usr/bin/env bash
# tsa_test: ledgerd with an external RFC 3161 time-stamping authority (serve --tsa-url,
# docs/signer.md). The authority is tsa_responder.py, `openssl ts -reply` behind HTTP: an
# implementation that shares no code with the signer. A seal takes both its time-stamps (B-T and
# the B-LTA document time-stamp) from it, and `openssl ts -verify` checks the document
# time-stamp against that authority's CA. A service clock 200 s off, an authority from
# another CA, one that fails or answers garbage: each refuses the signature, on record, and a
# retry once the authority is right again signs. The authority's certificate names a CRL
# distribution point the responder serves (a CRL made by `openssl ca -gencrl`): that CRL is in
# the /DSS, and in the /DSS update of an archive renewal, whose document time-stamp is the
# authority's too; when the CRL cannot be fetched, ledgerd says so at start and the /DSS holds
# the authority's certificates only.
set -uo pipefail
bin=${1:?usage: tsa_test.sh BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/ledger-tsa-XXXXXX)
pid=
responder=
. "$here/../support/lib.sh" # expect, contains, json_ok, equals, fail, report, cleanup
trap '[ -n "$responder" ] && kill "$responder" 2>/dev/null; cleanup' EXIT

# The responder first: the authorities' certificates name its address. It reads their files at
# each request.
echo ok >"$dir/mode"
/usr/bin/python3 "$here/tsa_responder.py" --port-file "$dir/port" --mode-file "$dir/mode" --log "$dir/requests" \
	--ok "$dir/A/ts.cnf" --untrusted "$dir/B/ts.cnf" --crl "$dir/A/crl.der" &
responder=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
url=http://127.0.0.1:$(cat "$dir/port")/tsa
crl_url=http://127.0.0.1:$(cat "$dir/port")/crl

# Two authorities, each with its own CA: the one ledgerd trusts, and another. Each TSA's
# certificate names the CRL its CA publishes at crl_url (the responder serves A's); --tsa-ca is
# the chain (TSA, CA).
authority() { # NAME: DIR/NAME/{ca.pem,tsa.pem,chain.pem,tsa.key,ts.cnf,crl.der}
	local a=$dir/$1
	mkdir -p "$a"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$a/ca.key" \
		-out "$a/ca.pem" -days 30 -subj "/CN=Test TSA CA $1" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$a/tsa.key" -out "$a/tsa.csr" \
		-subj "/CN=Test TSA $1" 2>/dev/null
	printf 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\ncrlDistributionPoints=URI:%s\n' \
		"$crl_url" >"$a/ext"
	openssl x509 -req -in "$a/tsa.csr" -CA "$a/ca.pem" -CAkey "$a/ca.key" -CAcreateserial -days 30 \
		-extfile "$a/ext" -out "$a/tsa.pem" 2>/dev/null
	cat "$a/tsa.pem" "$a/ca.pem" >"$a/chain.pem"
	echo 01 >"$a/serial"
	: >"$a/index.txt"
	echo 01 >"$a/crlnumber"
	printf '[ ca ]\ndefault_ca = ca_config\n[ ca_config ]\ndatabase = %s/index.txt\ncrlnumber = %s/crlnumber\ncertificate = %s/ca.pem\nprivate_key = %s/ca.key\ndefault_md = sha256\ndefault_crl_days = 7\n' \
		"$a" "$a" "$a" "$a" >"$a/ca.cnf"
	openssl ca -gencrl -config "$a/ca.cnf" -out "$a/crl.pem" 2>/dev/null &&
		openssl crl -in "$a/crl.pem" -outform DER -out "$a/crl.der" || {
		echo "FAIL: openssl ca -gencrl"
		exit 1
	}
	cat >"$a/ts.cnf" <<EOF
[ tsa_config ]
serial = $a/serial
crypto_device = builtin
signer_cert = $a/tsa.pem
certs = $a/ca.pem
signer_key = $a/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
EOF
}
authority A
authority B

d=$dir/d
clock=$dir/clock
now() { date -u -d "@$(($(date +%s) + ${1:-0}))" +%Y-%m-%dT%H:%M:%SZ; }
now >"$clock"
ctl() { "$bin/ledgerctl" --data "$d" "$@"; }
"$bin/ledgerd" init --data "$d" >/dev/null || { echo "FAIL: init"; exit 1; }

# The options are checked before anything starts.
expect 2 "--tsa-url without --tsa-ca" -- "$bin/ledgerd" serve --data "$d" --tsa-url "$url"
contains "--tsa-url and --tsa-ca go together" "says what is missing"
expect 2 "--tsa-tolerance 0" -- "$bin/ledgerd" serve --data "$d" --tsa-url "$url" --tsa-ca "$dir/A/ca.pem" \
	--tsa-tolerance 0
contains "--tsa-tolerance 0: seconds, 1 to 3600" "names the bad value and the range"
expect 1 "an ftp:// authority" -- "$bin/ledgerd" serve --data "$d" --tsa-url ftp://x --tsa-ca "$dir/A/ca.pem"
contains "is not http(s)://" "says why"
expect 1 "anchors that are no certificate" -- "$bin/ledgerd" serve --data "$d" --tsa-url "$url" \
	--tsa-ca "$dir/mode"
contains "no PEM certificate" "says why"

serve() {
	rm -f "$d/ledgerd.sock"
	"$bin/ledgerd-test-clock" serve --data "$d" --clock-file "$clock" --tsa-url "$url" --tsa-ca "$dir/A/chain.pem" \
		--tsa-tolerance 120 --tsa-timeout-ms 5000 >"$dir/log" 2>&1 &
	pid=$!
	for _ in $(seq 600); do [ -S "$d/ledgerd.sock" ] && break; sleep 0.05; done
}
serve
out=$(cat "$dir/log")
contains "revocation data: 1 CRL(s)" "ledgerd fetched the authority's CRL at start"

/usr/bin/python3 "$here/../support/make_pdf.py" "$dir/doc.pdf" --text "Statuts 2027"
ec=ec@tsa.fr
ctl --platform account add $ec --name "EC Horodatage" --ec >/dev/null
ctl --platform firm add TSA --name "Cabinet Horodatage" --ec $ec --siren 732829320 >/dev/null
ctl --as $ec credits add --firm TSA --credits 10 >/dev/null

# seal: a new seal collection of the PDF; prints its id
seal() {
	local c
	c=$(ctl --as $ec collection create --firm TSA --kind seal --title "Statuts")
	ctl --as $ec collection add-document --firm TSA "$c" "$dir/doc.pdf" >/dev/null
	ctl --as $ec collection seal --firm TSA "$c" >/dev/null
	echo "$c"
}
# settle ID [completed]: waits until the seal is made (prints "completed") or, without
# "completed", has failed (prints the failure, which stays on record until a seal is made)
settle() {
	local r=
	for _ in $(seq 100); do
		r=$(ctl --as $ec --json collection show --firm TSA "$1" | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)["collection"]
print("completed" if c["state"] == "completed" else c["documents"][0].get("failure", ""))')
		[ -n "$r" ] && { [ -z "${2:-}" ] || [ "$r" = completed ]; } && break
		sleep 0.1
	done
	echo "$r"
}

# 1. The authority ledgerd trusts, at the service's time: the seal is made with its tokens.
c1=$(seal)
out=$(settle "$c1")
contains completed "a seal time-stamped by the external authority"
signed=$(ctl --as $ec --json collection show --firm TSA "$c1" |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["collection"]["documents"][0]["current_sha256"])')
ctl --as $ec document get --firm TSA "$signed" -o "$dir/sealed.pdf" >/dev/null
checks=$((checks + 1))
[ "$(grep -c '^ok ' "$dir/requests")" -ge 2 ] || fail "the signature time-stamp and the document time-stamp come from the authority"
expect 0 "pdfsig" -- pdfsig "$dir/sealed.pdf"
contains "Signature is Valid." "pdfsig: the seal is valid"
expect 0 "qpdf --check" -- qpdf --check "$dir/sealed.pdf"
# The document time-stamp, by openssl over its byte range, against the authority's CA.
/usr/bin/python3 - "$dir/sealed.pdf" "$dir/range.bin" "$dir/token.der" <<'PY' || fail "cannot extract the document time-stamp"
import re, sys
pdf = open(sys.argv[1], "rb").read()
last = list(re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf))[-1]
a, b, c, d = map(int, last.groups())
open(sys.argv[2], "wb").write(pdf[a:a + b] + pdf[c:c + d])
contents = bytes.fromhex(pdf[a + b:c].strip(b"<>").decode())
n = contents[1] & 0x7f if contents[1] & 0x80 else 0
length = int.from_bytes(contents[2:2 + n], "big") + 2 + n if n else contents[1] + 2
open(sys.argv[3], "wb").write(contents[:length])
PY
expect 0 "openssl ts -verify: the document time-stamp is the authority's" -- openssl ts -verify -token_in \
	-in "$dir/token.der" -data "$dir/range.bin" -CAfile "$dir/A/ca.pem"
contains "Verification: OK" "openssl says OK"
expect 1 "and does not verify against the other CA" -- openssl ts -verify -token_in -in "$dir/token.der" \
	-data "$dir/range.bin" -CAfile "$dir/B/ca.pem"
expect 0 "the token names the authority" -- openssl ts -reply -token_in -in "$dir/token.der" -token_out -text
contains "Test TSA A" "TSA: the external authority"
# The /DSS holds the authority's CA beside the signer's chain.
cat "$d/keys/signer-ca.pem" "$dir/A/ca.pem" >"$dir/anchors.pem"
expect 0 "the /DSS (qpdf + openssl)" -- /usr/bin/python3 "$here/dss_check.py" "$dir/sealed.pdf" "$dir/anchors.pem" \
	--ocsp 1 --vri 1 --crl "$dir/A/crl.der"
contains "vri=1" "a /VRI entry for the seal"

# The archive renewal of the sealed document: a /DSS update with the authority's CRL, fetched
# again, and a document time-stamp by the authority (openssl ts -verify against its CA).
stamps_before=$(grep -c '^ok ' "$dir/requests")
crls_before=$(grep -c '^crl ' "$dir/requests")
expect 0 "renew-timestamp" -- ctl --as $ec --json document renew-timestamp --firm TSA "$c1"
equals 'j["renewed"]' True "renewed"
renewed=$(field 'j["renewed_sha256"]')
checks=$((checks + 1))
[ "$(grep -c '^ok ' "$dir/requests")" = $((stamps_before + 1)) ] &&
	[ "$(grep -c '^crl ' "$dir/requests")" -gt "$crls_before" ] ||
	fail "the renewal's time-stamp comes from the authority, and its CRL is fetched again"
ctl --as $ec document get --firm TSA "$renewed" -o "$dir/renewed.pdf" >/dev/null
expect 0 "pdfsig on the renewed seal" -- pdfsig "$dir/renewed.pdf"
contains "Signature is Valid." "the seal is still valid"
expect 0 "qpdf --check on the renewed seal" -- qpdf --check "$dir/renewed.pdf"
/usr/bin/python3 - "$dir/renewed.pdf" "$dir/range2.bin" "$dir/token2.der" <<'PY' || fail "cannot extract the renewal's time-stamp"
import re, sys
pdf = open(sys.argv[1], "rb").read()
last = list(re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf))[-1]
a, b, c, d = map(int, last.groups())
assert c + d == len(pdf), "the last time-stamp covers the whole file"
open(sys.argv[2], "wb").write(pdf[a:a + b] + pdf[c:c + d])
contents = bytes.fromhex(pdf[a + b:c].strip(b"<>").decode())
n = contents[1] & 0x7f if contents[1] & 0x80 else 0
length = int.from_bytes(contents[2:2 + n], "big") + 2 + n if n else contents[1] + 2
open(sys.argv[3], "wb").write(contents[:length])
PY
expect 0 "openssl ts -verify: the renewal's time-stamp is the authority's" -- openssl ts -verify -token_in \
	-in "$dir/token2.der" -data "$dir/range2.bin" -CAfile "$dir/A/ca.pem"
expect 0 "the first time-stamp still verifies" -- openssl ts -verify -token_in -in "$dir/token.der" \
	-data "$dir/range.bin" -CAfile "$dir/A/ca.pem"
expect 0 "the renewed /DSS: the CRL, and a /VRI for the seal and the first time-stamp" -- \
	/usr/bin/python3 "$here/dss_check.py" "$dir/renewed.pdf" "$dir/anchors.pem" --ocsp 1 --vri 2 --crl "$dir/A/crl.der"

# 2. The service's clock 200 s behind the authority's (within the 300 s that tokens allow, so
# the commands are taken): the seal is refused, on record.
now -200 >"$clock"
c2=$(seal)
out=$(settle "$c2")
contains "clock disagrees with the time-stamping authority" "a clock 200 s off is refused"
contains "over the tolerance of 120 s" "says the tolerance"
now >"$clock"

# 3. An authority of another CA, one that fails, one that answers garbage: each refused.
echo untrusted >"$dir/mode"
c3=$(seal)
out=$(settle "$c3")
contains "does not verify" "a token from another CA is refused"
echo error >"$dir/mode"
c4=$(seal)
out=$(settle "$c4")
contains "HTTP status 500" "an authority that fails"
echo garbage >"$dir/mode"
c5=$(seal)
out=$(settle "$c5")
contains "not a TimeStampResp" "an authority that answers garbage"

# 4. The authority right again: a retry signs.
echo ok >"$dir/mode"
expect 0 "retry" -- ctl --as $ec collection retry --firm TSA "$c3"
out=$(settle "$c3" completed)
contains completed "the retried seal is made"
# renew-due, as an operator's cron runs it: nothing is due before 2000; everything completed is
# before 2100 (the seal renewed above, and the retried one).
head_before=$("$bin/ledgerctl" --data "$d" --platform --json head | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
expect 2 "renew-due without --due-before" -- ctl --platform document renew-due --firm TSA
contains "needs --due-before" "says what is missing"
expect 0 "renew-due, nothing due" -- ctl --platform document renew-due --firm TSA --due-before 2000-01-01
contains "0 document(s) re-time-stamped in 2 completed collection(s)" "nothing renewed"
contains "not due" "each document is said not due"
head_after=$("$bin/ledgerctl" --data "$d" --platform --json head | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
check "nothing written when nothing is due" "$head_after" "$head_before"
expect 2 "renew-due with one request id for many documents" -- ctl --platform --request-id cron-1 document renew-due --firm TSA --due-before 2100-01-01
contains "leave --request-id out" "says why"
expect 0 "renew-due, all due" -- ctl --platform document renew-due --firm TSA --due-before 2100-01-01
contains "2 document(s) re-time-stamped in 2 completed collection(s)" "both renewed"

# 5. The CRL gone (HTTP 404): ledgerd says so at start, and a seal's /DSS holds the authority's
# certificates only.
kill "$pid" && wait "$pid"
mv "$dir/A/crl.der" "$dir/A/crl.der.saved"
serve
out=$(cat "$dir/log")
contains "revocation data: none" "ledgerd says the authority's CRL cannot be had"
contains "HTTP status 404" "and why"
c6=$(seal)
out=$(settle "$c6" completed)
contains completed "a seal without the authority's CRL"
signed=$(ctl --as $ec --json collection show --firm TSA "$c6" |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["collection"]["documents"][0]["current_sha256"])')
ctl --as $ec document get --firm TSA "$signed" -o "$dir/no-crl.pdf" >/dev/null
expect 0 "its /DSS" -- /usr/bin/python3 "$here/dss_check.py" "$dir/no-crl.pdf" "$dir/anchors.pem" --ocsp 1 --vri 1
contains "crls=2 " "the root's CRL and the seals' CA's only"
expect 0 "the log verifies" -- "$bin/ledger-audit" verify --data "$d"

report tsa_test
