#!/usr/bin/env bash
# audit_cli_test: ledger-audit prove and export, as an auditor uses them on a stopped ledgerd's
# directory (docs/audit.md): a sealed PDF is proved by its bytes and by its hash, with the
# events that produced it; a file the ledger never saw is not proved; an event is proved by its
# seq; the export is CSV with one row per collection event; a tampered document fails verify
# and a broken chain proves nothing.
set -uo pipefail
bin=${1:?usage: audit_cli_test.sh BIN_DIR}
dir=$(mktemp -d /tmp/ledger-audit-cli-XXXXXX)
. "$(dirname "$0")/../support/lib.sh" # expect, contains, json_ok, equals, fail, report, cleanup

d=$dir/d
ctl() { "$bin/ledgerctl" --data "$d" "$@"; }
"$bin/ledgerd" init --data "$d" >/dev/null || { echo "FAIL: init"; exit 1; }
"$bin/ledgerd" serve --data "$d" >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 600); do [ -S "$d/ledgerd.sock" ] && break; sleep 0.05; done

# A seal collection: sealed by the service as soon as it is asked.
/usr/bin/python3 "$(dirname "$0")/../support/make_pdf.py" "$dir/doc.pdf" --text "Proces-verbal AG 2026"
ctl --platform account add ec@audit.fr --name "EC Audit" --ec >/dev/null
ctl --platform firm add AUD --name "Cabinet Audit" --ec ec@audit.fr --siren 732829320 >/dev/null
ctl --platform account add col@audit.fr --name "Collaborateur" >/dev/null
ctl --as ec@audit.fr delegation grant --firm AUD --to col@audit.fr --rights prepare,sign --expires 2031-12-31 >/dev/null
ctl --as ec@audit.fr delegation revoke --firm AUD --to col@audit.fr --rights sign >/dev/null
ctl --as ec@audit.fr credits add --firm AUD --credits 5 >/dev/null
col=$(ctl --as ec@audit.fr collection create --firm AUD --kind seal --title "PV AG")
ctl --as ec@audit.fr collection add-document --firm AUD "$col" "$dir/doc.pdf" >/dev/null
ctl --as ec@audit.fr collection seal --firm AUD "$col" >/dev/null
sealed=
for _ in $(seq 100); do
	sealed=$(ctl --as ec@audit.fr --json collection show --firm AUD "$col" | /usr/bin/python3 -c \
		'import json,sys; c=json.load(sys.stdin)["collection"]; print(c["documents"][0]["current_sha256"] if c["state"]=="completed" else "")')
	[ -n "$sealed" ] && break
	sleep 0.1
done
checks=$((checks + 1))
[ -n "$sealed" ] || { failures=$((failures + 1)); echo "FAIL: the seal collection did not complete"; }
ctl --as ec@audit.fr document get --firm AUD "$sealed" -o "$dir/sealed.pdf" >/dev/null
stop_ledgerd

audit() { "$bin/ledger-audit" "$@"; }
expect 0 "verify re-hashes the stored documents" -- audit verify --data "$d"
# two documents and the seal's certificate (DocumentSigned keeps its SHA-256, the DER is a blob),
# and the 7 certificates of the keys ledgerd recorded at its start (root, 3 issuing CAs, TSA,
# OCSP responder, the platform's seal)
contains "10 stored documents hash to their keys" "verify counts the documents and the certificates"
expect 0 "prove the sealed file by its bytes" -- audit prove --data "$d" --file "$dir/sealed.pdf"
contains "produced by this seal" "the seal that produced it"
contains "in AUD/$col by seal:AUD" "firm, collection and sealer named"
contains "its stored bytes hash to it; chain intact from event 1" "stored bytes and chain checked"
expect 0 "prove the upload by its hash, in JSON" -- audit prove --data "$d" --file "$dir/doc.pdf" --json
contains '"role":"uploaded"' "uploaded"
contains '"role":"sealed"' "then sealed"
contains '"ok":true' "ok"
expect 1 "a file the ledger never saw" -- audit prove --data "$d" --file /etc/hostname
contains "not in the log" "says so"
expect 0 "prove event 1" -- audit prove --data "$d" --seq 1
contains "log_created" "the first event"
expect 1 "an event past the head" -- audit prove --data "$d" --seq 100000
expect 2 "prove needs exactly one target" -- audit prove --data "$d"
expect 2 "a malformed hash" -- audit prove --data "$d" --document abcd
expect 0 "export the firm's collections" -- audit export --data "$d" --firm AUD
contains "seq,committed_at,firm,collection,event,actor,detail,record_hash" "CSV header"
contains ",collection_created," "the creation"
contains ",document_signed," "the seal"
contains "signer=seal:AUD original_sha256=" "the seal's detail names every field"
contains ",credits_reserved," "the credits the seal reserved (were dropped before)"
checks=$((checks + 1))
grep -Eq '^[0-9]+,20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z,' <<<"$out" ||
	fail "times are to the microsecond"
expect 0 "export the firm's delegation history" -- audit export --data "$d" --what delegations --firm AUD
contains ",delegation_granted,ec@audit.fr,firm_id=AUD collaborator=col@audit.fr right=RIGHT_SIGN expires_on=2031-12-31" "the grant"
contains ",delegation_revoked,ec@audit.fr,firm_id=AUD collaborator=col@audit.fr right=RIGHT_SIGN," "the revocation"
expect 2 "the delegation history needs a firm" -- audit export --data "$d" --what delegations
expect 0 "everything about one person" -- audit export --data "$d" --what subject --subject col@audit.fr
contains ",account_registered,platform,email=col@audit.fr" "their account"
contains ",delegation_revoked," "the rights withdrawn from them"
checks=$((checks + 1))
! grep -q "collection_created" <<<"$out" || fail "the subject export holds events that do not name them"
expect 0 "the collection register" -- audit export --data "$d" --what register --firm AUD
contains "firm,collection,kind,title,state,created_at" "its header"
contains "AUD,$col,KIND_SEAL,PV AG,STATE_COMPLETED," "one row per collection, as it ended"
expect 2 "subject needs --subject" -- audit export --data "$d" --what subject
expect 2 "an unknown export" -- audit export --data "$d" --what everything
expect 0 "the whole log as JSON Lines" -- audit export --data "$d" --what log -o "$dir/log.jsonl"
/usr/bin/python3 - "$dir/log.jsonl" "$d/keys/log.vkey" <<'PY' || fail "the JSON Lines export does not re-verify"
import base64, hashlib, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
prev = bytes(32)
for i, r in enumerate(lines[:-1], 1):
    assert r["seq"] == i and bytes.fromhex(r["prev_hash"]) == prev, r
    h = hashlib.sha256(b"JSE-LEDGER-EVENT-V1" + i.to_bytes(8, "big") + prev + base64.b64decode(r["event"])).digest()
    assert h.hex() == r["hash"], r
    prev = h
cp = lines[-1]["checkpoint"].split("\n")
assert cp[0] == open(sys.argv[2]).read().split("+")[0] and int(cp[1]) == len(lines) - 1, cp[:2]
PY
expect 0 "export into a file, within a window" -- audit export --data "$d" --from 2000-01-01T00:00:00Z --to 2000-01-02T00:00:00Z -o "$dir/x.csv"
checks=$((checks + 1))
[ "$(wc -l <"$dir/x.csv")" = 1 ] || { failures=$((failures + 1)); echo "FAIL: an empty window exports the header only"; }
expect 2 "export with a bad time" -- audit export --data "$d" --from yesterday

# The collection's evidence bundle: made offline, checked with the log key alone, by
# ledger-audit and by the independent Python verifier of tlog-proofs (tests/tools).
cp "$d/keys/log.vkey" "$dir/log.vkey"
expect 0 "evidence bundle" -- audit evidence --data "$d" --firm AUD --collection "$col" -o "$dir/ev.zip"
contains "written to $dir/ev.zip" "says where"
expect 0 "verify-evidence" -- audit verify-evidence "$dir/ev.zip" --log-key "$dir/log.vkey"
contains "of collection AUD/$col are in the log" "names the collection"
contains "2 documents are the ones they name" "the upload and the sealed version"
contains "1 signatures and 2 time-stamps in the signed versions verify" "the seal, its time-stamp and the document time-stamp (B-LTA) verify"
/usr/bin/python3 - "$dir/ev.zip" "$dir/log.vkey" "$(dirname "$0")/../tools/tlog_proof_verify.py" "$sealed" <<'PY' ||
import hashlib, json, subprocess, sys, tempfile, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
proofs = sorted(n for n in names if n.startswith("records/"))
ev = json.loads(z.read("evidence.json"))
assert ev["format"] == "jse-evidence/1" and [t["seq"] for t in ev["timeline"]] == [int(p[8:20]) for p in proofs], ev
for p in proofs:
    with tempfile.NamedTemporaryFile() as f:
        f.write(z.read(p)); f.flush()
        out = subprocess.run(["/usr/bin/python3", sys.argv[3], f.name, "--log-vkey", sys.argv[2]], capture_output=True, text=True)
        assert out.returncode == 0, (p, out.stdout)
for n in names:
    if n.startswith("documents/"):
        assert hashlib.sha256(z.read(n)).hexdigest() == n[10:-4], n
assert "documents/%s.pdf" % sys.argv[4] in names
signed = [t for t in ev["timeline"] if t["event"] == "document_signed"]
assert signed and signed[0]["fields"]["signed_sha256"] == sys.argv[4] and "+0" in signed[0]["at_paris"], signed
PY
	fail "the independent check of the evidence bundle"
/usr/bin/python3 - "$dir/ev.zip" "$dir" "$sealed" <<'PY'
import re, sys, zipfile
src = zipfile.ZipFile(sys.argv[1])
first = sorted(n for n in src.namelist() if n.startswith("records/"))[0]
shift = lambda b: re.sub(rb"\nindex (\d+)\n", lambda m: b"\nindex %d\n" % (int(m.group(1)) + 1), b, count=1)
def variant(name, change):
    with zipfile.ZipFile(f"{sys.argv[2]}/{name}.zip", "w") as z:
        for n in src.namelist():
            data = change(n, src.read(n))
            if data is not None:
                z.writestr(n, data)
doc = f"documents/{sys.argv[3]}.pdf"
variant("ev-doc-changed", lambda n, b: b[:-2] + bytes([b[-2] ^ 1]) + b[-1:] if n == doc else b)
variant("ev-doc-missing", lambda n, b: None if n == doc else b)
variant("ev-record-changed", lambda n, b: shift(b) if n == first else b)
variant("ev-no-ca", lambda n, b: None if n == "signer-ca.der" else b)
PY
expect 1 "a changed document is refused" -- audit verify-evidence "$dir/ev-doc-changed.zip" --log-key "$dir/log.vkey"
contains "its bytes hash to" "and named"
expect 1 "a missing document is refused" -- audit verify-evidence "$dir/ev-doc-missing.zip" --log-key "$dir/log.vkey"
contains "which the bundle does not hold" "and named"
expect 1 "a changed proof is refused" -- audit verify-evidence "$dir/ev-record-changed.zip" --log-key "$dir/log.vkey"
expect 1 "without the CA certificate the signatures cannot be checked" -- audit verify-evidence "$dir/ev-no-ca.zip" --log-key "$dir/log.vkey"
contains "no signer-ca.der" "and says so"
"$bin/ledgerd" init --data "$dir/other" >/dev/null
expect 1 "another log's key is refused" -- audit verify-evidence "$dir/ev.zip" --log-key "$dir/other/keys/log.vkey"
expect 2 "verify-evidence needs the log key" -- audit verify-evidence "$dir/ev.zip"
expect 1 "no such collection" -- audit evidence --data "$d" --firm AUD --collection c999 -o "$dir/none.zip"

# Tampering: a stored document's bytes, then a record of the chain.
cp -r "$d" "$dir/t"
/usr/bin/python3 - "$dir/t" "$sealed" <<'PY'
import lmdb, sys
env = lmdb.open(sys.argv[1], max_dbs=64)
blobs = env.open_db(b"blobs")
with env.begin(write=True, db=blobs) as txn:
    key = bytes.fromhex(sys.argv[2])
    value = bytearray(txn.get(key))
    value[100] ^= 1
    txn.put(key, bytes(value))
PY
expect 1 "verify finds the altered document" -- audit verify --data "$dir/t"
contains "does not hash to its key" "and says so"
expect 1 "prove refuses the altered document's stored bytes" -- audit prove --data "$dir/t" --document "$sealed"
contains "DO NOT MATCH" "and says so"
flip_event_byte "$dir/t" 3
expect 1 "a broken chain proves nothing" -- audit prove --data "$dir/t" --seq 1
contains "broken at seq 3" "names the first bad seq"

# A document an event names is gone; a stored document no event names is an orphan.
cp -r "$d" "$dir/m"
/usr/bin/python3 - "$dir/m" "$sealed" <<'PY'
import hashlib, lmdb, sys
env = lmdb.open(sys.argv[1], max_dbs=64)
blobs = env.open_db(b"blobs")
with env.begin(write=True, db=blobs) as txn:
    orphan = b"%PDF-1.7 not named by any event"
    txn.put(hashlib.sha256(orphan).digest(), orphan)
PY
expect 0 "an orphan document does not break the log" -- audit verify --data "$dir/m"
contains "1 stored document(s) named by no event" "but is reported"
/usr/bin/python3 - "$dir/m" "$sealed" <<'PY'
import lmdb, sys
env = lmdb.open(sys.argv[1], max_dbs=64)
blobs = env.open_db(b"blobs")
with env.begin(write=True, db=blobs) as txn:
    assert txn.delete(bytes.fromhex(sys.argv[2]))
PY
expect 1 "verify finds a missing document" -- audit verify --data "$dir/m"
contains "names document $sealed, which is not stored" "and names it"

report audit_cli_test
