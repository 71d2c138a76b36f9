# lib.sh: what the shell tests share. Source it after setting `dir` (a temporary directory the
# test owns): it installs the cleanup trap, which stops the ledgerd whose pid is in `pid` and
# removes `dir`, and keeps the counts the test reports with `report NAME` at the end. `py` is
# the Python the tests run (/usr/bin/python3, with the distribution's modules).
#
#   expect CODE DESCRIPTION -- COMMAND...   runs COMMAND; its exit status must be CODE
#   contains TEXT DESCRIPTION               the last output contains TEXT
#   json_ok DESCRIPTION                     the last output is JSON
#   equals EXPR VALUE DESCRIPTION           Python EXPR over the last output's JSON (as j) is VALUE
#   check DESCRIPTION GOT WANT              GOT is WANT
#   fail MESSAGE                            counts a failure and prints it
#   report NAME                             prints the counts; exit status 0 if none failed
#   need_python3 MODULES PACKAGES           exits with a failure unless /usr/bin/python3 imports
#                                           MODULES (comma-separated; PACKAGES: what to install)
#   start_ledgerd DATA [ARGS...]            serves DATA in the background ($pid; stderr in
#                                           $dir/log) and waits until it is ready, or exits failed;
#                                           ledgerd_program=ledgerd-test-clock for --clock-file
#   stop_ledgerd                            SIGTERM to $pid; ledgerd must exit 0
#   head_seq [DATA]                         the log's head seq (DATA: $d by default), from ledgerctl head
#   flip_event_byte DATA SEQ                flips the last byte of event SEQ's stored record
#   keys_state DATA                         a SHA-256 of every file under DATA/keys (and its
#                                           directories), one a line: equal before and after
#                                           means nothing there changed

failures=0
checks=0
out=
pid=
py=/usr/bin/python3
cleanup() {
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

fail() {
	failures=$((failures + 1))
	echo "FAIL: $*"
}

expect() {
	local want=$1 what=$2
	shift 3
	checks=$((checks + 1))
	out=$("$@" 2>&1)
	local got=$?
	if [ "$got" != "$want" ]; then
		fail "$what: exit $got, expected $want: $*"
		echo "$out" | sed 's/^/    /' | head -5
	fi
}

contains() {
	checks=$((checks + 1))
	case "$out" in *"$1"*) ;; *) fail "$2: no \"$1\" in: $(echo "$out" | head -5)" ;; esac
}

json_ok() {
	checks=$((checks + 1))
	printf '%s' "$out" | "$py" -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null ||
		fail "$1: not JSON: $(echo "$out" | head -5)"
}

# field EXPR: a Python expression over the last output's JSON (as j); "" if it cannot.
field() {
	printf '%s' "$out" | "$py" -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" 2>/dev/null
}

check() {
	checks=$((checks + 1))
	[ "$2" = "$3" ] || fail "$1: got \"$2\", expected \"$3\""
}

equals() {
	checks=$((checks + 1))
	local got
	got=$(field "$1")
	[ "$got" = "$2" ] || fail "$3: $1 is \"$got\", expected \"$2\""
}

report() {
	echo "$1: $checks checks, $failures failed"
	[ "$failures" = 0 ]
}

need_python3() {
	if ! "$py" -c "import $1" 2>"$dir/python3.err"; then
		echo "FAIL: $py with $1 is required ($2):"
		cat "$dir/python3.err"
		exit 1
	fi
}

start_ledgerd() {
	local data=$1
	shift
	rm -f "$dir/ready"
	"$bin/${ledgerd_program:-ledgerd}" serve --data "$data" --ready-fd 3 3>"$dir/ready" "$@" 2>"$dir/log" &
	pid=$!
	for _ in $(seq 600); do grep -q ready "$dir/ready" 2>/dev/null && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	grep -q ready "$dir/ready" || { echo "FAIL: ledgerd did not get ready"; cat "$dir/log"; exit 1; }
}

head_seq() {
	"$bin/ledgerctl" --data "${1:-$d}" --platform head | sed -n 's/^head seq \([0-9]*\) .*/\1/p'
}

# SoftHSM2 rewrites the token's token.object at each login, and only the generation counter in
# its first 8 bytes changes: the rest of it (the token's label, flags, PINs) is compared.
keys_state() {
	(cd "$1/keys" && find . -print0 | sort -z | while IFS= read -r -d '' f; do
		[ -d "$f" ] && { printf 'directory  %s\n' "$f"; continue; }
		case $f in
		*/token.object) printf '%s  %s (after its generation)\n' "$(tail -c +9 "$f" | sha256sum | cut -c1-64)" "$f" ;;
		*) sha256sum "$f" ;;
		esac
	done)
}

stop_ledgerd() {
	kill -TERM "$pid"
	wait "$pid"
	local status=$?
	pid=
	checks=$((checks + 1))
	[ "$status" = 0 ] || fail "ledgerd did not exit 0 on SIGTERM (exit $status)"
}

flip_event_byte() {
	"$py" - "$1" "$2" <<'PY'
import lmdb, sys
env = lmdb.open(sys.argv[1], max_dbs=64)
events = env.open_db(b"events")
with env.begin(write=True, db=events) as txn:
    key = int(sys.argv[2]).to_bytes(8, "big")
    value = bytearray(txn.get(key))
    value[-1] ^= 1
    txn.put(key, bytes(value))
PY
}
