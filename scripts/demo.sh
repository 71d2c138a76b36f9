#!/usr/bin/env bash
# The quick start: installs what is missing, builds, initialises a data directory
# (demo-data/ by default, or $1), starts ledgerd on it, and walks a first scenario with
# ledgerctl: accounts, a firm, delegations granted, checked, revoked; then a collection of a
# real PDF prepared, approved, signed by a client and by the EC, the signed PDF checked with
# pdfsig and qpdf (PAdES B-LTA: time-stamped, with its validation data); a witness cosigns the
# log's checkpoint over RPC and the collection's evidence bundle is checked with the log key
# alone; then the log verified offline. ledgerd is left running for you to try more; the last
# lines say how to stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
bin=$PWD/build/bin
data=${1:-$PWD/demo-data}

if [ -S "$data/ledgerd.sock" ] && pkill -0 -f "ledgerd serve --data $data" 2>/dev/null; then
	pkill -TERM -f "ledgerd serve --data $data" || true
	sleep 1
fi
witness=$data.witness # a witness is somebody else: its files live outside the data directory
rm -rf "$data" "$witness"
mkdir -p "$witness"
step() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "${*@Q}"; "$@" || printf '(exit %d)\n' "$?"; }

step "Create the data directory: LMDB store and keys"
run "$bin/ledgerd" init --data "$data"

step "A witness makes its key; the daemon will keep its cosignatures of the log's checkpoints"
printf '$ %s\n' "ledger-audit witness-key --name demo.witness.example/w1 --key-file $witness/w1.key > $witness/w1.vkey"
"$bin/ledger-audit" witness-key --name demo.witness.example/w1 --key-file "$witness/w1.key" >"$witness/w1.vkey"
cat "$witness/w1.vkey"

step "Start the daemon on it (log: $data/ledgerd.log)"
"$bin/ledgerd" serve --data "$data" --witness "$witness/w1.vkey" >"$data/ledgerd.log" 2>&1 &
pid=$!
for _ in $(seq 50); do [ -S "$data/ledgerd.sock" ] && break; sleep 0.1; done
echo "ledgerd running, pid $pid, on ipc://$data/ledgerd.sock"

ctl() { run "$bin/ledgerctl" --data "$data" "$@"; }
step "The platform registers accounts (Comptexpert sync) and a firm with its EC"
ctl --platform account add philippe.durant@cabinet-jlm.fr --name "Philippe Durant" --ec
ctl --platform account add salima@cabinet-jlm.fr --name "Salima Benali"
ctl --platform account add marc@cabinet-jlm.fr --name "Marc Petit"
ctl --platform firm add JLM-PA --name "JLM - Pont-Audemer" --ec philippe.durant@cabinet-jlm.fr --siren 732829320

step "The EC delegates: Salima may sign and seal, Marc may prepare (one address has no account)"
ctl --as philippe.durant@cabinet-jlm.fr delegation grant --firm JLM-PA \
	--to salima@cabinet-jlm.fr --rights sign,seal --expires 2027-10-24
ctl --as philippe.durant@cabinet-jlm.fr delegation grant --firm JLM-PA \
	--to marc@cabinet-jlm.fr,nobody@cabinet-jlm.fr --rights prepare

step "Who may do what"
ctl --as marc@cabinet-jlm.fr can --firm JLM-PA signature.configure
ctl --as marc@cabinet-jlm.fr can --firm JLM-PA signature.send
ctl --as salima@cabinet-jlm.fr can --firm JLM-PA seal.seal
ctl --as salima@cabinet-jlm.fr can --firm JLM-PA platform.credit

step "The guide's two pages: delegations given (EC) and received (collaborator)"
ctl --as philippe.durant@cabinet-jlm.fr delegation given
ctl --as salima@cabinet-jlm.fr delegation received

step "The EC revokes Marc; he may no longer prepare"
ctl --as philippe.durant@cabinet-jlm.fr delegation revoke --firm JLM-PA --to marc@cabinet-jlm.fr
ctl --as marc@cabinet-jlm.fr can --firm JLM-PA signature.configure

ec=philippe.durant@cabinet-jlm.fr
step "Marc prepares again; the EC buys credits and completes the registration he needs to sign"
ctl --as $ec delegation grant --firm JLM-PA --to marc@cabinet-jlm.fr --rights prepare
ctl --as $ec credits add --firm JLM-PA --credits 20 --reference "BC-2026-118"
reg() { ctl --platform registration record $ec --step "$@"; }
reg information_confirmed
reg identity_verified --provider Ubble --provider-ref UB-77 --method id_document+mobile \
	--phone "+33 6 12 34 56 78" --id-ref FR-ID-1234 --given-name Philippe --surname Durant
reg subscription_accepted --subscription-version ABO-2026
reg terms_accepted --terms-version CGU-2026 --rgpd-version RGPD-2025
reg certificate_issued # ledgerd's CA issues his certificate (3 years); its key never leaves ledgerd
ctl --platform registration show --sub $ec

step "Marc prepares a collection: a PDF, a client and the EC as signers, the EC's signature placed on page 1"
pdf=$data/bilan-2026.pdf
/usr/bin/python3 - "$pdf" <<'PY'
import sys
text = b"BT /F1 14 Tf 72 760 Td (Bilan 2026 - SARL Dupont) Tj ET"
objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"]
out, offsets = b"%PDF-1.7\n", []
for i, o in enumerate(objs):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
open(sys.argv[1], "wb").write(out)
PY
marc() { run "$bin/ledgerctl" --data "$data" --as marc@cabinet-jlm.fr "$@"; }
col=$("$bin/ledgerctl" --data "$data" --as marc@cabinet-jlm.fr collection create --firm JLM-PA --kind signature \
	--title "Bilan 2026 SARL Dupont")
echo "collection $col"
doc=$("$bin/ledgerctl" --data "$data" --as marc@cabinet-jlm.fr collection add-document --firm JLM-PA "$col" "$pdf")
echo "document $doc"
marc collection add-signer --firm JLM-PA "$col" --email marie.dupont@sarl-dupont.fr --name "Marie Dupont" \
	--external --phone "+33 6 98 76 54 32"
marc collection add-signer --firm JLM-PA "$col" --email $ec
marc collection set-field --firm JLM-PA "$col" --signer $ec --document "$doc" --page 1 --rect 350,80,550,160
marc collection send --firm JLM-PA "$col"
marc collection request-approval --firm JLM-PA "$col"

step "The EC approves: the collection is sent, credits are reserved"
ctl --as $ec collection approve --firm JLM-PA "$col" --comment "OK pour envoi"
ctl --as $ec credits show --firm JLM-PA

step "The client signs (the platform reports her one-time code and consent); then the EC signs"
ctl --platform collection report --firm JLM-PA "$col" --signer marie.dupont@sarl-dupont.fr --action authenticated \
	--method sms --provider-ref OTP-4411 --masked-destination "+33 6** ** ** 32" \
	--code-sent-at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# Her consent names the version of each document she was shown, and the consent text's version.
shown=$("$bin/ledgerctl" --data "$data" --platform --json collection show --firm JLM-PA "$col" |
	/usr/bin/python3 -c 'import json,sys; print(",".join(d["current_sha256"] for d in json.load(sys.stdin)["collection"]["documents"]))')
ctl --platform collection report --firm JLM-PA "$col" --signer marie.dupont@sarl-dupont.fr --action consented \
	--documents "$shown" --consent-version CONSENTEMENT-2026
for _ in $(seq 50); do
	"$bin/ledgerctl" --data "$data" --as $ec --json collection show --firm JLM-PA "$col" | grep -q '"signed":true' && break
	sleep 0.2
done
# The EC's signature rests on the same: a fresh authentication, the versions shown (now the
# ones the client signed) and the consent text's version.
ctl --platform collection report --firm JLM-PA "$col" --signer $ec --action authenticated \
	--method sms --provider-ref OTP-4412 --masked-destination "+33 6** ** ** 07" \
	--code-sent-at "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
shown=$("$bin/ledgerctl" --data "$data" --platform --json collection show --firm JLM-PA "$col" |
	/usr/bin/python3 -c 'import json,sys; print(",".join(d["current_sha256"] for d in json.load(sys.stdin)["collection"]["documents"]))')
ctl --as $ec collection sign --firm JLM-PA "$col" --documents "$shown" --consent-version CONSENTEMENT-2026
for _ in $(seq 50); do
	"$bin/ledgerctl" --data "$data" --as $ec --json collection show --firm JLM-PA "$col" | grep -q '"state":"completed"' && break
	sleep 0.2
done
ctl --as $ec collection show --firm JLM-PA "$col"

step "The signed PDF, checked by independent validators"
signed=$("$bin/ledgerctl" --data "$data" --as $ec --json collection show --firm JLM-PA "$col" |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["collection"]["documents"][0]["current_sha256"])')
ctl --as $ec document get --firm JLM-PA "$signed" -o "$data/bilan-2026-signe.pdf"
# A relying party trusts the CA (an NSS database, as pdfsig uses) and checks revocation online:
# pdfsig asks ledgerd's OCSP responder, named in each certificate (its PKI URL).
nss=$data/nss
mkdir -p "$nss" && certutil -N -d "$nss" --empty-password &&
	certutil -A -d "$nss" -n jse-ledger-ca -t CT,C,C -a -i "$data/keys/signer-ca.pem"
run pdfsig -nssdir "$nss" "$data/bilan-2026-signe.pdf"
run qpdf --check "$data/bilan-2026-signe.pdf"
ctl --as $ec dashboard --firm JLM-PA
ctl --as $ec stats --firm JLM-PA

step "The log as outsiders check it: its signed checkpoint, cosigned by the witness over RPC"
ctl --platform head
ctl --platform witness --log-key "$data/keys/log.vkey" --key-file "$witness/w1.key" --state "$witness/w1.checkpoint"

step "The collection's evidence bundle, checked with the log key and the witness's key alone"
run "$bin/ledger-audit" evidence --data "$data" --firm JLM-PA --collection "$col" -o "$data/evidence-$col.zip"
run "$bin/ledger-audit" verify-evidence "$data/evidence-$col.zip" --log-key "$data/keys/log.vkey" --witness "$witness/w1.vkey"

step "An auditor verifies the log offline (read-only), since the witnessed checkpoint, and rebuilds the projections"
run "$bin/ledger-audit" verify --data "$data" --log-key "$data/keys/log.vkey" --since "$witness/w1.checkpoint"
run "$bin/ledger-audit" replay --data "$data"

step "ledgerd is still running (pid $pid). Try for yourself, then stop it:"
echo "  $bin/ledgerctl --data $data --as salima@cabinet-jlm.fr delegation received"
echo "  $bin/ledgerctl --data $data --as $ec collection list --firm JLM-PA --all"
echo "  the signed PDF: $data/bilan-2026-signe.pdf (trust anchor: $data/keys/signer-ca.pem)"
echo "  kill $pid"
