#!/usr/bin/env bash
# cli_test: ledgerctl, ledgerd and ledger-audit as a script or a person uses them: --help on
# every subcommand, exit codes (0 ok, 1 refused, 2 usage), --json that parses, a TCP listener,
# tokens given with --token, and ledger-audit naming the first bad seq of a tampered copy.
set -uo pipefail
bin=${1:?usage: cli_test.sh BIN_DIR}
dir=$(mktemp -d /tmp/ledger-cli-XXXXXX)
. "$(dirname "$0")/../support/lib.sh" # expect, contains, json_ok, equals, fail, report, cleanup

expect 0 "ledgerd --help" -- "$bin/ledgerd" --help
contains "ledgerd serve" "ledgerd help names serve"
expect 2 "ledgerd without a command" -- "$bin/ledgerd"
expect 2 "ledgerd unknown command" -- "$bin/ledgerd" frobnicate --data "$dir"
expect 2 "ledgerd serve without --data" -- "$bin/ledgerd" serve
expect 1 "serve an uninitialised dir" -- "$bin/ledgerd" serve --data "$dir"
# The production ledgerd never takes its time from anything but the clock (docs/operations.md):
# --clock-file exists only in the tests' ledgerd-test-clock.
expect 2 "ledgerd has no --clock-file" -- "$bin/ledgerd" serve --data "$dir" --clock-file "$dir/clock"
expect 0 "ledgerd --help" -- "$bin/ledgerd" --help
checks=$((checks + 1))
case "$out" in *clock-file*) failures=$((failures + 1)); echo "FAIL: ledgerd --help offers --clock-file" ;; esac
expect 0 "ledgerd-test-clock --help" -- "$bin/ledgerd-test-clock" --help
contains "--clock-file" "the test build documents --clock-file"
# --ready-fd is a descriptor number, checked (it was atoi: "abc" became fd 0).
for bad in abc -1 "" 3x 99999999999 65536; do
	expect 2 "--ready-fd '$bad'" -- "$bin/ledgerd" serve --data "$dir" --ready-fd "$bad"
	contains "--ready-fd $bad" "the bad --ready-fd is named"
done
# Limits in messages come from the constants.
expect 2 "eight --listen URLs" -- "$bin/ledgerd" serve --data "$dir" $(for i in 1 2 3 4 5 6 7 8; do echo --listen "ipc://$dir/s$i"; done)
contains "at most 7 --listen URLs" "the --listen limit is named"
expect 2 "--workers 1025" -- "$bin/ledgerd" serve --data "$dir" --workers 1025
contains "a number from 1 to 1024" "the --workers limit is named"
expect 0 "ledger-audit --help" -- "$bin/ledger-audit" --help
expect 2 "ledger-audit without --data" -- "$bin/ledger-audit" verify
expect 3 "ledger-audit on an empty dir" -- "$bin/ledger-audit" verify --data "$dir"
contains "ledgerd init" "the message says how to initialise"
expect 0 "ledgerctl --help" -- "$bin/ledgerctl" --help
for sub in "token" "account add" "firm add" "delegation grant" "delegation revoke" "delegation given" \
	"delegation received" "can" "head"; do
	# shellcheck disable=SC2086
	expect 0 "ledgerctl $sub --help" -- "$bin/ledgerctl" $sub --help
	contains "ledgerctl $sub" "help of $sub shows its usage"
done
expect 2 "unknown subcommand" -- "$bin/ledgerctl" frobnicate
expect 2 "missing credentials" -- "$bin/ledgerctl" --server ipc:///nonexistent head
expect 2 "grant without --rights" -- "$bin/ledgerctl" --data "$dir" --platform delegation grant --firm F --to a@b.fr
expect 2 "unknown right" -- "$bin/ledgerctl" --data "$dir" --platform delegation grant --firm F --to a@b.fr --rights fly
contains "fly" "the bad right is named"

expect 2 "init --pki-url https" -- "$bin/ledgerd" init --data "$dir/p" --pki-url https://pki.example.fr
contains "http:// only" "says why"
expect 2 "init --pki-url with a comma" -- "$bin/ledgerd" init --data "$dir/p" --pki-url "http://a.fr/x,OCSP;URI:http://evil"
expect 2 "serve --pki-url" -- "$bin/ledgerd" serve --data "$dir/p" --pki-url http://a.fr
expect 2 "init --pki-listen" -- "$bin/ledgerd" init --data "$dir/p" --pki-listen 127.0.0.1:8079
expect 2 "serve --pki-listen without a port" -- "$bin/ledgerd" serve --data "$dir/p" --pki-listen 127.0.0.1
expect 2 "init --organization-identifier not in EN 319 412-1's form" -- \
	"$bin/ledgerd" init --data "$dir/p" --organization-identifier "552 100 554"
contains "NTRFR-123456789" "says what is expected"
expect 2 "serve --organization-identifier" -- "$bin/ledgerd" serve --data "$dir/p" --organization-identifier NTRFR-552100554
expect 2 "serve --tsa-renew-days past four years" -- "$bin/ledgerd" serve --data "$dir/p" --tsa-renew-days 1461
expect 2 "serve --tsa-renew-days not a number" -- "$bin/ledgerd" serve --data "$dir/p" --tsa-renew-days 1y
expect 2 "init --tsa-renew-days" -- "$bin/ledgerd" init --data "$dir/p" --tsa-renew-days 30
checks=$((checks + 1))
[ ! -e "$dir/p" ] || { failures=$((failures + 1)); echo "FAIL: a refused init left $dir/p"; }
expect 0 "init" -- "$bin/ledgerd" init --data "$dir/d" --organization-identifier NTRFR-552100554
checks=$((checks + 1))
[ "$(cat "$dir/d/organization-identifier")" = "NTRFR-552100554" ] ||
	{ failures=$((failures + 1)); echo "FAIL: the organizationIdentifier kept"; }
checks=$((checks + 1))
[ "$(cat "$dir/d/pki-url")" = "http://127.0.0.1:8079" ] || { failures=$((failures + 1)); echo "FAIL: the default PKI URL"; }
expect 1 "init twice" -- "$bin/ledgerd" init --data "$dir/d"
contains "already" "init twice says why"
checks=$((checks + 1))
[ "$(stat -c %a "$dir/d/keys/idp.sk")" = 600 ] && [ "$(stat -c %a "$dir/d/keys")" = 700 ] ||
	{ failures=$((failures + 1)); echo "FAIL: key file modes"; }

port=$((20000 + RANDOM % 20000))
"$bin/ledgerd" serve --data "$dir/d" --listen "ipc://$dir/d/ledgerd.sock" --listen "tcp://127.0.0.1:$port" 2>"$dir/log" &
pid=$!
for _ in $(seq 600); do [ -S "$dir/d/ledgerd.sock" ] && grep -q serving "$dir/log" && break; sleep 0.05; done
for ca in signer-ca signer-ca-persons signer-ca-seals signer-ca-tsa signer-tsa signer-ocsp-persons; do
	expect 0 "$ca.pem made at the first start" -- openssl x509 -in "$dir/d/keys/$ca.pem" -noout -subject
	contains "organizationIdentifier = NTRFR-552100554" "$ca names the platform as init was told"
done
checks=$((checks + 1))
! grep -q "placeholder organizationIdentifier" "$dir/log" || { failures=$((failures + 1)); echo "FAIL: no placeholder warning when init named the platform"; }
ctl() { "$bin/ledgerctl" --data "$dir/d" "$@"; }

expect 0 "account over ipc" -- ctl --platform account add ec@x.fr --name "E C" --ec
head_before=$(ctl --platform head | sed -n 's/^head seq \([0-9]*\) .*/\1/p')
expect 0 "account, --json" -- ctl --platform --json account add col@x.fr --name "Col"
json_ok "account --json"
contains "\"seq\":$((head_before + 1))" "the JSON names the seq"
tok=$("$bin/ledgerctl" token --data "$dir/d" --sub platform --platform --ttl 600)
expect 0 "firm over tcp with --token" -- "$bin/ledgerctl" --server "tcp://127.0.0.1:$port" --token "$tok" firm add F --name "Firm" --ec ec@x.fr --siren 732829320
expect 1 "firm again: refused" -- ctl --platform firm add F --name "Firm" --ec ec@x.fr --siren 732829320
contains "ALREADY_EXISTS" "the error code is printed"
expect 1 "firm with a non-EC" -- ctl --platform firm add G --name "G" --ec col@x.fr --siren 732829320
contains "not an expert-comptable" "says why"
expect 1 "a bad token" -- "$bin/ledgerctl" --data "$dir/d" --token "v1.AAAA.BBBB" head
contains "UNAUTHENTICATED" "bad token is UNAUTHENTICATED"
expect 1 "grant: one row has no account" -- ctl --as ec@x.fr --json delegation grant --firm F --to col@x.fr,ghost@x.fr --rights seal
json_ok "grant --json"
contains '"status":"NO_ACCOUNT"' "per-row status"
# Imported lists (the guide's "importer un fichier"): one result per row, the file's numbers.
fixtures=$(cd "$(dirname "$0")/../fixtures/import" && pwd)
expect 0 "account for the list" -- ctl --platform account add claire.dupont@cabinet-dupont.fr --name "Claire Dupont"
for f in collaborateurs.csv collaborateurs.xlsx collaborateurs.xls; do
	expect 1 "import $f (some rows refused)" -- ctl --as ec@x.fr --json delegation grant --firm F --import "$fixtures/$f" --rights prepare
	json_ok "import $f --json"
	contains '{"row":2,"collaborator":"claire.dupont@cabinet-dupont.fr","status":"GRANTED"' "$f: row 2 granted"
	contains '{"row":6,"collaborator":"pas-une-adresse","status":"INVALID_ADDRESS"' "$f: row 6 invalid"
	contains '{"row":7,"collaborator":"claire.dupont@cabinet-dupont.fr","status":"DUPLICATE"' "$f: row 7 duplicate"
done
expect 1 "import list.txt (no accounts)" -- ctl --as ec@x.fr delegation grant --firm F --import "$fixtures/list.txt" --rights prepare
contains "row 5" "txt rows keep their numbers"
contains "NO_ACCOUNT" "txt: no account"
before=$(ctl --as ec@x.fr head)
cp "$fixtures/collaborateurs.csv" "$dir/list.xlsx"
expect 1 "csv bytes named .xlsx" -- ctl --as ec@x.fr delegation grant --firm F --import "$dir/list.xlsx" --rights prepare
contains "INVALID_ARGUMENT" "wrong type is INVALID_ARGUMENT"
contains "not a zip" "and says why"
expect 1 "the crashing .xls" -- ctl --as ec@x.fr delegation grant --firm F --import "$fixtures/freexl_dirent_overread.xls" --rights prepare
contains "INVALID_ARGUMENT" "a hostile .xls is refused"
checks=$((checks + 1))
[ "$(ctl --as ec@x.fr head)" = "$before" ] || { failures=$((failures + 1)); echo "FAIL: unreadable lists wrote something"; }
# Authorise before parsing: a list imported by someone who is not the firm's EC is never read
# (it used to be parsed first, so any token holder could spend the server's CPU on libxml2).
# The refusal is the rights one, not the file's, and it is on record.
expect 1 "a collaborator imports an unreadable list" -- ctl --as col@x.fr delegation grant --firm F --import "$dir/list.xlsx" --rights prepare
contains "PERMISSION_DENIED" "refused for lack of rights"
contains "only the EC of firm F" "and says which right"
checks=$((checks + 1))
case "$out" in *"not a zip"*) failures=$((failures + 1)); echo "FAIL: a non-EC's import was parsed: $out" ;; esac
expect 1 "an import into an unknown firm" -- ctl --as ec@x.fr delegation grant --firm NOPE --import "$dir/list.xlsx" --rights prepare
contains "NOT_FOUND" "unknown firm before the file"
expect 1 "import of a missing file" -- ctl --as ec@x.fr delegation grant --firm F --import "$dir/none.csv" --rights prepare
expect 2 "both --to and --import" -- ctl --as ec@x.fr delegation grant --firm F --import "$fixtures/list.txt" --to a@b.fr --rights prepare

expect 0 "can seal.seal" -- ctl --as col@x.fr can --firm F seal.seal
contains "allowed" "allowed printed"
expect 1 "can signature.send" -- ctl --as col@x.fr --json can --firm F signature.send
json_ok "can --json"
contains '"allowed":false' "denied in JSON"
expect 1 "can an unknown action" -- ctl --as col@x.fr can --firm F signature.fly
contains "INVALID_ARGUMENT" "unknown action is INVALID_ARGUMENT"
expect 0 "given, --json" -- ctl --as ec@x.fr --json delegation given --firm F
json_ok "given --json"
expect 0 "received" -- ctl --as col@x.fr delegation received
contains "seal" "received lists the right"
expect 0 "retry with the same request id" -- ctl --as ec@x.fr --request-id r-1 delegation revoke --firm F --to col@x.fr
expect 0 "the retry is replayed" -- ctl --as ec@x.fr --request-id r-1 --json delegation revoke --firm F --to col@x.fr
contains '"replayed":true' "replayed flag"
expect 0 "head" -- ctl --as col@x.fr --json head
json_ok "head --json"

stop_ledgerd
grep -q "stopped cleanly" "$dir/log" || { failures=$((failures + 1)); echo "FAIL: no clean stop in the log"; }

expect 0 "verify" -- "$bin/ledger-audit" verify --data "$dir/d" --json
json_ok "verify --json"
contains '"events":' "verify counts events"
# A tampered copy: ledger-audit names the seq, ledgerd refuses to serve it.
cp -r "$dir/d" "$dir/t"
flip_event_byte "$dir/t" 4
expect 1 "verify a tampered copy" -- "$bin/ledger-audit" verify --data "$dir/t"
contains "broken at seq 4" "names seq 4"
expect 3 "ledgerd refuses a broken chain as a damaged store (no restart mends it)" -- "$bin/ledgerd" serve --data "$dir/t" --listen "ipc://$dir/t/x.sock"
contains "seq 4" "ledgerd names the seq"

# A tampered projection (the chain intact): replay's byte comparison names the database.
expect 0 "replay the untouched store" -- "$bin/ledger-audit" replay --data "$dir/d"
contains "identical" "replay finds the projections identical"
expect 0 "replay in small memory" -- "$bin/ledger-audit" replay --data "$dir/d" --memory-bytes-max 1
contains "identical" "replay that writes after every event finds them identical"
tamper_projection() { # DIR DATABASE MODE: MODE value flips a bit of the first value, extra adds a row
	/usr/bin/python3 - "$@" <<'PY'
import lmdb, sys
env = lmdb.open(sys.argv[1], max_dbs=64)
db = env.open_db(sys.argv[2].encode(), create=False)
with env.begin(write=True, db=db) as txn:
    if sys.argv[3] == "value":
        key, value = next(iter(txn.cursor()))
        value = bytearray(value)
        value[-1] ^= 1
        txn.put(key, bytes(value))
    else:
        txn.put(b"zz-not-folded-from-the-log", b"")
PY
}
for tamper in "accounts value" "delegations value" "expiries extra"; do
	set -- $tamper
	rm -rf "$dir/p"
	cp -r "$dir/d" "$dir/p"
	tamper_projection "$dir/p" "$1" "$2"
	expect 0 "verify: the chain of a projection-tampered copy is intact ($1)" -- "$bin/ledger-audit" verify --data "$dir/p"
	expect 1 "replay a copy whose $1 was tampered ($2)" -- "$bin/ledger-audit" replay --data "$dir/p"
	contains "database $1 differs" "replay names $1"
	contains "DIFFERENT" "replay says the projections differ"
done

report cli_test
