#!/usr/bin/env python3
"""corrupt_store_test: byte flips in copies of a store (issue 10, defect 6).

LMDB has no page checksums, so a flipped byte in a page header or a page pointer used to crash
`ledger-audit verify` and `ledgerd` (SIGSEGV, SIGBUS, an LMDB assertion). Each flip here goes
into a copy of a small real store (accounts, a firm, delegations, a 150 KiB document on
overflow pages), at deterministic places: page headers, the first bytes of branch and leaf
entries (page numbers, sizes), the meta pages, and anywhere. For each copy:
  - ledger-audit verify must end with 0 (intact), 1 (a named bad seq) or 3 (a named refusal,
    "store damaged ..." among them): never a signal, never a hang;
  - for one copy in three, ledgerd serve must either serve (and stop cleanly on SIGTERM),
    refuse a damaged store by name with exit 3, or refuse otherwise with exit 1 and a message:
    never a signal.

Usage: corrupt_store_test.py BIN_DIR [FLIPS]
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from make_pdf import write_pdf  # noqa: E402
from store_flips import copy_with_flip, report  # noqa: E402

PAGE = 4096
ACCOUNTS = int(os.environ.get("CORRUPT_STORE_ACCOUNTS", "400"))  # enough for branch pages


def run(args, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def make_store(bin_dir, work):
    data = os.path.join(work, "d")
    run([f"{bin_dir}/ledgerd", "init", "--data", data], check=True)
    ready_r, ready_w = os.pipe()
    server = subprocess.Popen([f"{bin_dir}/ledgerd", "serve", "--data", data, "--ready-fd", str(ready_w)],
                              pass_fds=(ready_w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(ready_w)
    os.read(ready_r, 6)
    ctl = [f"{bin_dir}/ledgerctl", "--data", data]
    run(ctl + ["--platform", "account", "add", "ec@x.fr", "--name", "E C", "--ec"], check=True)
    run(ctl + ["--platform", "firm", "add", "F", "--name", "Firm", "--ec", "ec@x.fr", "--siren", "732829320"], check=True)
    for i in range(ACCOUNTS):
        run(ctl + ["--platform", "account", "add", f"user{i}@x.fr", "--name", f"User {i}"], check=True)
    run(ctl + ["--as", "ec@x.fr", "delegation", "grant", "--firm", "F", "--to",
               ",".join(f"user{i}@x.fr" for i in range(ACCOUNTS)), "--rights", "prepare,sign"])
    collection = run(ctl + ["--as", "ec@x.fr", "collection", "create", "--firm", "F", "--kind", "signature",
                            "--title", "T"], check=True).stdout.decode().strip()
    pdf = os.path.join(work, "doc.pdf")
    write_pdf(pdf, "Document", padding_kib=150, rng=random.Random(7))
    run(ctl + ["--as", "ec@x.fr", "collection", "add-document", "--firm", "F", collection, pdf], check=True)
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    return data


def flip_offset(rng, size, kind):
    pages = max(1, size // PAGE)
    if kind == "meta":
        return rng.randrange(0, min(size, 2 * PAGE))
    if kind == "header":  # pgno, pad, flags, lower/upper
        return rng.randrange(2, pages) * PAGE + rng.randrange(0, 16) if pages > 2 else rng.randrange(size)
    if kind == "pointers":  # the node offsets after the header, then the first nodes' fields
        return rng.randrange(2, pages) * PAGE + rng.randrange(16, 96) if pages > 2 else rng.randrange(size)
    return rng.randrange(size)


def main():
    bin_dir = sys.argv[1]
    flips = int(sys.argv[2]) if len(sys.argv) > 2 else 600
    work = tempfile.mkdtemp(prefix="ledger-corrupt-")
    failures = []
    outcomes = {}
    try:
        data = make_store(bin_dir, work)
        mdb = os.path.join(data, "data.mdb")
        size = os.path.getsize(mdb)
        kinds = ["header", "pointers", "meta", "anywhere"]
        for n in range(flips):
            rng = random.Random(20261204 + n)
            kind = kinds[n % len(kinds)]
            offset = flip_offset(rng, size, kind)
            copy = os.path.join(work, "copy")
            copy_with_flip(data, copy, offset, rng)
            what = f"flip {n} ({kind}, offset {offset})"
            try:
                r = run([f"{bin_dir}/ledger-audit", "verify", "--data", copy], timeout=30)
            except subprocess.TimeoutExpired:
                failures.append(f"{what}: ledger-audit verify hung")
                continue
            outcomes[f"verify {r.returncode}"] = outcomes.get(f"verify {r.returncode}", 0) + 1
            if r.returncode not in (0, 1, 3):
                failures.append(f"{what}: ledger-audit verify exit {r.returncode}: {r.stdout.decode()[-300:]}")
            if n % 3 == 0:
                ready_r, ready_w = os.pipe()
                server = subprocess.Popen([f"{bin_dir}/ledgerd", "serve", "--data", copy, "--ready-fd", str(ready_w)],
                                          pass_fds=(ready_w,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                os.close(ready_w)
                ready = os.read(ready_r, 6)
                os.close(ready_r)
                if ready:
                    server.send_signal(signal.SIGTERM)
                try:
                    rc = server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
                    failures.append(f"{what}: ledgerd hung")
                    continue
                err = server.stderr.read().decode()
                outcomes[f"ledgerd {rc}"] = outcomes.get(f"ledgerd {rc}", 0) + 1
                damaged = "store damaged" in err or "hash chain is broken" in err
                if rc < 0 or rc not in (0, 1, 3):
                    failures.append(f"{what}: ledgerd exit {rc}: {err[-300:]}")
                elif rc != 0 and damaged != (rc == 3):
                    failures.append(f"{what}: ledgerd exit {rc}, not 3 exactly when the store is damaged: {err[-300:]}")
                elif rc == 1 and "ledgerd:" not in err:
                    failures.append(f"{what}: ledgerd refused without saying why")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(f"corrupt_store: {flips} flips, outcomes {dict(sorted(outcomes.items()))}", failures)


if __name__ == "__main__":
    main()
