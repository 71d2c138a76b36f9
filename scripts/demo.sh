#!/usr/bin/env bash
# The quick start: installs what is missing, builds, initialises a data directory
# (demo-data/ by default, or $1), starts ledgerd on it, and walks a first scenario with
# ledgerctl: accounts, a firm, delegations granted, checked, revoked, then the log verified
# offline. ledgerd is left running for you to try more; the last lines say how to stop it.
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
rm -rf "$data"
step() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "${*@Q}"; "$@" || printf '(exit %d)\n' "$?"; }

step "Create the data directory: LMDB store and keys"
run "$bin/ledgerd" init --data "$data"

step "Start the daemon on it (log: $data/ledgerd.log)"
"$bin/ledgerd" serve --data "$data" >"$data/ledgerd.log" 2>&1 &
pid=$!
for _ in $(seq 50); do [ -S "$data/ledgerd.sock" ] && break; sleep 0.1; done
echo "ledgerd running, pid $pid, on ipc://$data/ledgerd.sock"

ctl() { run "$bin/ledgerctl" --data "$data" "$@"; }
step "The platform registers accounts (Comptexpert sync) and a firm with its EC"
ctl --platform account add philippe.durant@cabinet-jlm.fr --name "Philippe Durant" --ec
ctl --platform account add salima@cabinet-jlm.fr --name "Salima Benali"
ctl --platform account add marc@cabinet-jlm.fr --name "Marc Petit"
ctl --platform firm add JLM-PA --name "JLM - Pont-Audemer" --ec philippe.durant@cabinet-jlm.fr

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

step "An auditor verifies the log offline (read-only) and rebuilds the projections"
run "$bin/ledger-audit" verify --data "$data"
run "$bin/ledger-audit" replay --data "$data"

step "ledgerd is still running (pid $pid). Try for yourself, then stop it:"
echo "  $bin/ledgerctl --data $data --as salima@cabinet-jlm.fr delegation received"
echo "  kill $pid"
