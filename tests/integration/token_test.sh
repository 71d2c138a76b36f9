#!/usr/bin/env bash
# token_test: the PKCS #11 token of the signer's keys as an operator meets it
# (docs/signer.md#token, docs/operations.md#hsm). ledgerd init sets up the embedded SoftHSM2
# token with the modes documented; serve generates the CA's, the TSA's and the OCSP
# responder's keys in it, so that no private key of the signer is ever a file, and finds them
# there at the next start; a wrong PIN or a PIN file others may read stops serve with a message
# that says so. Serving ledgerd holds neither the module nor the PIN: its signer process does,
# and does not outlive it. The HSM options name another token (here another directory's embedded token,
# reached through SOFTHSM2_CONF and a PIN variable): they go together, with init only, the PIN
# never on the command line, and a PIN that does not open the token writes no configuration.
set -uo pipefail
bin=${1:?usage: token_test.sh BIN_DIR}
dir=$(mktemp -d /tmp/ledger-token-XXXXXX)
pid=
. "$(dirname "$0")/../support/lib.sh" # expect, contains, fail, report, cleanup

module=/usr/lib/softhsm/libsofthsm2.so

# serve_once DIR: ledgerd serves DIR until it says it serves (or gives up), then stops; the exit
# status is serve's, its messages are printed (expect keeps them in $out). The log is emptied
# here, before the fork: the background child's own `>` truncates it only once the child is
# scheduled, and until then the log holds the previous serve's "serving". A poll reading that
# stale line sent SIGTERM to a child not yet ledgerd (or before ledgerd blocks signals): exit
# 143, with the old log, which said "serving", printed as this serve's output.
serve_once() {
	: >"$dir/log"
	"$bin/ledgerd" serve --data "$1" >"$dir/log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		grep -q "serving" "$dir/log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	local status=$?
	pid=
	cat "$dir/log"
	return "$status"
}

# mode_is FILE MODE DESCRIPTION
mode_is() {
	checks=$((checks + 1))
	local got
	got=$(stat -c %a "$1" 2>/dev/null)
	[ "$got" = "$2" ] || fail "$3: mode ${got:-absent}, expected $2"
}

# no_private_key_file KEYS DESCRIPTION: no PEM private key anywhere under KEYS
no_private_key_file() {
	checks=$((checks + 1))
	local found
	found=$(grep -rl "PRIVATE KEY" "$1" 2>/dev/null)
	[ -z "$found" ] || fail "$2: $found"
}

d=$dir/d
expect 0 "init" -- "$bin/ledgerd" init --data "$d"
mode_is "$d/keys/pkcs11.conf" 644 "pkcs11.conf"
mode_is "$d/keys/softhsm2.conf" 600 "softhsm2.conf"
mode_is "$d/keys/token.pin" 600 "token.pin"
mode_is "$d/keys/tokens" 700 "tokens/"
out=$(cat "$d/keys/pkcs11.conf")
contains "module = $module" "pkcs11.conf names SoftHSM2"
contains "pin-file = token.pin" "pkcs11.conf names the PIN file"

expect 0 "the first serve" -- serve_once "$d"
contains "stopped cleanly" "the first serve stops cleanly"
mode_is "$d/keys/signer-ca.pem" 644 "the CA certificate"
mode_is "$d/keys/signer-tsa.pem" 644 "the tsa certificate"
for ca in persons seals tsa; do
	mode_is "$d/keys/signer-ca-$ca.pem" 644 "the $ca CA's certificate"
	mode_is "$d/keys/signer-ocsp-$ca.pem" 644 "the responder's certificate from the $ca CA"
done
for key in signer-ca.key signer-tsa.key signer-ocsp.key signer-ca-persons.key signer-ca-seals.key signer-ca-tsa.key; do
	checks=$((checks + 1))
	[ ! -e "$d/keys/$key" ] || fail "$key was written: the key belongs in the token"
done
no_private_key_file "$d/keys" "a PEM private key in keys/"
ca=$(sha256sum "$d/keys/signer-ca.pem")
expect 0 "serve again" -- serve_once "$d"
checks=$((checks + 1))
[ "$(sha256sum "$d/keys/signer-ca.pem")" = "$ca" ] || fail "the CA was made again"

# The signer process (docs/signer.md#the-signer-process): serving ledgerd never loads the PKCS #11
# module, its child ledger-signer does; ledger-signer survives a malformed request (signer_process_test
# sends those), is reaped when killed (no zombie, without any request), and stops with ledgerd.
: >"$dir/log"
"$bin/ledgerd" serve --data "$d" >"$dir/log" 2>&1 &
pid=$!
for _ in $(seq 200); do
	grep -q "serving" "$dir/log" && break
	sleep 0.05
done
signer_of() { # the ledger-signer child of ledgerd $1
	local p
	for p in $(pgrep -P "$1"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = ledger-signer ] && echo "$p"
	done
}
signer=$(signer_of "$pid")
checks=$((checks + 1))
[ -n "$signer" ] || fail "no ledger-signer child of ledgerd"
checks=$((checks + 1))
grep -q "signer process $signer holds the token" "$dir/log" || fail "serve does not name its signer process $signer"
checks=$((checks + 1))
grep -q libsofthsm2.so "/proc/$pid/maps" && fail "ledgerd's own memory maps the PKCS #11 module"
checks=$((checks + 1))
grep -q libsofthsm2.so "/proc/$signer/maps" 2>/dev/null || fail "the signer process does not map the PKCS #11 module"
checks=$((checks + 1))
tr '\0' '\n' <"/proc/$signer/cmdline" | grep -qx -- --keys || fail "ledger-signer's command line: $(tr '\0' ' ' <"/proc/$signer/cmdline")"
# Killed, and no request comes: ledgerd waits for it within a few seconds all the same (its
# expiry thread, every second), leaving no zombie, and says so.
kill -KILL "$signer"
state_of() { cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null; }
for _ in $(seq 100); do
	[ -d "/proc/$signer" ] || break # reaped: gone (dying, then a zombie, until ledgerd waits for it)
	sleep 0.05
done
checks=$((checks + 1))
[ "$(state_of "$signer")" != Z ] || fail "the killed signer process $signer is left a zombie of ledgerd"
checks=$((checks + 1))
grep -q "the signer process (pid $signer) was killed by signal 9; reaped" "$dir/log" ||
	fail "ledgerd does not say it reaped its signer process $signer: $(cat "$dir/log")"
checks=$((checks + 1))
kill -0 "$pid" 2>/dev/null || fail "ledgerd died with its signer process"
kill -TERM "$pid"
wait "$pid"
status=$?
pid=
checks=$((checks + 1))
[ "$status" = 0 ] || fail "ledgerd stopped with status $status after its signer process was killed"
for _ in $(seq 100); do
	[ -z "$(pgrep -f "ledger-signer --keys $d/keys")" ] && break
	sleep 0.05
done
checks=$((checks + 1))
[ -z "$(pgrep -f "ledger-signer --keys $d/keys")" ] || fail "a ledger-signer outlived ledgerd"

# The PIN file: wrong, then open to the group.
cp -p "$d/keys/token.pin" "$dir/pin.saved"
printf 'not-the-pin\n' >"$d/keys/token.pin"
expect 1 "a wrong PIN" -- serve_once "$d"
contains "is the PIN right?" "the message says the PIN was refused"
cp -p "$dir/pin.saved" "$d/keys/token.pin"
chmod 640 "$d/keys/token.pin"
expect 1 "a PIN file the group may read" -- serve_once "$d"
contains "only its owner may read" "the message names the PIN file's mode"
chmod 600 "$d/keys/token.pin"
expect 0 "the PIN file restored" -- serve_once "$d"

# The HSM options, checked before anything is written.
hsm=(--pkcs11-module "$module" --pkcs11-token ledgerd)
expect 2 "a module alone" -- "$bin/ledgerd" init --data "$dir/e0" --pkcs11-module "$module"
contains "--pkcs11-token" "the usage error names what is missing"
expect 2 "two PIN sources" -- "$bin/ledgerd" init --data "$dir/e0" "${hsm[@]}" --pkcs11-pin-env A --pkcs11-pin-file /p
expect 2 "a relative PIN file" -- "$bin/ledgerd" init --data "$dir/e0" "${hsm[@]}" --pkcs11-pin-file pin
expect 2 "a relative module" -- "$bin/ledgerd" init --data "$dir/e0" --pkcs11-module libsofthsm2.so \
	--pkcs11-token ledgerd --pkcs11-pin-env A
expect 2 "serve takes no HSM option" -- "$bin/ledgerd" serve --data "$d" --pkcs11-token ledgerd
checks=$((checks + 1))
[ ! -e "$dir/e0" ] || fail "a usage error created the data directory"

# Another directory's embedded token, never served, stands for an HSM initialised beforehand.
expect 0 "init the HSM's stand-in" -- "$bin/ledgerd" init --data "$dir/h"
export SOFTHSM2_CONF=$dir/h/keys/softhsm2.conf
export LEDGERD_TEST_HSM_PIN=wrong-pin
expect 1 "init with a PIN the token refuses" -- "$bin/ledgerd" init --data "$dir/e1" "${hsm[@]}" \
	--pkcs11-pin-env LEDGERD_TEST_HSM_PIN
contains "is the PIN right?" "the refused PIN is reported"
checks=$((checks + 1))
[ ! -e "$dir/e1/keys/pkcs11.conf" ] || fail "a refused PIN left a pkcs11.conf"
LEDGERD_TEST_HSM_PIN=$(cat "$dir/h/keys/token.pin")
expect 0 "init naming the token, the PIN in a variable" -- "$bin/ledgerd" init --data "$dir/e2" "${hsm[@]}" \
	--pkcs11-pin-env LEDGERD_TEST_HSM_PIN
out=$(cat "$dir/e2/keys/pkcs11.conf" 2>&1)
contains "pin-env = LEDGERD_TEST_HSM_PIN" "pkcs11.conf names the variable"
checks=$((checks + 1))
case "$out" in *"$LEDGERD_TEST_HSM_PIN"* | *softhsm2-conf*) fail "pkcs11.conf holds the PIN or an embedded token" ;; esac
checks=$((checks + 1))
[ ! -e "$dir/e2/keys/token.pin" ] && [ ! -e "$dir/e2/keys/tokens" ] || fail "an embedded token was made too"
expect 0 "serve on the named token" -- serve_once "$dir/e2"
mode_is "$dir/e2/keys/signer-ca.pem" 644 "the CA certificate of the named token's directory"
no_private_key_file "$dir/e2/keys" "a PEM private key in the named token's keys/"
unset LEDGERD_TEST_HSM_PIN
expect 1 "serve without the PIN variable" -- serve_once "$dir/e2"
contains "LEDGERD_TEST_HSM_PIN holds no PIN" "the message names the variable"

report token
