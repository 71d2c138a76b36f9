#!/usr/bin/env bash
# external_names_test: an external signer's given name and surname (SignerAdd.given_name,
# .surname; docs/signer.md#certificates) against a real ledgerd, read by tools that share no
# code with it (openssl, pdfsig). "Zoé Martin-Lefèvre", added with --given-name and --surname,
# signs: the one-shot certificate the log records (DocumentSigned.certificate_sha256, out of
# ledger-audit's evidence bundle) holds C=FR, GN, SN and CN "Zoé Martin-Lefèvre" as UTF8Strings,
# pdfsig names her, and the raw bytes of the collection's records (the bundle's tlog-proofs'
# `extra`) hold neither name. A signer given by --name alone keeps a commonName-only
# certificate. Bad names are refused with the field named and change nothing. After `subject
# erase` the names no longer open, the log verifies and replays.
set -uo pipefail
bin=${1:?usage: external_names_test.sh BIN_DIR}
dir=$(mktemp -d /tmp/ledger-extnames-XXXXXX)
. "$(dirname "$0")/../support/lib.sh" # expect, contains, equals, field, check, fail, report
here=$(dirname "$0")
export LC_ALL=C.UTF-8

d=$dir/d
ctl() { "$bin/ledgerctl" --data "$d" "$@"; }
audit() { "$bin/ledger-audit" "$@"; }
expect 0 "init" -- "$bin/ledgerd" init --data "$d"
start_ledgerd "$d"
"$py" "$here/../support/make_pdf.py" "$dir/doc.pdf" --text "Lettre de mission 2026"

ec=ec@martin.fr
zoe=zoe@client.fr
paul=paul@client.fr
ctl --platform account add $ec --name "Eve Expert" --ec >/dev/null
ctl --platform firm add MAR --name "Cabinet Martin" --ec $ec --siren 552032534 >/dev/null
ctl --as $ec credits add --firm MAR --credits 10 >/dev/null
col=$(ctl --as $ec collection create --firm MAR --kind signature --title "Mission")
ctl --as $ec collection add-document --firm MAR "$col" "$dir/doc.pdf" >/dev/null

# ----- refusals: each names its field and writes nothing -----
add() { ctl --as $ec collection add-signer --firm MAR "$col" --external --phone "+33 6 11 22 33 44" "$@"; }
before=$(head_seq)
expect 1 "a given name without a surname" -- add --email $zoe --given-name "Zoé"
contains "surname" "the missing field is named"
contains "go together" "says why"
expect 1 "a surname without a given name" -- add --email $zoe --surname "Martin-Lefèvre"
contains "given_name" "the missing field is named"
expect 1 "names over the commonName's 64 characters" -- add --email $zoe --given-name "Zoé" \
	--surname "$(printf 'è%.0s' $(seq 63))"
contains "64 characters" "says why"
expect 1 "a surname of 65 characters" -- add --email $zoe --given-name "Z" --surname "$(printf 'è%.0s' $(seq 65))"
contains "surname must be 1 to 64 characters" "names the field and the limit"
expect 1 "a given name ending with a space" -- add --email $zoe --given-name "Zoé " --surname "Martin-Lefèvre"
contains "given_name must not begin or end with a space" "names the field"
expect 1 "a name that is not \"given surname\"" -- add --email $zoe --name "Mme Zoé Martin" --given-name "Zoé" \
	--surname "Martin-Lefèvre"
contains '"Mme Zoé Martin" is not "Zoé Martin-Lefèvre"' "names both"
expect 1 "neither a name nor the names" -- add --email $zoe
contains "name" "the field is named"
ctl --platform account add intern@martin.fr --name "Ivan Interne" >/dev/null
ctl --as $ec delegation grant --firm MAR --to intern@martin.fr --rights sign --expires 2030-12-31 >/dev/null
before=$(head_seq)
expect 1 "an internal signer with names" -- ctl --as $ec collection add-signer --firm MAR "$col" \
	--email intern@martin.fr --given-name "Ivan" --surname "Interne"
contains "come from their registration" "says where an internal signer's names come from"
check "refused signers write nothing" "$(head_seq)" "$before"

# The edge: 31 + 1 + 32 = 64 characters of two-byte letters, the longest commonName.
edge=$(ctl --as $ec collection create --firm MAR --kind signature --title "Bord")
expect 0 "the longest names (64 characters with the space)" -- ctl --as $ec collection add-signer --firm MAR \
	"$edge" --external --phone "+33 6 11 22 33 45" --email edge@client.fr \
	--given-name "$(printf 'É%.0s' $(seq 31))" --surname "$(printf 'è%.0s' $(seq 32))"
expect 0 "shown" -- ctl --as $ec --json collection show --firm MAR "$edge"
equals 'len(j["collection"]["signers"][0]["name"])' 64 "the name is \"given surname\", 64 characters"

# ----- Zoé with her names, Paul with one name -----
expect 0 "Zoé, by given name and surname" -- add --email $zoe --given-name "Zoé" --surname "Martin-Lefèvre"
expect 0 "Paul, by one name" -- add --email $paul --name "Paul Durand"
expect 0 "collection show --json" -- ctl --as $ec --json collection show --firm MAR "$col"
equals 'j["collection"]["signers"][0]["name"]' "Zoé Martin-Lefèvre" "her name is \"given surname\""
equals 'j["collection"]["signers"][1]["name"]' "Paul Durand" "his is the one he was given"
ctl --as $ec collection send --firm MAR "$col" >/dev/null
current() { ctl --platform --json collection show --firm MAR "$col" | "$py" -c \
	'import json,sys; print(",".join(d["current_sha256"] for d in json.load(sys.stdin)["collection"]["documents"]))'; }
signs() { # email: authenticates and consents, for ledgerd to sign
	ctl --platform collection report --firm MAR "$col" --signer "$1" --action authenticated --method sms \
		--provider-ref "OTP-${1%%@*}" --masked-destination "+33 6** ** ** 44" \
		--code-sent-at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/dev/null &&
		ctl --platform collection report --firm MAR "$col" --signer "$1" --action consented \
			--documents "$(current)" --consent-version CONSENTEMENT-2026 >/dev/null
}
wait_signed() { # n: 0 once n DocumentSigned of the collection are shown
	for _ in $(seq 300); do
		ctl --platform --json collection show --firm MAR "$col" >"$dir/show.json" 2>/dev/null
		"$py" -c 'import json,sys; c=json.load(open(sys.argv[1]))["collection"]
sys.exit(sum(bool(s.get("signed")) for s in c["signers"]) < int(sys.argv[2]))' "$dir/show.json" "$1" && return 0
		sleep 0.1
	done
	return 1
}
expect 0 "Zoé consents" -- signs $zoe
checks=$((checks + 1))
wait_signed 1 || fail "her signature is made"
expect 0 "Paul consents" -- signs $paul
checks=$((checks + 1))
wait_signed 2 || fail "his signature is made"
ctl --as $ec document get --firm MAR "$(current)" -o "$dir/signed.pdf" >/dev/null
expect 0 "pdfsig" -- pdfsig "$dir/signed.pdf"
contains "Signer Certificate Common Name: Zoé Martin-Lefèvre" "pdfsig names her, accents intact"
contains "Signer Certificate Common Name: Paul Durand" "and him"
checks=$((checks + 1))
[ "$(grep -c "Signature is Valid." <<<"$out")" = 2 ] || fail "both signatures are valid: $out"

# ----- the certificates the log records, and the raw records -----
expect 0 "the evidence bundle" -- audit evidence --data "$d" --firm MAR --collection "$col" -o "$dir/ev.zip"
ids=$(unzip -p "$dir/ev.zip" evidence.json | "$py" -c '
import json, sys
t = json.load(sys.stdin)["timeline"]
print(" ".join(e["fields"]["signer_id"] for e in t if e["event"] == "signer_added"))')
id_zoe=${ids%% *}
id_paul=${ids##* }
recorded_certificate() { # signer_id output.pem: the certificate of the signer's document_signed
	local sha
	sha=$(unzip -p "$dir/ev.zip" evidence.json | "$py" -c '
import json, sys
t = json.load(sys.stdin)["timeline"]
print(next(e["fields"]["certificate_sha256"] for e in t
           if e["event"] == "document_signed" and e["fields"]["signer"] == sys.argv[1]))' "$1") || return 1
	unzip -p "$dir/ev.zip" "certificates/$sha.der" | openssl x509 -inform DER -out "$2" || return 1
	[ "$(openssl x509 -in "$2" -outform DER | sha256sum | cut -c1-64)" = "$sha" ]
}
expect 0 "her one-shot certificate, from the log" -- recorded_certificate "$id_zoe" "$dir/zoe.pem"
expect 0 "its subject (openssl, utf8)" -- openssl x509 -in "$dir/zoe.pem" -noout -subject \
	-nameopt utf8,sep_multiline,show_type
contains "C=PRINTABLESTRING:FR" "countryName FR"
contains "SN=UTF8STRING:Martin-Lefèvre" "surname, a UTF8String, accents intact"
contains "GN=UTF8STRING:Zoé" "givenName, a UTF8String"
contains "CN=UTF8STRING:Zoé Martin-Lefèvre" "commonName \"given surname\""
contains "emailAddress=IA5STRING:$zoe" "her email"
expect 0 "his one-shot certificate, from the log" -- recorded_certificate "$id_paul" "$dir/paul.pem"
expect 0 "its subject (openssl, utf8)" -- openssl x509 -in "$dir/paul.pem" -noout -subject \
	-nameopt utf8,sep_multiline,show_type
contains "CN=UTF8STRING:Paul Durand" "the one name, as the commonName"
checks=$((checks + 1))
case "$out" in *"GN="* | *"SN="*) fail "a name given as one string is not split: $out" ;; esac

"$py" - "$dir/ev.zip" "$zoe" "$id_zoe" <<'PY' || fail "the collection's raw records hold neither of her names, nor her email"
import base64, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
records = [n for n in z.namelist() if n.startswith("records/")]
naming_her = 0
for n in records:
    extra = next(l for l in z.read(n).decode().splitlines() if l.startswith("extra "))
    raw = base64.b64decode(extra[len("extra "):])
    for secret in ("Zoé", "Martin-Lefèvre", sys.argv[2]):
        assert secret.encode() not in raw, (n, secret)
    naming_her += sys.argv[3].encode() in raw
# SignerAdded, her authentication, consent and signature name her, by her id only.
assert naming_her >= 4, (len(records), naming_her)
PY

# ----- erasure -----
expect 0 "erase Zoé" -- ctl --platform subject erase $zoe --reason "RGPD 2027-007"
expect 0 "collection show after erasure" -- ctl --as $ec --json collection show --firm MAR "$col"
equals 'j["collection"]["signers"][0]["name"]' "effacé" "her names no longer open"
equals 'j["collection"]["signers"][1]["name"]' "Paul Durand" "his still do"
expect 0 "a bundle after erasure" -- ctl --as $ec collection evidence --firm MAR "$col" -o "$dir/after.zip"
checks=$((checks + 1))
[ "$(unzip -l "$dir/after.zip" | grep -c 'certificates/.*\.der')" = 1 ] || fail "only his certificate is left"
expect 0 "the log verifies" -- audit verify --data "$d"
expect 0 "and replays identically" -- audit replay --data "$d"
report external_names_test
