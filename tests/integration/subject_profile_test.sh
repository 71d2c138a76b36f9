#!/usr/bin/env bash
# subject_profile_test: the ETSI EN 319 412-2/-3 subject fields of the certificates ledgerd
# issues, against a real ledgerd, read by tools that share no code with it (openssl, pdfsig):
# a person registered with accented names ("Éloïse Dupré-Lefèvre") gets a certificate whose
# subject holds GN, SN and CN as UTF8Strings, which openssl -nameopt utf8 prints intact and pdfsig
# names on the document she signed; the firm's seal holds O, organizationIdentifier
# NTRFR-<SIREN> and C=FR. The certificates read are the ones the log records (DocumentSigned
# .certificate_sha256, out of ledger-audit's evidence bundle). Bad SIRENs and missing names are
# refused by ledgerctl with the field and the value named, and change nothing.
set -uo pipefail
bin=${1:?usage: subject_profile_test.sh BIN_DIR}
dir=$(mktemp -d /tmp/ledger-profile-XXXXXX)
. "$(dirname "$0")/../support/lib.sh" # expect, contains, json_ok, equals, field, fail, report, cleanup
here=$(dirname "$0")
export LC_ALL=C.UTF-8

d=$dir/d
ctl() { "$bin/ledgerctl" --data "$d" "$@"; }
audit() { "$bin/ledger-audit" "$@"; }
expect 0 "init" -- "$bin/ledgerd" init --data "$d"
start_ledgerd "$d"
"$py" "$here/../support/make_pdf.py" "$dir/doc.pdf" --text "Lettre de mission 2026"

ec=ec@dupre.fr
person=eloise@dupre.fr
ctl --platform account add $ec --name "Eve Expert" --ec >/dev/null

# ----- the firm's SIREN -----
before=$(head_seq)
expect 2 "firm add without --siren" -- ctl --platform firm add DUP --name "Cabinet Dupré" --ec $ec
contains "--siren" "the usage names --siren"
expect 1 "a SIREN failing its Luhn key" -- ctl --platform firm add DUP --name "Cabinet Dupré" --ec $ec --siren 552032535
contains '"552032535"' "the value is named"
contains "Luhn" "and why"
expect 1 "a SIREN with a letter" -- ctl --platform firm add DUP --name "Cabinet Dupré" --ec $ec --siren 55203253A
contains '"55203253A"' "the value is named"
expect 1 "a SIREN of 8 digits" -- ctl --platform firm add DUP --name "Cabinet Dupré" --ec $ec --siren 55203253
contains "exactly 9 digits" "says why"
check "refused firms write nothing" "$(head_seq)" "$before"
expect 0 "firm add with its SIREN" -- ctl --platform firm add DUP --name "Cabinet Dupré" --ec $ec --siren 552032534
before=$(head_seq)
expect 1 "set-siren on a firm that has one" -- ctl --platform firm set-siren DUP --siren 443061841
contains "does not change" "says why"
expect 1 "set-siren with a bad SIREN" -- ctl --platform firm set-siren DUP --siren 4430618
contains '"4430618"' "the value is named"
expect 2 "set-siren without --siren" -- ctl --platform firm set-siren DUP
check "refused set-siren writes nothing" "$(head_seq)" "$before"

# ----- the person's verified names -----
ctl --platform account add $person --name "Éloïse Dupré-Lefèvre" >/dev/null
ctl --as $ec delegation grant --firm DUP --to $person --rights sign --expires 2030-12-31 >/dev/null
ctl --as $ec credits add --firm DUP --credits 20 >/dev/null
reg() { ctl --platform registration record $person "$@"; }
identity=(--step identity_verified --provider IdP --provider-ref VRF-9 --method id_document+mobile
	--phone +33612345670 --id-ref FRA-ID-9)
reg --step information_confirmed >/dev/null
before=$(head_seq)
expect 1 "identity without the names" -- reg "${identity[@]}"
contains "given_name" "the missing field is named"
expect 1 "identity without a surname" -- reg "${identity[@]}" --given-name "Éloïse"
contains "surname" "the missing field is named"
expect 1 "names over the commonName's 64 characters" -- reg "${identity[@]}" --given-name "Éloïse" \
	--surname "$(printf 'é%.0s' $(seq 63))"
contains "64 characters" "says why"
expect 1 "the names at another step" -- reg --step terms_accepted --terms-version CGU-1 --rgpd-version RGPD-1 \
	--given-name "Éloïse" --surname "Dupré-Lefèvre"
contains "not part of this step" "says why"
check "refused steps write nothing" "$(head_seq)" "$before"
expect 0 "identity verified with the accented names" -- reg "${identity[@]}" --given-name "Éloïse" \
	--surname "Dupré-Lefèvre"
reg --step subscription_accepted --subscription-version 2026.1 >/dev/null
reg --step terms_accepted --terms-version CGU-1 --rgpd-version RGPD-1 >/dev/null
expect 0 "certificate_issued" -- reg --step certificate_issued
expect 0 "registration show --json" -- ctl --platform --json registration show --sub $person
equals 'j["given_name"]' "Éloïse" "the platform sees the verified given name"
equals 'j["surname"]' "Dupré-Lefèvre" "and surname"
serial=$(field 'j["certificate_serial"]')
expect 0 "registration show" -- ctl --platform registration show --sub $person
contains "given name Éloïse, surname Dupré-Lefèvre" "the text view shows them"

# ----- she signs; the firm seals -----
wait_state() { # collection state -> 0 once the collection is in state
	for _ in $(seq 200); do
		ctl --as $ec --json collection show --firm DUP "$1" >"$dir/show.json" 2>/dev/null
		"$py" -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["collection"]["state"] != sys.argv[2])' \
			"$dir/show.json" "$2" && return 0
		sleep 0.1
	done
	return 1
}
current() { "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["collection"]["documents"][0]["current_sha256"])' "$dir/show.json"; }
sig=$(ctl --as $ec collection create --firm DUP --kind signature --title "Mission")
ctl --as $ec collection add-document --firm DUP "$sig" "$dir/doc.pdf" >/dev/null
ctl --as $ec collection add-signer --firm DUP "$sig" --email $person --name "Éloïse Dupré-Lefèvre" >/dev/null
ctl --as $ec collection send --firm DUP "$sig" >/dev/null
ctl --platform collection report --firm DUP "$sig" --signer $person --action authenticated --method sms \
	--provider-ref OTP-1 --masked-destination "+33 6** ** ** 70" --code-sent-at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
ctl --as $ec --json collection show --firm DUP "$sig" >"$dir/show.json"
expect 0 "she signs" -- ctl --as $person collection sign --firm DUP "$sig" --documents "$(current)" \
	--consent-version CONSENTEMENT-2026
checks=$((checks + 1))
wait_state "$sig" completed || fail "the signature collection completes"
ctl --as $ec document get --firm DUP "$(current)" -o "$dir/signed.pdf" >/dev/null
expect 0 "pdfsig, her signature" -- pdfsig "$dir/signed.pdf"
contains "Signature is Valid." "valid"
contains "Signer Certificate Common Name: Éloïse Dupré-Lefèvre" "pdfsig names her, accents intact"

seal=$(ctl --as $ec collection create --firm DUP --kind seal --title "PV")
ctl --as $ec collection add-document --firm DUP "$seal" "$dir/doc.pdf" >/dev/null
ctl --as $ec collection seal --firm DUP "$seal" >/dev/null
checks=$((checks + 1))
wait_state "$seal" completed || fail "the seal collection completes"
ctl --as $ec document get --firm DUP "$(current)" -o "$dir/sealed.pdf" >/dev/null
expect 0 "pdfsig, the seal" -- pdfsig "$dir/sealed.pdf"
contains "Signature is Valid." "valid"
contains "Signer Certificate Common Name: Cabinet Dupré" "pdfsig names the firm"

# ----- the certificates the log records (DocumentSigned.certificate_sha256) -----
recorded_certificate() { # collection output.pem: the certificate of its document_signed event
	audit evidence --data "$d" --firm DUP --collection "$1" -o "$dir/$1.zip" >/dev/null 2>&1 || return 1
	local sha
	sha=$(unzip -p "$dir/$1.zip" evidence.json | "$py" -c '
import json, sys
t = json.load(sys.stdin)["timeline"]
print(next(e["fields"]["certificate_sha256"] for e in t if e["event"] == "document_signed"))') || return 1
	unzip -p "$dir/$1.zip" "certificates/$sha.der" | openssl x509 -inform DER -out "$2" || return 1
	[ "$(openssl x509 -in "$2" -outform DER | sha256sum | cut -c1-64)" = "$sha" ]
}
expect 0 "her certificate, from the log" -- recorded_certificate "$sig" "$dir/person.pem"
expect 0 "its subject (openssl, utf8)" -- openssl x509 -in "$dir/person.pem" -noout -subject \
	-nameopt utf8,sep_multiline,show_type
contains "GN=UTF8STRING:Éloïse" "givenName, a UTF8String, accents intact"
contains "SN=UTF8STRING:Dupré-Lefèvre" "surname, a UTF8String"
contains "CN=UTF8STRING:Éloïse Dupré-Lefèvre" "commonName \"given surname\""
contains "C=PRINTABLESTRING:FR" "countryName FR"
expect 0 "its serial" -- openssl x509 -in "$dir/person.pem" -noout -serial
contains "serial=$serial" "the registration's certificate signed"

expect 0 "the seal's certificate, from the log" -- recorded_certificate "$seal" "$dir/seal.pem"
expect 0 "its subject (openssl, utf8)" -- openssl x509 -in "$dir/seal.pem" -noout -subject -nameopt utf8,sep_multiline
contains "organizationIdentifier=NTRFR-552032534" "organizationIdentifier NTRFR-<SIREN>"
contains "O=Cabinet Dupré" "organizationName: the firm's name"
contains "CN=Cabinet Dupré" "commonName: the firm's name"
contains "C=FR" "countryName FR"
checks=$((checks + 1))
case "$out" in *"=DUP"*) fail "the firm id is no longer in the seal's subject: $out" ;; esac

expect 0 "the log verifies" -- audit verify --data "$d"
expect 0 "and replays" -- audit replay --data "$d"
report subject_profile_test
