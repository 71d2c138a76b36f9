#!/usr/bin/env bash
# evidence_test: the human-readable part of an evidence bundle (docs/evidence.md). A collection
# signed by two external signers gives a certificate of completion and one attestation per
# signer, each sealed by the platform at PAdES B-LTA: pdfsig, qpdf and openssl accept the seal,
# pdftotext reads the French; an attestation shows its signer only; verify-evidence refuses a
# bundle whose sealed documents are missing, changed, swapped or from another bundle. An archive
# renewal's version is in the next bundle, which verifies.
set -uo pipefail
bin=${1:?usage: evidence_test.sh BIN_DIR}
dir=$(mktemp -d /tmp/ledger-evidence-XXXXXX)
pid=
. "$(dirname "$0")/../support/lib.sh" # expect, contains, json_ok, equals, fail, report, cleanup, keys_state

d=$dir/d
ctl() { "$bin/ledgerctl" --data "$d" "$@"; }
audit() { "$bin/ledger-audit" "$@"; }
"$bin/ledgerd" init --data "$d" >/dev/null || { echo "FAIL: init"; exit 1; }
"$bin/ledgerd" serve --data "$d" >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 600); do [ -S "$d/ledgerd.sock" ] && break; sleep 0.05; done

/usr/bin/python3 "$(dirname "$0")/../support/make_pdf.py" "$dir/doc.pdf" --text "Lettre de mission 2027"
ec=ec@evidence.fr
ctl --platform account add $ec --name "EC Preuve" --ec >/dev/null
ctl --platform firm add EVD --name "Cabinet Preuve" --ec $ec --siren 732829320 >/dev/null
ctl --as $ec credits add --firm EVD --credits 5 >/dev/null
col=$(ctl --as $ec collection create --firm EVD --kind signature --title "Lettre de mission" --order sequential)
ctl --as $ec collection add-document --firm EVD "$col" "$dir/doc.pdf" >/dev/null
ctl --as $ec collection add-signer --firm EVD "$col" --email anne@client-a.fr --name "Anne Àlavoine" \
	--external --phone "+33 6 11 22 33 44" >/dev/null
ctl --as $ec collection add-signer --firm EVD "$col" --email bruno@client-b.fr --name "Bruno Bérard" \
	--external --phone "+33 6 55 66 77 88" >/dev/null
ctl --as $ec collection send --firm EVD "$col" >/dev/null
# A consent rests on a fresh authentication and names the versions to be signed
# (docs/collections.md#consent): each refusal is typed and changes nothing.
shown=$(ctl --platform --json collection show --firm EVD "$col" | /usr/bin/python3 -c \
	'import json,sys; print(",".join(d["current_sha256"] for d in json.load(sys.stdin)["collection"]["documents"]))')
anne() { ctl --platform collection report --firm EVD "$col" --signer anne@client-a.fr "$@"; }
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
expect 1 "a consent without an authentication" -- anne --action consented --documents "$shown" --consent-version C1
contains "no authentication of the last 15 minutes on record" "says an authentication is needed first"
expect 2 "authenticated without where the code went" -- anne --action authenticated --method sms
contains "needs --masked-destination and --code-sent-at" "says what is missing"
expect 1 "a destination in the clear" -- anne --action authenticated --method sms \
	--masked-destination "+33 6 11 22 33 44" --code-sent-at "$now"
contains "masked_destination must say where the code went, masked" "says it must be masked"
expect 1 "a code sent in the future" -- anne --action authenticated --method sms \
	--masked-destination "+33 6** ** ** 44" --code-sent-at 2099-01-01T00:00:00Z
contains "code_sent_at_us must be when the code was sent, before now" "says when it must be"
expect 0 "authenticated" -- anne --action authenticated --method sms --masked-destination "+33 6** ** ** 44" \
	--code-sent-at "$now"
other=$(printf 'autre' | sha256sum | cut -c1-64)
expect 1 "a consent over another version" -- anne --action consented --documents "$other" --consent-version C1
contains "the consent's 1 versions are not the 1 documents" "says the versions are not those to be signed"
expect 1 "a consent over the version twice" -- anne --action consented --documents "$shown,$shown" --consent-version C1
contains "the consent's 2 versions" "says how many"
expect 2 "a consent without the text's version" -- anne --action consented --documents "$shown"
expect 0 "the collection did not move" -- ctl --as $ec --json collection show --firm EVD "$col"
equals 'j["collection"]["signers"][0].get("signed", False)' False "nothing was signed on those refusals"

# In turn: the second signer may consent once the first one's signature is made.
for who in anne@client-a.fr bruno@client-b.fr; do
	ctl --platform collection report --firm EVD "$col" --signer $who --action authenticated --method sms \
		--provider-ref "OTP-${who%%@*}" --masked-destination "+33 6** ** ** 44" \
		--code-sent-at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
	shown=$(ctl --platform --json collection show --firm EVD "$col" | /usr/bin/python3 -c \
		'import json,sys; print(",".join(d["current_sha256"] for d in json.load(sys.stdin)["collection"]["documents"]))')
	ctl --platform collection report --firm EVD "$col" --signer $who --action consented --documents "$shown" \
		--consent-version CONSENTEMENT-2026 >/dev/null
	for _ in $(seq 100); do
		ctl --as $ec --json collection show --firm EVD "$col" | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)["collection"]
sys.exit(0 if sys.argv[1] in c["documents"][0].get("signed_by", []) else 1)' $who && break
		sleep 0.1
	done
done
state=
for _ in $(seq 100); do
	state=$(ctl --as $ec --json collection show --firm EVD "$col" |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["collection"]["state"])')
	[ "$state" = completed ] && break
	sleep 0.1
done
checks=$((checks + 1))
[ "$state" = completed ] || fail "the collection did not complete (state $state)"

# Events name external signers by their id only (docs/personal-data.md): the ids, from the view.
ids=$(ctl --as $ec --json collection show --firm EVD "$col" | /usr/bin/python3 -c \
	'import json,sys; print(" ".join(s["signer_id"] for s in json.load(sys.stdin)["collection"]["signers"]))')
id_a=${ids%% *}
id_b=${ids##* }
checks=$((checks + 1))
case "$id_a$id_b" in s-??????????????????????????s-??????????????????????????) ;;
*) fail "each external signer has a signer id (s- and 26 characters): got \"$ids\"" ;; esac

cp "$d/keys/log.vkey" "$dir/log.vkey"
# The offline tool writes no log, so it must make no key or certificate: keys/ and the token's
# objects stay byte for byte (signer_ca_set_read_only; evidence_read_only_test covers a TSA within
# its renewal margin).
keys_state "$d" >"$dir/keys.before"
expect 0 "evidence bundle" -- audit evidence --data "$d" --firm EVD --collection "$col" -o "$dir/ev.zip"
keys_state "$d" >"$dir/keys.after"
checks=$((checks + 1))
cmp -s "$dir/keys.before" "$dir/keys.after" || fail "ledger-audit evidence changed keys/: $(diff "$dir/keys.before" "$dir/keys.after" | tr "\n" " ")"
expect 0 "verify-evidence" -- audit verify-evidence "$dir/ev.zip" --log-key "$dir/log.vkey"
contains "the certificate of completion and 2 attestations are sealed at B-LTA by the platform's seal whose KeyCreated the log records" \
	"the certificate and both attestations are checked"
expect 0 "verify-evidence --json" -- audit verify-evidence "$dir/ev.zip" --log-key "$dir/log.vkey" --json
equals 'j["ok"] and j["sealed_documents"]' 3 "three sealed documents"

# The sealed documents, as independent tools see them.
mkdir -p "$dir/x"
(cd "$dir/x" && unzip -q "$dir/ev.zip" certificat-de-preuve.pdf 'attestations/*' evidence.json)
sha() { printf %s "$1" | sha256sum | cut -c1-64; }
# pdftotext, with typographic ligatures ("ﬁ") written as their letters
text() {
	pdftotext -enc UTF-8 "$1" - | /usr/bin/python3 -c \
		'import sys, unicodedata; print(unicodedata.normalize("NFKC", sys.stdin.read()))'
}
att_a=$dir/x/attestations/$(sha "$id_a").pdf
att_b=$dir/x/attestations/$(sha "$id_b").pdf
json_sha=$(sha256sum "$dir/x/evidence.json" | cut -c1-64)
for f in "$dir/x/certificat-de-preuve.pdf" "$att_a" "$att_b"; do
	name=${f#"$dir"/x/}
	expect 0 "$name: qpdf --check" -- qpdf --check "$f"
	expect 0 "$name: pdfsig" -- pdfsig "$f"
	contains "Signature Field Name: Signature1" "$name: a seal"
	contains "Signer Certificate Common Name: JeSignExpert" "$name: sealed by the platform"
	contains "Signature is Valid." "$name: pdfsig: the seal is valid"
	contains "ETSI.CAdES.detached" "$name: a PAdES seal"
	expect 0 "$name: pdftotext" -- text "$f"
	contains "$json_sha" "$name names the bundle's evidence.json"
	contains "Établi le" "$name: French with its accents"
done
# The seal is the platform's seal the log records (KeyCreated KEY_PLATFORM_SEAL, by ledgerd at its
# first start): openssl verifies the certificate's CMS against the root and the issuing CAs, and
# the signer's certificate hashes to the KeyCreated's certificate_sha256, as the bundle's
# platform-seal.der does.
expect 0 "the platform's seal on record" -- audit export --data "$d" --what subject --subject platform
seal_sha=$(sed -n 's/.*kind=KEY_PLATFORM_SEAL .*certificate_sha256=\([0-9a-f]*\) .*/\1/p' <<<"$out")
seal_serial=$(sed -n 's/.*kind=KEY_PLATFORM_SEAL .*certificate_serial=\([0-9A-F]*\) .*/\1/p' <<<"$out")
checks=$((checks + 1))
[ "${#seal_sha}" = 64 ] && [ -n "$seal_serial" ] || fail "one KeyCreated of the platform's seal: $out"
cat "$d"/keys/signer-ca-*.pem >"$dir/issuing.pem"
/usr/bin/python3 - "$dir/x/certificat-de-preuve.pdf" "$dir/seal.cms" "$dir/seal.content" <<'PY'
import re, sys
pdf = open(sys.argv[1], "rb").read()
m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)  # the first: the seal
a, b, c, n = (int(x) for x in m.groups())
open(sys.argv[3], "wb").write(pdf[a:a + b] + pdf[c:c + n])
hexed = pdf[a + b:c].strip(b"<>").rstrip(b"0")
open(sys.argv[2], "wb").write(bytes.fromhex((hexed + b"0" * (len(hexed) % 2)).decode()))
PY
expect 0 "openssl cms -verify: the certificate's seal against the CA" -- openssl cms -verify -inform DER \
	-in "$dir/seal.cms" -binary -content "$dir/seal.content" -CAfile "$d/keys/signer-ca.pem" \
	-certfile "$dir/issuing.pem" -purpose any -signer "$dir/seal-signer.pem" -out /dev/null
check "the seal's certificate is the one the log records" \
	"$(openssl x509 -in "$dir/seal-signer.pem" -outform DER | sha256sum | cut -c1-64)" "$seal_sha"
check "the bundle's platform-seal.der is that certificate" \
	"$(unzip -p "$dir/ev.zip" platform-seal.der | sha256sum | cut -c1-64)" "$seal_sha"
expect 0 "evidence.json names the seal" -- unzip -p "$dir/ev.zip" evidence.json
equals 'j["platform_seal"]["serial"]' "$seal_serial" "by its serial"

# The document time-stamp (B-LTA) and the /DSS (B-LT) of the certificate, by openssl and qpdf.
expect 0 "certificate: the /DSS and the time-stamps (qpdf + openssl)" -- /usr/bin/python3 \
	"$(dirname "$0")/dss_check.py" "$dir/x/certificat-de-preuve.pdf" "$d/keys/signer-ca.pem" --ocsp 2
expect 0 "certificate text" -- text "$dir/x/certificat-de-preuve.pdf"
contains "Certificat de preuve" "the certificate's title"
# Offline, ledger-audit has no personal data key: the documents name external signers by id.
contains "$id_a" "the certificate names the first signer by their id"
contains "$id_b" "the certificate names the second signer by their id"
checks=$((checks + 1))
case "$out" in *anne@client-a.fr* | *Àlavoine*) fail "an offline certificate shows a sealed identity" ;; esac
contains "Consentement du signataire" "the certificate shows the consents"
contains "OTP-anne" "the certificate shows the authentication reference"
expect 0 "attestation text" -- text "$att_a"
contains "Attestation de signature" "the attestation's title"
contains "$id_a" "the attestation names its signer"
contains "Signature apposée" "the attestation shows the signature"
checks=$((checks + 1))
case "$out" in *bruno* | *Bérard* | *OTP-bruno* | *"$id_b"*) fail "the attestation of anne shows the other signer" ;; esac

# No external signer's email or name is in the bundle's records (each record's bytes, decoded
# from its tlog-proof's base64 "extra" line: searched as text, the base64 could never match) or
# evidence.json, and each signer's certificate is there beside them, by its SHA-256.
/usr/bin/python3 - "$dir/ev.zip" "$id_a" "$id_b" <<'PY' || fail "the bundle's events hold no email or name; it holds the certificates"
import base64, hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
secrets = ("anne@client-a.fr", "bruno@client-b.fr", "Àlavoine", "Bérard")
naming = 0
for n in z.namelist():
    if n.startswith("records/"):
        extra = next(l for l in z.read(n).decode().splitlines() if l.startswith("extra "))
        data = base64.b64decode(extra[len("extra "):])
        naming += sys.argv[2].encode() in data or sys.argv[3].encode() in data
    elif n == "evidence.json":
        data = z.read(n)
    else:
        continue
    for secret in secrets:
        assert secret.encode() not in data, (n, secret)
assert naming >= 4, naming  # the records read are the signers': they name them by id
t = json.load(z.open("evidence.json"))["timeline"]
certs = [e["fields"]["certificate_sha256"] for e in t if e["event"] == "document_signed"]
assert len(certs) == 2 and all(certs), certs
for c in certs:
    der = z.read(f"certificates/{c}.der")
    assert hashlib.sha256(der).hexdigest() == c, c
added = [e["fields"] for e in t if e["event"] == "signer_added"]
assert all(not f.get("email") and not f.get("name") and f["signer_id"].startswith("s-") for f in added), added
PY

# Each signature names the consent it was made on and the authentication that consent rests on.
/usr/bin/python3 - "$dir/x/evidence.json" <<'PY' || fail "document_signed names its consent and authentication"
import json, sys
t = json.load(open(sys.argv[1]))["timeline"]
for s in (e for e in t if e["event"] == "document_signed"):
    f = s["fields"]
    consent = next(e for e in t if e["seq"] == int(f["consent_seq"]))
    auth = next(e for e in t if e["seq"] == int(f["authentication_seq"]))
    assert consent["fields"]["action"] == "SIGNER_CONSENTED" and consent["fields"]["signer"] == f["signer"], consent
    assert consent["fields"]["document_sha256"] == [f["source_sha256"]] or consent["fields"]["document_sha256"] == [f["original_sha256"]], (consent, f)
    assert int(consent["fields"]["authentication_seq"]) == auth["seq"], consent
    assert auth["fields"]["action"] == "SIGNER_AUTHENTICATED" and auth["fields"]["masked_destination"] == "+33 6** ** ** 44", auth
    assert auth["seq"] < consent["seq"] < s["seq"]
PY

# Tampered bundles: each is refused, with the reason.
/usr/bin/python3 - "$dir/ev.zip" "$dir" "$(basename "$att_a")" "$(basename "$att_b")" <<'PY'
import re, sys, zipfile
src = zipfile.ZipFile(sys.argv[1])
out, a, b = sys.argv[2], "attestations/" + sys.argv[3], "attestations/" + sys.argv[4]
def write(name, change):
    with zipfile.ZipFile(f"{out}/{name}.zip", "w") as z:
        for n in src.namelist():
            data = change(n, src.read(n))
            if data is not None:
                z.writestr(n, data)
def flip(data):
    i = re.search(rb"/Contents\s*<", data).end() + 20
    return data[:i] + (b"1" if data[i:i + 1] != b"1" else b"2") + data[i + 1:]
write("no-certificate", lambda n, d: None if n == "certificat-de-preuve.pdf" else d)
write("no-attestation", lambda n, d: None if n == b else d)
write("certificate-changed", lambda n, d: flip(d) if n == "certificat-de-preuve.pdf" else d)
write("attestation-as-certificate", lambda n, d: src.read(a) if n == "certificat-de-preuve.pdf" else d)
write("attestations-swapped", lambda n, d: src.read(b) if n == a else src.read(a) if n == b else d)
write("no-seal-record", lambda n, d: None if n == "platform-seal.tlog-proof" else d)
first = sorted(n for n in src.namelist() if n.startswith("records/"))[0]
write("seal-record-swapped", lambda n, d: src.read(first) if n == "platform-seal.tlog-proof" else d)
PY
v() { audit verify-evidence "$dir/$1.zip" --log-key "$dir/log.vkey"; }
expect 1 "a bundle without its certificate" -- v no-certificate
contains "no certificat-de-preuve.pdf" "says the certificate is missing"
expect 1 "a bundle without one signer's attestation" -- v no-attestation
contains "has no attestation" "says an attestation is missing"
expect 1 "a changed certificate" -- v certificate-changed
contains "certificat-de-preuve.pdf: its seal does not verify" "says the seal does not verify"
expect 1 "an attestation passed off as the certificate" -- v attestation-as-certificate
contains "does not say \"Certificat de preuve\"" "says it is not a certificate"
expect 1 "attestations swapped between signers" -- v attestations-swapped
contains "does not say \"" "says whose it is not"
expect 1 "a bundle without the seal's KeyCreated" -- v no-seal-record
contains "the platform's seal cannot be checked against the log" "says the seal is not on record"
expect 1 "another record passed off as the seal's KeyCreated" -- v seal-record-swapped
contains "is not the KeyCreated of a platform seal" "says it is not the seal's record"

# The same bundle over RPC (CollectionEvidence), for whoever may see the collection.
expect 0 "collection evidence over RPC" -- ctl --as $ec collection evidence --firm EVD "$col" -o "$dir/rpc.zip"
contains "$dir/rpc.zip: the evidence of EVD/$col" "says what it wrote"
# ledgerd opens the sealed identities: its documents name the signers too.
(cd "$dir/x" && unzip -q -o -d rpc "$dir/rpc.zip" certificat-de-preuve.pdf)
expect 0 "the RPC bundle's certificate text" -- text "$dir/x/rpc/certificat-de-preuve.pdf"
contains "anne@client-a.fr" "ledgerd's certificate names the first signer"
contains "Anne Àlavoine" "with their name"
contains "bruno@client-b.fr" "and the second signer"
expect 0 "the RPC bundle verifies" -- audit verify-evidence "$dir/rpc.zip" --log-key "$dir/log.vkey"
contains "the certificate of completion and 2 attestations are sealed at B-LTA by the platform's seal whose KeyCreated the log records" \
	"over RPC too: the certificate and both attestations"
expect 0 "collection evidence --json" -- ctl --as $ec --json collection evidence --firm EVD "$col" -o "$dir/rpc2.zip"
equals 'j["events"] > 10 and j["documents"] == 3 and j["bytes"] > 0' True "--json says what is in it"
ctl --platform account add out@other.fr --name "Hors Cabinet" >/dev/null
expect 1 "someone with no right in the firm" -- ctl --as out@other.fr collection evidence --firm EVD "$col" \
	-o "$dir/no.zip"
contains "PERMISSION_DENIED" "is refused"
checks=$((checks + 1))
[ ! -e "$dir/no.zip" ] || fail "a refused bundle writes no file"
expect 1 "a collection that does not exist" -- ctl --as $ec collection evidence --firm EVD c999 -o "$dir/no.zip"
contains "NOT_FOUND" "is not found"
expect 2 "without -o" -- ctl --as $ec collection evidence --firm EVD "$col"
contains "give -o FILE.zip" "says what is missing"

# A certificate from another bundle of the same collection (one more event since) is refused.
ctl --as $ec credits add --firm EVD --credits 1 >/dev/null
expect 0 "a later bundle" -- audit evidence --data "$d" --firm EVD --collection "$col" -o "$dir/ev2.zip"
/usr/bin/python3 - "$dir/ev.zip" "$dir/ev2.zip" "$dir/mixed.zip" <<'PY'
import sys, zipfile
old, new = zipfile.ZipFile(sys.argv[1]), zipfile.ZipFile(sys.argv[2])
with zipfile.ZipFile(sys.argv[3], "w") as z:
    for n in old.namelist():
        z.writestr(n, new.read(n) if n == "certificat-de-preuve.pdf" else old.read(n))
PY
expect 1 "a certificate from another bundle" -- v mixed
contains "does not name this bundle's evidence.json" "says it belongs to another bundle"

# An archive renewal (docs/signer.md#archive-renewal): the renewed version is in the next bundle,
# named by its hash, and verify-evidence accepts it; the certificate shows the renewal.
expect 0 "the EC renews the document's time-stamp" -- ctl --as $ec --json document renew-timestamp --firm EVD "$col"
equals 'j["renewed"]' True "renewed"
renewed=$(field 'j["renewed_sha256"]')
expect 0 "the bundle after the renewal" -- audit evidence --data "$d" --firm EVD --collection "$col" -o "$dir/renewed.zip"
expect 0 "verify-evidence accepts it" -- audit verify-evidence "$dir/renewed.zip" --log-key "$dir/log.vkey" --json
equals 'j["ok"]' True "the renewed bundle verifies"
expect 0 "the renewed version is in it" -- unzip -l "$dir/renewed.zip" "documents/$renewed.pdf"
mkdir -p "$dir/r"
(cd "$dir/r" && unzip -q "$dir/renewed.zip" "documents/$renewed.pdf" certificat-de-preuve.pdf)
checks=$((checks + 1))
[ "$(sha256sum "$dir/r/documents/$renewed.pdf" | cut -c1-64)" = "$renewed" ] || fail "the renewed version's bytes"
expect 0 "certificate text" -- text "$dir/r/certificat-de-preuve.pdf"
contains "Horodatage d'archivage renouvelé" "the certificate of completion shows the renewal"

# Erasure (docs/personal-data.md): the signer's key, sealed email, name and phone, links and
# certificate go; the chain, the tree and bundles made before still verify.
cert_a=$(unzip -p "$dir/ev.zip" evidence.json | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)["timeline"]
print(next(e["fields"]["certificate_sha256"] for e in t if e["event"] == "document_signed" and e["fields"]["signer"] == sys.argv[1]))' "$id_a")
expect 0 "erase anne" -- ctl --platform subject erase anne@client-a.fr --reason "RGPD 2027-001"
expect 0 "collection show after erasure" -- ctl --as $ec --json collection show --firm EVD "$col"
equals 'j["collection"]["signers"][0]["name"]' "effacé" "the erased signer's name shows effacé"
equals 'j["collection"]["signers"][0].get("email", "")' "" "and no email"
equals 'j["collection"]["signers"][0]["signer_id"]' "$id_a" "and the id events name them by"
equals 'j["collection"]["signers"][1]["email"]' "bruno@client-b.fr" "the other signer still opens"
expect 0 "collection show, text" -- ctl --as $ec collection show --firm EVD "$col"
contains "effacé" "the text view shows effacé"
contains "$id_a" "and the signer id"
expect 0 "verify after erasure" -- audit verify --data "$d"
expect 0 "replay after erasure" -- audit replay --data "$d"
expect 0 "a bundle made before erasure still verifies" -- audit verify-evidence "$dir/ev.zip" --log-key "$dir/log.vkey"
expect 0 "a bundle after erasure" -- ctl --as $ec collection evidence --firm EVD "$col" -o "$dir/after.zip"
expect 0 "it verifies" -- audit verify-evidence "$dir/after.zip" --log-key "$dir/log.vkey"
checks=$((checks + 1))
unzip -l "$dir/after.zip" | grep -q "certificates/$cert_a.der" && fail "the erased signer's certificate is still in a new bundle"
checks=$((checks + 1))
[ "$(unzip -l "$dir/after.zip" | grep -c 'certificates/.*\.der')" = 1 ] || fail "the other signer's certificate is in it"
(cd "$dir/x" && unzip -q -o -d after "$dir/after.zip" certificat-de-preuve.pdf)
expect 0 "its certificate text" -- text "$dir/x/after/certificat-de-preuve.pdf"
contains "effacé" "ledgerd's certificate says effacé for the erased signer"
contains "bruno@client-b.fr" "and still names the other"
checks=$((checks + 1))
case "$out" in *anne@client-a.fr* | *Àlavoine*) fail "the certificate after erasure shows the erased identity" ;; esac
expect 0 "contacts after erasure" -- ctl --as $ec contacts export --firm EVD
checks=$((checks + 1))
case "$out" in *anne@client-a.fr* | *Àlavoine* | *"+33611223344"*) fail "the contacts export shows the erased identity" ;; esac
contains "$id_a" "the contacts export shows the erased signer's id"

# Offline, ledger-audit issues itself no seal: without the recorded seal's key it makes no bundle.
mv "$d/keys/signers/$seal_serial.pem" "$dir/seal.pem"
expect 3 "offline, the recorded seal's key missing" -- audit evidence --data "$d" --firm EVD --collection "$col" \
	-o "$dir/unsealed.zip"
contains "cannot open the platform's seal $seal_serial" "says which seal it cannot open"
checks=$((checks + 1))
[ ! -e "$dir/unsealed.zip" ] || fail "and writes no bundle"
checks=$((checks + 1))
[ "$(ls "$d/keys/signers" | wc -l)" = "$(ls "$d/keys/signers" | grep -vc "^$seal_serial.pem$")" ] &&
	! grep -rq "JeSignExpert (plateforme)" "$d/keys/signers" || fail "and issues no credential in its place"
mv "$dir/seal.pem" "$d/keys/signers/$seal_serial.pem"
checks=$((checks + 1))
found=$(grep -rl "PRIVATE KEY" "$d" 2>/dev/null)
[ -z "$found" ] || fail "no PEM private key anywhere under the data directory after the bundles: $found"

report evidence_test
