#!/usr/bin/env bash
# certificates_test: the certificates ledgerd issues and revokes, against a real ledgerd, checked
# with tools that share no code with it (openssl, pdfsig, qpdf through dss_check.py). The
# registration's certificate_issued step issues the person's certificate, whose serial is the one
# on record and the one in the signed PDF; the firm's seal is issued with the firm; a person
# revokes their own certificate (another may not), which then never signs again (refused, on
# record) and whose key is destroyed (KeyDestroyed); a revoked seal fails its next seal on record until a new one is issued; a later
# signature's /DSS carries a CRL that lists the revoked serials (openssl crl -text); the key
# events are in the log, which still verifies and replays. The keys are in the data directory's
# token (pkcs11-tool lists them): keys/signers/<serial>.pem holds the certificate and the key's
# label only, no file under the data directory holds a private key, an external signer's
# one-shot key is gone from the token once its signature is made, and a revoked certificate's
# key is destroyed in the token (its private and public objects).
set -uo pipefail
bin=${1:?usage: certificates_test.sh BIN_DIR}
dir=$(mktemp -d /tmp/ledger-certs-XXXXXX)
. "$(dirname "$0")/../support/lib.sh" # expect, contains, json_ok, equals, field, fail, report, cleanup
. "$(dirname "$0")/../support/token.sh" # token_labels, token_count
here=$(dirname "$0")

d=$dir/d
ctl() { "$bin/ledgerctl" --data "$d" "$@"; }
expect 0 "init" -- "$bin/ledgerd" init --data "$d"
start_ledgerd "$d"

/usr/bin/python3 "$here/../support/make_pdf.py" "$dir/doc.pdf" --text "Lettre de mission 2026"
ctl --platform account add ec@crt.fr --name "Eve Expert" --ec >/dev/null
expect 0 "a firm: its seal is issued with it" -- ctl --platform firm add CRT --name "Cabinet Certif" --ec ec@crt.fr --siren 732829320
ctl --platform account add claire@crt.fr --name "Claire Dubois" >/dev/null
ctl --as ec@crt.fr delegation grant --firm CRT --to claire@crt.fr --rights sign --expires 2030-12-31 >/dev/null
ctl --as ec@crt.fr credits add --firm CRT --credits 20 >/dev/null

# ----- registration: ledgerd issues the certificate -----
reg() { ctl --platform registration record claire@crt.fr "$@"; }
reg --step information_confirmed >/dev/null
reg --step identity_verified --provider IdP --provider-ref VRF-1 --method id_document+mobile --phone +33612345678 \
	--id-ref FRA-ID-1 --given-name Claire --surname Dubois >/dev/null
reg --step subscription_accepted --subscription-version 2026.1 >/dev/null
reg --step terms_accepted --terms-version CGU-1 --rgpd-version RGPD-1 >/dev/null
expect 2 "the client names no serial" -- reg --step certificate_issued --certificate-serial 5A0F
expect 0 "certificate_issued: ledgerd issues it" -- reg --step certificate_issued
expect 0 "registration show --json" -- ctl --platform --json registration show --sub claire@crt.fr
equals 'j["complete"]' True "complete"
serial=$(field 'j["certificate_serial"]')
checks=$((checks + 1))
[[ "$serial" =~ ^[0-9A-F]{32}$ ]] || fail "a 128-bit serial in hex: \"$serial\""
key=$d/keys/signers/$serial.pem
checks=$((checks + 1))
[ -f "$key" ] && [ "$(stat -c %a "$key")" = 600 ] || fail "the key is kept as keys/signers/<serial>.pem, 0600"
expect 0 "the kept certificate (openssl x509)" -- openssl x509 -in "$key" -noout -serial -subject -issuer -dates
contains "serial=$serial" "its serial is the one on record"
contains "Claire Dubois" "it names the person"
contains "JeSignExpert Persons CA" "issued by the persons' CA"
contains "organizationIdentifier = NTRFR-000000000" "which names the platform (the default identifier)"
days=$(( ($(date -d "$(openssl x509 -in "$key" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s)) / 86400 ))
checks=$((checks + 1))
[ "$days" -ge 1093 ] && [ "$days" -le 1095 ] || fail "valid for 1095 days: $days"
label=$(sed -n 's/^Token-Key-Label: //p' "$key")
checks=$((checks + 1))
[[ "$label" =~ ^cred-[0-9A-F]{32}$ ]] || fail "the kept file names the key's token label: \"$label\""
checks=$((checks + 1))
[ "$(token_count "$d" "$label")" = 2 ] || fail "the key pair is in the token: $(token_labels "$d" | tr '\n' ' ')"
checks=$((checks + 1))
! grep -q "PRIVATE KEY" "$key" || fail "the kept file holds no private key"

# ----- a signature uses exactly that certificate -----
wait_state() { # firm collection state -> 0 once the collection is in state
	for _ in $(seq 200); do
		ctl --as ec@crt.fr --json collection show --firm CRT "$1" >"$dir/show.json" 2>/dev/null
		/usr/bin/python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["collection"]["state"] != sys.argv[2])' \
			"$dir/show.json" "$2" && return 0
		sleep 0.1
	done
	return 1
}
doc_json() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["collection"]["documents"][0][sys.argv[2]])' "$dir/show.json" "$1"; }
# A signature rests on a fresh authentication and names the versions shown (collections.md).
sign_as_claire() {
	ctl --platform collection report --firm CRT "$1" --signer claire@crt.fr --action authenticated --method sms \
		--provider-ref OTP-1 --masked-destination "+33 6** ** ** 78" --code-sent-at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		>/dev/null
	local shown
	shown=$(ctl --platform --json collection show --firm CRT "$1" |
		/usr/bin/python3 -c 'import json,sys; print(",".join(d["current_sha256"] for d in json.load(sys.stdin)["collection"]["documents"]))')
	ctl --as claire@crt.fr collection sign --firm CRT "$1" --documents "$shown" --consent-version CONSENTEMENT-2026
}
sig=$(ctl --as ec@crt.fr collection create --firm CRT --kind signature --title "Mission")
ctl --as ec@crt.fr collection add-document --firm CRT "$sig" "$dir/doc.pdf" >/dev/null
ctl --as ec@crt.fr collection add-signer --firm CRT "$sig" --email claire@crt.fr --name "Claire Dubois" >/dev/null
ctl --as ec@crt.fr collection send --firm CRT "$sig" >/dev/null
expect 0 "claire signs" -- sign_as_claire "$sig"
checks=$((checks + 1))
wait_state "$sig" completed || fail "the signature collection completes"
ctl --as ec@crt.fr document get --firm CRT "$(doc_json current_sha256)" -o "$dir/signed.pdf" >/dev/null
expect 0 "pdfsig" -- pdfsig "$dir/signed.pdf"
contains "Signature is Valid." "the signature is valid"
contains "Claire Dubois" "by claire"
expect 0 "the signer's certificate in the /DSS is the registration's" -- \
	/usr/bin/python3 "$here/dss_check.py" "$dir/signed.pdf" "$d/keys/signer-ca.pem" --ocsp 2 --cert-serial "$serial"
seal_serial() { # the seal certificate's serial: the one in the sealed PDF that is not claire's, the CA's or a unit's
	openssl x509 -in "$d/keys/signers/$1.pem" -noout -subject 2>/dev/null
}

# An external signer: a one-shot key, in the token for the signature only.
labels_before=$(token_labels "$d" | sort)
ext=$(ctl --as ec@crt.fr collection create --firm CRT --kind signature --title "Mission client")
ctl --as ec@crt.fr collection add-document --firm CRT "$ext" "$dir/doc.pdf" >/dev/null
ctl --as ec@crt.fr collection add-signer --firm CRT "$ext" --email client@ext.fr --name "Client Externe" \
	--external --phone "+33 6 11 22 33 44" >/dev/null
ctl --as ec@crt.fr collection send --firm CRT "$ext" >/dev/null
ctl --platform collection report --firm CRT "$ext" --signer client@ext.fr --action authenticated --method sms \
	--provider-ref OTP-X --masked-destination "+33 6** ** ** 44" --code-sent-at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
shown=$(ctl --platform --json collection show --firm CRT "$ext" |
	/usr/bin/python3 -c 'import json,sys; print(",".join(d["current_sha256"] for d in json.load(sys.stdin)["collection"]["documents"]))')
expect 0 "the external signer consents" -- ctl --platform collection report --firm CRT "$ext" --signer client@ext.fr \
	--action consented --documents "$shown" --consent-version CONSENTEMENT-2026
checks=$((checks + 1))
wait_state "$ext" completed || fail "the external signature completes"
ctl --as ec@crt.fr document get --firm CRT "$(doc_json current_sha256)" -o "$dir/external.pdf" >/dev/null
expect 0 "pdfsig, the external signature" -- pdfsig "$dir/external.pdf"
contains "Signature is Valid." "the one-shot key's signature is valid"
checks=$((checks + 1))
[ "$(token_labels "$d" | sort)" = "$labels_before" ] || fail "the one-shot key's token objects are gone after the signature"

# A person whose kept key is missing: the signature fails, on record, and nothing is re-issued.
ctl --platform account add dan@crt.fr --name "Dan Martin" >/dev/null
ctl --as ec@crt.fr delegation grant --firm CRT --to dan@crt.fr --rights sign --expires 2030-12-31 >/dev/null
ctl --platform registration record dan@crt.fr --step information_confirmed >/dev/null
ctl --platform registration record dan@crt.fr --step subscription_accepted --subscription-version 2026.1 >/dev/null
ctl --platform registration record dan@crt.fr --step identity_verified --provider IdP --provider-ref VRF-2 \
	--method id_document+mobile --phone +33612345679 --id-ref FRA-ID-2 --given-name Dan --surname Martin >/dev/null
ctl --platform registration record dan@crt.fr --step terms_accepted --terms-version CGU-1 --rgpd-version RGPD-1 >/dev/null
expect 0 "dan's certificate" -- ctl --platform registration record dan@crt.fr --step certificate_issued
dan_serial=$(ctl --platform --json registration show --sub dan@crt.fr | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["certificate_serial"])')
rm -f "$d/keys/signers/$dan_serial.pem"
kept_before=$(ls "$d/keys/signers" | wc -l)
dsig=$(ctl --as ec@crt.fr collection create --firm CRT --kind signature --title "Mission Dan")
ctl --as ec@crt.fr collection add-document --firm CRT "$dsig" "$dir/doc.pdf" >/dev/null
ctl --as ec@crt.fr collection add-signer --firm CRT "$dsig" --email dan@crt.fr --name "Dan Martin" >/dev/null
ctl --as ec@crt.fr collection send --firm CRT "$dsig" >/dev/null
ctl --platform collection report --firm CRT "$dsig" --signer dan@crt.fr --action authenticated --method sms \
	--provider-ref OTP-2 --masked-destination "+33 6** ** ** 79" --code-sent-at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
shown=$(ctl --platform --json collection show --firm CRT "$dsig" |
	/usr/bin/python3 -c 'import json,sys; print(",".join(d["current_sha256"] for d in json.load(sys.stdin)["collection"]["documents"]))')
expect 0 "dan signs" -- ctl --as dan@crt.fr collection sign --firm CRT "$dsig" --documents "$shown" \
	--consent-version CONSENTEMENT-2026
failure=
for _ in $(seq 200); do
	ctl --as ec@crt.fr --json collection show --firm CRT "$dsig" >"$dir/show.json"
	failure=$(doc_json failure)
	[ -n "$failure" ] && break
	sleep 0.1
done
checks=$((checks + 1))
case "$failure" in *"no key kept for certificate $dan_serial"*) ;; *) fail "a missing key: the signature fails on record, saying why: \"$failure\"" ;; esac
checks=$((checks + 1))
[ "$(ls "$d/keys/signers" | wc -l)" = "$kept_before" ] || fail "and no credential is issued in its place"

# ----- the firm's seal, issued with the firm -----
seal1=$(ls "$d/keys/signers" | grep -v "^$serial.pem$" | sed 's/\.pem$//')
seal1_label=$(sed -n "s/^Token-Key-Label: //p" "$d/keys/signers/$seal1.pem")
checks=$((checks + 1))
[[ "$seal1" =~ ^[0-9A-F]{32}$ ]] || fail "one more kept key: the firm's seal: \"$seal1\""
expect 0 "the seal's certificate" -- openssl x509 -in "$d/keys/signers/$seal1.pem" -noout -subject
contains "Cabinet Certif" "names the firm"
contains "NTRFR-732829320" "and its SIREN (organizationIdentifier)"
s1=$(ctl --as ec@crt.fr collection create --firm CRT --kind seal --title "PV 1")
ctl --as ec@crt.fr collection add-document --firm CRT "$s1" "$dir/doc.pdf" >/dev/null
ctl --as ec@crt.fr collection seal --firm CRT "$s1" >/dev/null
checks=$((checks + 1))
wait_state "$s1" completed || fail "the seal collection completes"
ctl --as ec@crt.fr document get --firm CRT "$(doc_json current_sha256)" -o "$dir/sealed1.pdf" >/dev/null
expect 0 "sealed with the firm's seal certificate" -- \
	/usr/bin/python3 "$here/dss_check.py" "$dir/sealed1.pdf" "$d/keys/signer-ca.pem" --cert-serial "$seal1"
expect 1 "a second seal certificate while one is valid" -- ctl --platform seal issue --firm CRT
contains "FAILED_PRECONDITION" "refused: revoke it first"

# ----- revocation -----
expect 1 "the EC may not revoke claire's certificate" -- ctl --as ec@crt.fr certificate revoke --sub claire@crt.fr \
	--reason keyCompromise
contains "PERMISSION_DENIED" "only claire and the platform"
expect 1 "a reason RFC 5280 does not have" -- ctl --as claire@crt.fr certificate revoke --sub claire@crt.fr \
	--reason lostPhone
contains "INVALID_ARGUMENT" "a typed error"
expect 2 "revoke needs a reason" -- ctl --as claire@crt.fr certificate revoke --sub claire@crt.fr
expect 0 "claire revokes her own (lost phone)" -- ctl --as claire@crt.fr certificate revoke --sub claire@crt.fr \
	--reason keyCompromise --comment "téléphone perdu"
expect 1 "revoked twice" -- ctl --platform certificate revoke --sub claire@crt.fr --reason superseded
contains "FAILED_PRECONDITION" "already revoked"
for _ in $(seq 100); do [ -e "$key" ] || break; sleep 0.1; done
checks=$((checks + 1))
[ ! -e "$key" ] || fail "the revoked certificate's key is destroyed"
checks=$((checks + 1))
[ "$(token_count "$d" "$label")" = 0 ] || fail "and its token objects are gone"
sig2=$(ctl --as ec@crt.fr collection create --firm CRT --kind signature --title "Mission 2")
ctl --as ec@crt.fr collection add-document --firm CRT "$sig2" "$dir/doc.pdf" >/dev/null
ctl --as ec@crt.fr collection add-signer --firm CRT "$sig2" --email claire@crt.fr --name "Claire Dubois" >/dev/null
ctl --as ec@crt.fr collection send --firm CRT "$sig2" >/dev/null
expect 1 "a revoked certificate never signs again" -- sign_as_claire "$sig2"
contains "PERMISSION_DENIED" "refused"
contains "revoked" "and says why"

# A revoked seal: the next seal fails, on record, until a new seal certificate is issued.
expect 0 "the platform revokes the seal" -- ctl --platform certificate revoke --firm CRT --reason superseded
s2=$(ctl --as ec@crt.fr collection create --firm CRT --kind seal --title "PV 2")
ctl --as ec@crt.fr collection add-document --firm CRT "$s2" "$dir/doc.pdf" >/dev/null
ctl --as ec@crt.fr collection seal --firm CRT "$s2" >/dev/null
failure=
for _ in $(seq 200); do
	ctl --as ec@crt.fr --json collection show --firm CRT "$s2" >"$dir/show.json"
	failure=$(doc_json failure)
	[ -n "$failure" ] && break
	sleep 0.1
done
checks=$((checks + 1))
case "$failure" in *revoked*) ;; *) fail "the seal by a revoked certificate fails, on record, saying why: \"$failure\"" ;; esac
expect 0 "a new seal certificate" -- ctl --platform seal issue --firm CRT
expect 0 "retry the seal" -- ctl --as ec@crt.fr collection retry --firm CRT "$s2"
checks=$((checks + 1))
wait_state "$s2" completed || fail "sealed with the new certificate"
ctl --as ec@crt.fr document get --firm CRT "$(doc_json current_sha256)" -o "$dir/sealed2.pdf" >/dev/null
seal2=$(ls "$d/keys/signers" | grep -v -e "^$serial.pem$" -e "^$seal1.pem$" | sed 's/\.pem$//')
seal2_label=$(sed -n "s/^Token-Key-Label: //p" "$d/keys/signers/$seal2.pem")
expect 0 "the later seal's /DSS: its CA's CRL lists the revoked seal (openssl crl -text)" -- \
	/usr/bin/python3 "$here/dss_check.py" "$dir/sealed2.pdf" "$d/keys/signer-ca.pem" --cert-serial "$seal2" \
	--crl-revoked "$seal1"
expect 1 "and no CRL of it lists the revoked person: that is the persons' CA's CRL, not the seals'" -- \
	/usr/bin/python3 "$here/dss_check.py" "$dir/sealed2.pdf" "$d/keys/signer-ca.pem" --crl-revoked "$serial"
expect 0 "pdfsig on the later seal" -- pdfsig "$dir/sealed2.pdf"
contains "Signature is Valid." "valid"
stop_ledgerd

# A key issued for a command whose event never committed (a crash between the two) is destroyed
# at the next start; the recorded ones stay.
cp "$d/keys/signers/$seal2.pem" "$d/keys/signers/4123456789ABCDEF0123456789ABCDEF.pem"
start_ledgerd "$d"
checks=$((checks + 1))
[ ! -e "$d/keys/signers/4123456789ABCDEF0123456789ABCDEF.pem" ] || fail "the unrecorded key is destroyed at start"
checks=$((checks + 1))
[ -f "$d/keys/signers/$seal2.pem" ] && [ ! -e "$d/keys/signers/$seal1.pem" ] || fail "the valid seal's key stays; the revoked one's is gone"
contains_log() { checks=$((checks + 1)); grep -q "$1" "$dir/log" || fail "$2"; }
contains_log "destroyed 1 key(s) no event records" "and says so"
stop_ledgerd

checks=$((checks + 1))
found=$(grep -rl "PRIVATE KEY" "$d" 2>/dev/null)
[ -z "$found" ] || fail "no PEM private key anywhere under the data directory: $found"

# ----- the log -----
audit() { "$bin/ledger-audit" "$@"; }
expect 0 "the log verifies (certificates' DER are stored documents named by their events)" -- audit verify --data "$d"
checks=$((checks + 1))
grep -q "named by no event" <<<"$out" && fail "no orphan: every certificate's DER is named"
expect 0 "the projections replay identically" -- audit replay --data "$d"
expect 0 "export what names claire" -- audit export --data "$d" --what subject --subject claire@crt.fr
contains ",key_created,platform,kind=KEY_PERSON key_id=token:$label certificate_serial=$serial" "claire's key created, at registration"
contains "owner=claire@crt.fr" "whose"
contains ",certificate_revoked,claire@crt.fr,serial=$serial reason=keyCompromise reason_code=1 owner=claire@crt.fr comment=téléphone perdu" "claire's revocation, by claire, with the RFC 5280 reason"
contains ",access_denied,claire@crt.fr," "claire's refused signature is on record"
contains ",key_destroyed,ledgerd,kind=KEY_PERSON key_id=token:$label certificate_serial=$serial reason=revoked" "her key's destruction"
expect 0 "export what names the firm" -- audit export --data "$d" --what subject --subject CRT
contains ",key_created,platform,kind=KEY_SEAL key_id=token:$seal1_label certificate_serial=$seal1" "the seal's, with the firm"
contains ",certificate_revoked,platform,serial=$seal1 reason=superseded reason_code=4 owner=CRT" "the seal's revocation"
contains ",key_created,platform,kind=KEY_SEAL key_id=token:$seal2_label certificate_serial=$seal2" "the new seal"
contains ",key_destroyed,ledgerd,kind=KEY_SEAL key_id=token:$seal1_label certificate_serial=$seal1 reason=revoked" "the revoked seal's key destroyed"
expect 0 "export the firm's collections" -- audit export --data "$d" --firm CRT
contains ",signature_failed,ledgerd," "the failed seal is on record"
expect 0 "export the whole log" -- audit export --data "$d" --what log
# Every key event names a token label; the one-shot key's destruction ("used once") too.
expect 0 "every key event names its token label" -- /usr/bin/python3 -c '
import base64, json, sys
events = [e for e in (json.loads(line) for line in sys.stdin if line.startswith("{")) if "kind" in e]
keys = [(e["kind"], base64.b64decode(e["event"])) for e in events if e["kind"] in ("key_created", "key_destroyed")]
bad = [k for k, b in keys if b"token:cred-" not in b or b"file:" in b]
used_once = [b for k, b in keys if k == "key_destroyed" and b"used once" in b and b"token:cred-" in b]
print(len(keys), "key events,", len(bad), "not in the token,", len(used_once), "one-shot destroyed")
sys.exit(0 if keys and not bad and used_once else 1)' <<<"$out"
report certificates_test
