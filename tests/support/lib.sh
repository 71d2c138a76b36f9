# lib.sh: what the shell tests share. Source it after setting `dir` (a temporary directory the
# test owns) and `pid` (empty): it installs the cleanup trap, and keeps the counts the test
# reports with `report NAME` at the end.
#
#   expect CODE DESCRIPTION -- COMMAND...   runs COMMAND; its exit status must be CODE
#   contains TEXT DESCRIPTION               the last output contains TEXT
#   json_ok DESCRIPTION                     the last output is JSON
#   equals EXPR VALUE DESCRIPTION           Python EXPR over the last output's JSON (as j) is VALUE
#   fail MESSAGE                            counts a failure and prints it
#   report NAME                             prints the counts; exit status 0 if none failed

failures=0
checks=0
out=
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
	printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null ||
		fail "$1: not JSON: $(echo "$out" | head -5)"
}

# field EXPR: a Python expression over the last output's JSON (as j); "" if it cannot.
field() {
	printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" 2>/dev/null
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
