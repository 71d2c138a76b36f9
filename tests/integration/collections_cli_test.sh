#!/usr/bin/env bash
# collections_cli_test: ledgerctl's collection, document, credits, preferences, stats,
# dashboard, contacts and alerts commands as a script uses them (docs/cli.md): usage errors
# exit 2 before anything is sent and name the bad argument, --help on every subcommand names
# its options, and one signature collection's whole flow against a real ledgerd: a preparer
# prepares, asks approval, the EC approves (sent, credits reserved), the document comes back
# byte for byte; a non-PDF, a stale --expected-version and a preparer's send are refused.
set -uo pipefail
bin=${1:?usage: collections_cli_test.sh BIN_DIR}
dir=$(mktemp -d /tmp/ledger-collections-cli-XXXXXX)
. "$(dirname "$0")/../support/lib.sh" # expect, contains, json_ok, equals, fail, report, cleanup

# ----- usage: every new subcommand's --help names its options -----
while IFS='|' read -r sub options; do
	# shellcheck disable=SC2086
	expect 0 "ledgerctl $sub --help" -- "$bin/ledgerctl" $sub --help
	contains "ledgerctl $sub" "help of $sub shows its usage"
	contains "example:" "help of $sub has an example"
	for o in $options; do contains "$o" "help of $sub names $o"; done
done <<'EOF'
collection create|--firm --kind --title --deadline --order --expiry-days --reminder-days
collection show|--firm
collection list|--firm --state --all
collection add-document|--firm --name --expected-version
collection remove-document|--firm --expected-version SHA256
collection add-signer|--firm --email --name --external --phone --expected-version
collection remove-signer|--firm --email --expected-version
collection set-order|--firm --sequential --parallel --signers --expected-version
collection modify|--firm --title --deadline --no-deadline --expiry-days --reminder-days --expected-version
collection set-field|--firm --signer --document --page --rect --expected-version
collection request-approval|--firm --comment --expected-version
collection approve|--firm --comment --expected-version
collection reject|--firm --comment --expected-version
collection send|--firm --comment --expected-version
collection remind|--firm --comment --expected-version
collection cancel|--firm --comment --expected-version
collection retry|--firm --document --expected-version signature.cancel
collection classify|--firm --folder --expected-version
collection sign|--firm --documents --consent-version --comment --expected-version
collection seal|--firm --comment --expected-version
collection report|--firm --signer --action --method --provider-ref --comment --expected-version
document get|--firm --output SHA256
credits add|--firm --credits --reference
credits show|--firm --history
preferences set|--firm --expiry-days --reminder-days --no-reminders --order --credits-low --sender-name
preferences show|--firm
stats|--firm --from --to
dashboard|--firm
contacts export|--firm --output
alerts subscribe|--firm --kind --days --credits
alerts unsubscribe|--firm --kind
alerts list|--firm
EOF
expect 0 "collection --help lists the group" -- "$bin/ledgerctl" collection --help
contains "collection set-field" "the group's list names its commands"
expect 2 "collection without a subcommand" -- "$bin/ledgerctl" collection
expect 2 "an unknown collection subcommand" -- "$bin/ledgerctl" collection frobnicate

expect 0 "init" -- "$bin/ledgerd" init --data "$dir/d"
# Usage errors need credentials to be the only fault: the platform token of the data dir.
u() { "$bin/ledgerctl" --data "$dir/d" --platform "$@"; }
sha_ok=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
expect 2 "a short sha256" -- u collection remove-document --firm F c1 0123abcd
contains "SHA256" "the bad argument is named"
expect 2 "a sha256 with a non-hex digit" -- u document get --firm F "${sha_ok%?}g"
contains "64 hexadecimal digits" "what a SHA-256 is"
expect 2 "a 65-digit sha256" -- u document get --firm F "${sha_ok}0"
expect 2 "set-field with a bad --document" -- u collection set-field --firm F c1 --signer a@b.fr --document xyz --page 1 --rect 1,2,3,4
contains "--document" "set-field names --document"
expect 2 "retry with a bad --document" -- u collection retry --firm F c1 --document 0123abcd
contains "--document" "retry names --document"
expect 2 "retry keeps no comment" -- u collection retry --firm F c1 --comment "why"
expect 2 "an unknown collection kind" -- u collection create --firm F --kind stamp --title T
contains "stamp" "the bad kind is named"
contains "signature, seal" "the kinds are listed"
expect 2 "an unknown alert kind" -- u alerts subscribe --firm F --kind weather
contains "credits-low" "alert kinds are listed with dashes"
expect 2 "an unknown state" -- u collection list --firm F --state finished
contains "pending-approval" "states are listed with dashes"
expect 1 "--state pending_approval parses (no server yet: 1, not 2)" -- u --timeout 500 collection list --firm F --state pending_approval
expect 2 "create without --firm" -- u collection create --kind signature --title T
contains "--firm" "missing --firm is named"
expect 2 "show without --firm" -- u collection show c1
contains "--firm" "missing --firm is named"
expect 2 "credits show without --firm" -- u credits show
expect 2 "stats without --firm" -- u stats
expect 2 "dashboard without --firm" -- u dashboard
expect 2 "document get without --firm" -- u document get "$sha_ok"
expect 2 "create without --title" -- u collection create --firm F --kind seal
expect 2 "a bad --deadline" -- u collection create --firm F --kind seal --title T --deadline 2026-13-01
contains "--deadline" "the bad date is named"
expect 2 "a bad --order" -- u collection create --firm F --kind seal --title T --order random
expect 2 "a bad --expected-version" -- u collection send --firm F c1 --expected-version x1
contains "--expected-version" "the bad version is named"
expect 2 "--expected-version 0" -- u collection send --firm F c1 --expected-version 0
expect 2 "--rect with three numbers" -- u collection set-field --firm F c1 --signer a@b.fr --document "$sha_ok" --page 1 --rect 1,2,3
contains "--rect" "the bad rectangle is named"
expect 2 "--page 0" -- u collection set-field --firm F c1 --signer a@b.fr --document "$sha_ok" --page 0 --rect 1,2,3,4
expect 2 "set-order with both orders" -- u collection set-order --firm F c1 --sequential --parallel
expect 2 "set-order with neither" -- u collection set-order --firm F c1
expect 2 "modify with nothing to change" -- u collection modify --firm F c1
expect 2 "--deadline and --no-deadline" -- u collection modify --firm F c1 --deadline 2026-12-31 --no-deadline
expect 2 "--phone without --external" -- u collection add-signer --firm F c1 --email a@b.fr --phone +33612345678
expect 2 "--external without --phone" -- u collection add-signer --firm F c1 --email a@b.fr --external
expect 2 "report --action signed (that is collection sign)" -- u collection report --firm F c1 --signer a@b.fr --action signed
expect 2 "report --method fax" -- u collection report --firm F c1 --signer a@b.fr --action authenticated --method fax
expect 2 "an option the command does not take" -- u collection show --firm F c1 --title T
contains "does not take --title" "the stray option is named"
expect 2 "an extra argument" -- u collection show --firm F c1 c2
expect 2 "add-document without a file" -- u collection add-document --firm F c1
expect 2 "stats --from 2026-1" -- u stats --firm F --from 2026-1
expect 2 "stats --from after --to" -- u stats --firm F --from 2026-05 --to 2026-01
expect 2 "credits add --credits 0" -- u credits add --firm F --credits 0
expect 2 "preferences set with nothing" -- u preferences set --firm F
expect 2 "--reminder-days with --no-reminders" -- u preferences set --firm F --reminder-days 3 --no-reminders
expect 2 "alerts subscribe collection-expiring without --days" -- u alerts subscribe --firm F --kind collection-expiring
expect 2 "alerts subscribe --days 366" -- u alerts subscribe --firm F --kind delegation-expiring --days 366
expect 2 "--credits with collection-finished" -- u alerts subscribe --firm F --kind collection-finished --credits 5

# ----- a real ledgerd -----
date -u +%Y-%m-%dT%H:%M:%SZ >"$dir/clock"
"$bin/ledgerd-test-clock" serve --data "$dir/d" --clock-file "$dir/clock" 2>"$dir/log" &
pid=$!
for _ in $(seq 600); do [ -S "$dir/d/ledgerd.sock" ] && grep -q serving "$dir/log" && break; sleep 0.05; done
ctl() { "$bin/ledgerctl" --data "$dir/d" "$@"; }

# A one-page PDF with a correct cross-reference table, then (when qpdf is there) rewritten by
# qpdf, so the server's PDF checks see an ordinary file.
/usr/bin/python3 "$(dirname "$0")/../support/make_pdf.py" "$dir/hand.pdf" --text "Lettre de mission 2026"
if command -v qpdf >/dev/null && qpdf "$dir/hand.pdf" "$dir/lettre.pdf" 2>/dev/null; then :; else cp "$dir/hand.pdf" "$dir/lettre.pdf"; fi
printf 'not a PDF, only text\n' >"$dir/notes.pdf"
pdf_sha=$(sha256sum "$dir/lettre.pdf" | cut -d' ' -f1)

expect 0 "EC account" -- ctl --platform account add ec@x.fr --name "Eve Comptable" --ec
expect 0 "preparer account" -- ctl --platform account add prep@x.fr --name "Paul Preparer"
expect 0 "launcher account" -- ctl --platform account add launch@x.fr --name "Lea Launcher"
expect 0 "firm" -- ctl --platform firm add F --name "Cabinet F" --ec ec@x.fr --siren 732829320
expect 0 "grant prepare" -- ctl --as ec@x.fr delegation grant --firm F --to prep@x.fr --rights prepare
expect 0 "grant launch" -- ctl --as ec@x.fr delegation grant --firm F --to launch@x.fr --rights launch

expect 0 "EC adds credits" -- ctl --as ec@x.fr --json credits add --firm F --credits 10 --reference FA-1
json_ok "credits add --json"
contains '"ok":true' "credits added"
expect 1 "a preparer may not add credits" -- ctl --as prep@x.fr credits add --firm F --credits 10
contains "PERMISSION_DENIED" "credits add is EC only"
expect 0 "credits show" -- ctl --as ec@x.fr --json credits show --firm F
json_ok "credits show --json"
equals 'j["available"]' 10 "10 credits available"

expect 0 "preparer creates a collection" -- ctl --as prep@x.fr collection create --firm F --kind signature \
	--title "Lettre de mission 2026" --order sequential --deadline 2099-12-31
id=$out
checks=$((checks + 1))
case "$id" in "" | *" "* | *$'\n'*) failures=$((failures + 1)); echo "FAIL: create prints only the id: \"$id\""; id=no-collection ;; esac
expect 0 "create --json" -- ctl --as prep@x.fr --json collection create --firm F --kind seal --title "Statuts"
json_ok "create --json"
equals 'j["collection"]["kind"]' seal "JSON spells the kind in lower case"
equals 'j["collection"]["state"]' draft "a new collection is a draft"
expect 0 "add a PDF" -- ctl --as prep@x.fr collection add-document --firm F "$id" "$dir/lettre.pdf" --name "Lettre.pdf"
checks=$((checks + 1))
[ "$out" = "$pdf_sha" ] || { failures=$((failures + 1)); echo "FAIL: add-document prints the sha256: \"$out\" vs $pdf_sha"; }
expect 1 "a non-PDF upload" -- ctl --as prep@x.fr collection add-document --firm F "$id" "$dir/notes.pdf"
contains "INVALID_DOCUMENT" "a non-PDF is INVALID_DOCUMENT"
expect 1 "a non-PDF upload, --json" -- ctl --as prep@x.fr --json collection add-document --firm F "$id" "$dir/notes.pdf"
json_ok "INVALID_DOCUMENT --json"
equals 'j["error"]["code"]' INVALID_DOCUMENT "the JSON error code"
equals 'j["error"]["reason"]' not_pdf "the JSON error reason"
expect 0 "add an external signer" -- ctl --as prep@x.fr collection add-signer --firm F "$id" \
	--email client@example.fr --name "Claire Client" --external --phone +33612345678
expect 0 "place the signature" -- ctl --as prep@x.fr collection set-field --firm F "$id" \
	--signer client@example.fr --document "$pdf_sha" --page 1 --rect 72,72,272,142

expect 0 "show --json" -- ctl --as prep@x.fr --json collection show --firm F "$id"
json_ok "show --json"
equals 'j["collection"]["state"]' draft "still a draft"
equals 'j["collection"]["order"]' sequential "JSON spells the order in lower case"
equals 'j["collection"]["documents"][0]["sha256"]' "$pdf_sha" "the document's sha256"
equals 'j["collection"]["documents"][0]["filename"]' Lettre.pdf "--name names the document"
equals 'j["collection"]["signers"][0]["email"]' client@example.fr "the signer"
equals 'j["collection"]["signers"][0]["kind"]' external "the signer's kind"
equals 'j["collection"]["signers"][0]["name"]' "Claire Client" "the signer's name, opened from the sealed store"
equals 'len(j["collection"]["signers"][0]["signer_id"]) == 28 and j["collection"]["signers"][0]["signer_id"].startswith("s-")' True \
	"an external signer's id (s- and 26 base32 characters)"
equals 'j["collection"]["documents"][0]["fields"][0]["signer"]' client@example.fr "the field shows the signer's email"
sid=$(field 'j["collection"]["signers"][0]["signer_id"]')
equals '[float(x) for x in j["collection"]["documents"][0]["fields"][0]["rect"]]' "[72.0, 72.0, 272.0, 142.0]" "the field's rectangle"
version=$(field 'j["collection"]["version"]')
expect 0 "show, human" -- ctl --as prep@x.fr collection show --firm F "$id"
contains "$pdf_sha" "show prints the sha256"
contains "client@example.fr" "show prints the signer"
contains "$sid" "show prints the signer id"
# The log holds neither the external signer's email nor their name (docs/personal-data.md): the
# export of the collections' history names them by id (collections_test reads the raw events).
expect 0 "the history export" -- "$bin/ledger-audit" export --data "$dir/d" -o "$dir/history.csv"
checks=$((checks + 1))
! grep -q "client@example.fr\|Claire Client" "$dir/history.csv" || fail "the history export shows the external signer"
checks=$((checks + 1))
grep -q -- "$sid" "$dir/history.csv" || fail "the history export names the signer by id"

expect 1 "a stale --expected-version" -- ctl --as prep@x.fr collection modify --firm F "$id" --title "Autre" \
	--expected-version $((${version:-2} - 1))
contains "CONFLICT" "a stale version is CONFLICT"
expect 1 "a preparer may not send" -- ctl --as prep@x.fr collection send --firm F "$id"
contains "PERMISSION_DENIED" "send needs sign or launch"
expect 0 "request approval at the current version" -- ctl --as prep@x.fr --json collection request-approval \
	--firm F "$id" --expected-version "${version:-1}" --comment "à valider"
json_ok "request-approval --json"
equals 'j["collection"]["state"]' pending_approval "pending approval (JSON: underscores)"
expect 0 "the EC approves" -- ctl --as ec@x.fr collection approve --firm F "$id" --comment "ok"
expect 0 "show after approval" -- ctl --as ec@x.fr --json collection show --firm F "$id"
equals 'j["collection"]["state"]' sent "approved, then sent"
reserved=$(field 'j["collection"]["credits_reserved"]')
checks=$((checks + 1))
[ "${reserved:-0}" -ge 1 ] 2>/dev/null || { failures=$((failures + 1)); echo "FAIL: a sent collection reserves credits: \"$reserved\""; }
equals 'j["collection"]["expires_at"][-1:]' Z "expiry in ISO-8601 UTC"
expect 0 "credits show after sending" -- ctl --as ec@x.fr --json credits show --firm F
equals 'j["reserved"]' "${reserved:-?}" "the firm's reservation is the collection's"
equals 'j["available"]' "$((10 - ${reserved:-0}))" "reserved credits are not available"
expect 0 "credits show, human" -- ctl --as ec@x.fr credits show --firm F
contains "reserved" "the human view names reservations"
# Nothing has failed in a sent collection: retrying is refused, with the reason, in JSON too.
expect 1 "a preparer may not retry" -- ctl --as prep@x.fr collection retry --firm F "$id"
contains "PERMISSION_DENIED" "retry needs sign or launch"
expect 1 "retry a sent collection, --json" -- ctl --as ec@x.fr --json collection retry --firm F "$id" --document "$pdf_sha"
json_ok "retry refused --json"
equals 'j["error"]["code"]' INVALID_TRANSITION "nothing to retry before the collection is in progress"
equals 'j["error"]["reason"]' sent "the reason is the current state"

expect 0 "document get -o" -- ctl --as prep@x.fr document get --firm F "$pdf_sha" -o "$dir/back.pdf"
checks=$((checks + 1))
cmp -s "$dir/lettre.pdf" "$dir/back.pdf" || { failures=$((failures + 1)); echo "FAIL: document get -o: bytes differ"; }
checks=$((checks + 1))
if ctl --as prep@x.fr document get --firm F "$pdf_sha" >"$dir/back2.pdf" 2>"$dir/err"; then
	cmp -s "$dir/lettre.pdf" "$dir/back2.pdf" || { failures=$((failures + 1)); echo "FAIL: document get > file: bytes differ"; }
else
	failures=$((failures + 1)); echo "FAIL: document get to a pipe: $(cat "$dir/err")"
fi
if command -v script >/dev/null; then
	expect 2 "document get refuses a terminal" -- script -qec "$bin/ledgerctl --data $dir/d --as prep@x.fr document get --firm F $pdf_sha" /dev/null
	contains "terminal" "says why"
fi
expect 1 "an unknown document" -- ctl --as prep@x.fr document get --firm F "$sha_ok" -o "$dir/none.pdf"
contains "NOT_FOUND" "an unknown document is NOT_FOUND"

expect 0 "list --json" -- ctl --as prep@x.fr --json collection list --firm F
json_ok "list --json"
contains "\"collection_id\":\"$id\"" "the list holds the collection"
expect 0 "list --state sent" -- ctl --as prep@x.fr collection list --firm F --state sent
contains "$id" "the sent collection is listed"
expect 0 "dashboard --json" -- ctl --as prep@x.fr --json dashboard --firm F
json_ok "dashboard --json"
expect 0 "EC's stats" -- ctl --as ec@x.fr stats --firm F
contains "by collaborator" "stats shows the three tables"
expect 1 "a preparer's stats" -- ctl --as prep@x.fr stats --firm F
contains "PERMISSION_DENIED" "stats are EC only"
expect 0 "preferences set" -- ctl --as ec@x.fr preferences set --firm F --expiry-days 30 --order parallel
expect 0 "preferences show --json" -- ctl --as ec@x.fr --json preferences show --firm F
equals 'j["preferences"]["collection_expiry_days"]' 30 "the new expiry"
equals 'j["preferences"]["default_order"]' parallel "the new default order"
expect 0 "contacts export" -- ctl --as prep@x.fr contacts export --firm F -o "$dir/contacts.csv"
checks=$((checks + 1))
grep -q "client@example.fr" "$dir/contacts.csv" 2>/dev/null || { failures=$((failures + 1)); echo "FAIL: the contacts base holds the signer"; }
expect 0 "alerts subscribe" -- ctl --as prep@x.fr alerts subscribe --firm F --kind collection-expiring --days 3
expect 0 "alerts list --json" -- ctl --as prep@x.fr --json alerts list --firm F
equals 'j["subscriptions"][0]["kind"]' collection_expiring "JSON spells alert kinds with underscores"
expect 0 "alerts unsubscribe" -- ctl --as prep@x.fr alerts unsubscribe --firm F --kind collection-expiring
expect 0 "retry with the same request id" -- ctl --as launch@x.fr --request-id rem-1 collection remind --firm F "$id"
expect 0 "the retry is replayed" -- ctl --as launch@x.fr --request-id rem-1 --json collection remind --firm F "$id"
equals 'j["replayed"]' True "replayed flag"

stop_ledgerd
expect 0 "the chain verifies" -- "$bin/ledger-audit" verify --data "$dir/d"

report collections_cli_test
