#!/usr/bin/env python3
"""fault_test: the disk fills at random points of a write load, then bytes flip in copies of the
store (issue 10, "keep the class out"). Deterministic seeds; about a minute on 2 CPUs.

Each round, with its own seed:
  - ledgerd serves a store on a small tmpfs (2 to 4 MiB, in a private mount namespace), and
    three clients run a mixed write load (accounts, uploads of 5 to 120 KiB, collections,
    credits);
  - after a random number of commands a ballast file takes all but a random 0 to 512 KiB of
    what is free, so the disk fills at a different point of the load, in or between commits;
  - every command must be acknowledged or refused STORAGE_FULL: nothing else (no INTERNAL
    "input/output error", no timeout);
  - ledgerd is stopped by SIGTERM or SIGKILL (every other round), then started again on the
    still-full disk: it serves or refuses with exit 1 and a message, never dies of a signal;
  - with room again: every acknowledged account is there (adding it again: ALREADY_EXISTS),
    every acknowledged upload is readable, every acknowledged collection is
    listed, the credits are exactly the sum of the acknowledged additions, and ledger-audit
    verify says the chain is intact.
Then each round's store is copied and bytes flipped in the copies (page headers, node
pointers and first nodes of branch, leaf and overflow pages, meta pages, anywhere): ledger-audit
verify ends 0, 1 or 3, and ledgerd serves, or refuses a damaged store by name with exit 3, or
refuses for another reason with exit 1 and a message; no signal.

Why a tmpfs: as root in a container (Debian 12, CI), `unshare -m` gives a private mount
namespace where a tmpfs of any size can be mounted and resized, and its full state is ENOSPC
at a byte-exact point, as a real disk's. A loop device is usually not available in a
container, and RLIMIT_FSIZE answers EFBIG and SIGXFSZ, which is not what a full disk does.
Without root the test runs in a user namespace (`unshare -rm`), which allows the same mount.

Usage: fault_test.py BIN_DIR [ROUNDS] [FLIPS_PER_ROUND]
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from make_pdf import write_pdf  # noqa: E402
from store_flips import copy_with_flip, report  # noqa: E402

CLIENTS = 3
COMMANDS_MAX = 150  # per round, all clients together
FULL_ANSWERS_ENOUGH = 6  # STORAGE_FULL answers after which a round's load stops
SEED_BASE = 20261204


def run(args, timeout=30):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)


class Ledgerd:
    """A ledgerd serve child: started, and either ready or exited."""

    def __init__(self, bin_dir, data, log, extra=()):
        ready_r, ready_w = os.pipe()
        self.log = open(log, "ab")
        self.process = subprocess.Popen([f"{bin_dir}/ledgerd", "serve", "--data", data, "--ready-fd", str(ready_w),
                                         *extra], pass_fds=(ready_w,), stdout=self.log, stderr=self.log)
        os.close(ready_w)
        self.ready = os.read(ready_r, 6) != b""
        os.close(ready_r)

    def stop(self, sig=signal.SIGTERM):
        """Sends sig if it is running; returns the exit status (negative: the signal)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return "hung"
        finally:
            self.log.close()


class Round:
    def __init__(self, bin_dir, work, seed):
        self.bin, self.seed, self.rng = bin_dir, seed, random.Random(seed)
        self.fs = os.path.join(work, f"fs{seed}")
        self.data = os.path.join(self.fs, "d")
        self.log = os.path.join(work, f"ledgerd{seed}.log")
        self.pdfs = os.path.join(work, f"pdfs{seed}")
        self.lock = threading.Lock()
        self.accounts, self.documents, self.collections, self.credits = [], [], [], 0
        self.commands = self.full_answers = 0
        self.failures = []
        self.ballast_at = self.rng.randrange(10, 100)
        self.ballast_left_bytes = self.rng.randrange(0, 512) * 1024

    def ctl(self, *args):
        return run([f"{self.bin}/ledgerctl", "--data", self.data, "--timeout", "10000", *args])

    def fail(self, what):
        with self.lock:
            self.failures.append(f"round {self.seed}: {what}")

    def fill_disk(self):
        """The ballast: all but ballast_left_bytes of what is free now."""
        st = os.statvfs(self.fs)
        want = max(0, st.f_bavail * st.f_frsize - self.ballast_left_bytes)
        try:
            with open(os.path.join(self.fs, "ballast"), "wb") as f:
                while want > 0:
                    n = min(want, 1 << 20)
                    f.write(b"\0" * n)
                    want -= n
        except OSError:
            pass  # ledgerd took the rest meanwhile: the disk is full either way

    def one_command(self, rng, collection):
        kind = rng.random()
        if kind < 0.35:
            email = f"u{rng.getrandbits(48):012x}@x.fr"
            r = self.ctl("--platform", "account", "add", email, "--name", "User")
            ack = lambda out: self.accounts.append(email)  # noqa: E731
        elif kind < 0.6:
            path = os.path.join(self.pdfs, f"{rng.getrandbits(64):016x}.pdf")
            write_pdf(path, "Document", padding_kib=rng.randrange(5, 120), rng=rng)
            r = self.ctl("--as", "ec@x.fr", "collection", "add-document", "--firm", "F", collection, path)
            ack = lambda out: self.documents.append(out.strip())  # noqa: E731
        elif kind < 0.8:
            r = self.ctl("--as", "ec@x.fr", "collection", "create", "--firm", "F", "--kind", "signature", "--title",
                         "T")
            ack = lambda out: self.collections.append(out.strip())  # noqa: E731
        else:
            credits = rng.randrange(1, 10)
            r = self.ctl("--as", "ec@x.fr", "credits", "add", "--firm", "F", "--credits", str(credits))
            ack = lambda out: setattr(self, "credits", self.credits + credits)  # noqa: E731
        out = r.stdout.decode(errors="replace")
        with self.lock:
            if r.returncode == 0:
                ack(out)
            elif "STORAGE_FULL" in out:
                self.full_answers += 1
            else:
                self.failures.append(f"round {self.seed}: neither acknowledged nor STORAGE_FULL: {out[-300:]}")

    def client(self, number, collection):
        rng = random.Random(self.seed * 100 + number)
        while True:
            with self.lock:
                if self.commands >= COMMANDS_MAX or self.full_answers >= FULL_ANSWERS_ENOUGH or len(self.failures) > 5:
                    return
                self.commands += 1
                fill = self.commands == self.ballast_at
            if fill:
                self.fill_disk()
            self.one_command(rng, collection)

    def load(self):
        os.makedirs(self.pdfs)
        os.makedirs(self.fs)
        size_kib = self.rng.randrange(2048, 4096, 4)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", self.fs], check=True)
        run([f"{self.bin}/ledgerd", "init", "--data", self.data])
        server = Ledgerd(self.bin, self.data, self.log, ("--map-size", "64M"))
        if not server.ready:
            return self.fail(f"ledgerd did not start on a {size_kib} KiB tmpfs")
        setup = [self.ctl("--platform", "account", "add", "ec@x.fr", "--name", "E C", "--ec"),
                 self.ctl("--platform", "firm", "add", "F", "--name", "Firm", "--ec", "ec@x.fr", "--siren", "732829320"),
                 self.ctl("--as", "ec@x.fr", "collection", "create", "--firm", "F", "--kind", "signature", "--title",
                          "Uploads")]
        if any(r.returncode != 0 for r in setup):
            server.stop(signal.SIGKILL)
            return self.fail(f"setup: {[r.stdout.decode()[-200:] for r in setup]}")
        collection = setup[2].stdout.decode().strip()
        self.collections.append(collection)
        threads = [threading.Thread(target=self.client, args=(i, collection)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if self.full_answers == 0:
            self.fail(f"the disk never filled ({self.commands} commands)")
        sig = signal.SIGKILL if self.seed % 2 else signal.SIGTERM
        rc = server.stop(sig)
        if rc not in (0, -sig):
            self.fail(f"ledgerd ended {rc} on {sig.name}")

    def restart_while_full(self):
        """ledgerd on the still-full disk: it serves, or refuses saying why; never a signal."""
        server = Ledgerd(self.bin, self.data, self.log)
        rc = server.stop()
        if server.ready and rc != 0:
            self.fail(f"ledgerd started on the full disk, then ended {rc}")
        if not server.ready and rc != 1:
            self.fail(f"ledgerd refused to start on the full disk with {rc}, not 1 and a message")

    def check_nothing_lost(self):
        """With room again, every acknowledged command is there and the chain verifies."""
        os.unlink(os.path.join(self.fs, "ballast"))
        subprocess.run(["mount", "-o", "remount,size=64m", self.fs], check=True)
        server = Ledgerd(self.bin, self.data, self.log)
        if not server.ready:
            server.stop()
            return self.fail(f"ledgerd did not start with room again: {open(self.log).read()[-300:]}")
        for sha in self.documents:
            r = self.ctl("--as", "ec@x.fr", "document", "get", "--firm", "F", sha, "-o", os.devnull)
            if r.returncode != 0:
                self.fail(f"acknowledged document {sha} lost: {r.stdout.decode()[-200:]}")
        for email in self.accounts:  # adding it again must find it there
            out = self.ctl("--platform", "account", "add", email, "--name", "User").stdout.decode()
            if "ALREADY_EXISTS" not in out:
                self.fail(f"acknowledged account {email} lost: {out[-200:]}")
        listed = self.ctl("--as", "ec@x.fr", "collection", "list", "--firm", "F", "--all").stdout.decode()
        lost = [c for c in self.collections if c not in listed.split()]
        if lost:
            self.fail(f"acknowledged collections lost: {lost}")
        shown = self.ctl("--as", "ec@x.fr", "--json", "credits", "show", "--firm", "F").stdout.decode()
        if f'"available":{self.credits},' not in shown:
            self.fail(f"credits: {self.credits} acknowledged, shown {shown[:200]}")
        rc = server.stop()
        if rc != 0:
            self.fail(f"ledgerd ended {rc} on SIGTERM")
        r = run([f"{self.bin}/ledger-audit", "verify", "--data", self.data])
        if r.returncode != 0:
            self.fail(f"ledger-audit verify {r.returncode}: {r.stdout.decode()[-300:]}")

    def keep_store(self, where):
        shutil.copytree(self.data, where)
        subprocess.run(["umount", self.fs], check=False)


PAGE = 4096
P_BRANCH, P_LEAF, P_OVERFLOW = 0x01, 0x02, 0x04  # lmdb.h's page flags


def tree_pages(mdb):
    """The pages LMDB follows pointers from: branch and leaf pages, and the first page of each
    overflow run (its length). Read from the page headers: pgno (8 bytes), pad, flags, then
    lower/upper or the overflow run's page count."""
    with open(mdb, "rb") as f:
        data = f.read()
    pages, number = [], 2  # 0 and 1 are the meta pages
    while (number + 1) * PAGE <= len(data):
        header = data[number * PAGE:number * PAGE + 16]
        pgno = int.from_bytes(header[0:8], "little")
        flags = int.from_bytes(header[10:12], "little")
        run_pages = 1
        if pgno == number and flags & (P_BRANCH | P_LEAF | P_OVERFLOW):
            pages.append(number)
            if flags & P_OVERFLOW:
                run_pages = max(1, int.from_bytes(header[12:16], "little"))
        number += run_pages
    return pages


def flip_offset(rng, size, pages, kind):
    """Where a flip goes: a tree page's header (pgno, flags, lower/upper, an overflow run's
    length), its node pointers and first nodes (child page numbers, sizes), the meta pages, or
    anywhere in the file."""
    if kind == "meta":
        return rng.randrange(0, min(size, 2 * PAGE))
    if kind == "header" and pages:
        return rng.choice(pages) * PAGE + rng.randrange(0, 16)
    if kind == "pointers" and pages:
        return rng.choice(pages) * PAGE + rng.randrange(16, 128)
    return rng.randrange(size)


def ledgerd_outcome_allowed(ready, rc, said):
    """ledgerd on a damaged copy: it served and stopped cleanly, or refused the store by name
    with its own exit status (3, a restart cannot help), or refused for another reason with 1."""
    if ready:
        return rc == 0
    if "store damaged" in said or "hash chain is broken" in said:
        return rc == 3
    return rc == 1 and "ledgerd:" in said


def flip_copies(bin_dir, store, copy, flips, seed, failures):
    """Byte flips in copies of store: a typed answer or a named refusal, never a signal."""
    mdb = os.path.join(store, "data.mdb")
    size = os.path.getsize(mdb)
    pages = tree_pages(mdb)
    kinds = ["header", "pointers", "meta", "anywhere"]
    for n in range(flips):
        rng = random.Random(seed * 1000 + n)
        kind = kinds[n % len(kinds)]
        offset = flip_offset(rng, size, pages, kind)
        copy_with_flip(store, copy, offset, rng)
        what = f"store {seed}, flip {n} ({kind}, offset {offset})"
        try:
            r = run([f"{bin_dir}/ledger-audit", "verify", "--data", copy])
        except subprocess.TimeoutExpired:
            failures.append(f"{what}: ledger-audit verify hung")
            continue
        if r.returncode not in (0, 1, 3) or (r.returncode != 0 and not r.stdout.strip()):
            failures.append(f"{what}: ledger-audit verify ended {r.returncode}: {r.stdout.decode()[-300:]}")
        if n % 4 == 0:
            log = copy + ".log"
            server = Ledgerd(bin_dir, copy, log)
            rc = server.stop()
            said = open(log, errors="replace").read()
            os.unlink(log)
            if not ledgerd_outcome_allowed(server.ready, rc, said):
                failures.append(f"{what}: ledgerd ended {rc} (ready {server.ready}): {said[-300:]}")


def main():
    if os.environ.get("LEDGER_FAULT_TEST_INSIDE") != "1":
        env = dict(os.environ, LEDGER_FAULT_TEST_INSIDE="1")
        unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
        os.execvpe(unshare[0], unshare + [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)
    bin_dir = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    flips = int(sys.argv[3]) if len(sys.argv) > 3 else 150
    work = tempfile.mkdtemp(prefix="ledger-faults-")
    failures, summary = [], []
    try:
        for seed in range(SEED_BASE, SEED_BASE + rounds):
            r = Round(bin_dir, work, seed)
            try:
                r.load()
                if not r.failures:
                    r.restart_while_full()
                    r.check_nothing_lost()
                store = os.path.join(work, f"store{seed}")
                if not r.failures:
                    r.keep_store(store)
            finally:
                subprocess.run(["umount", r.fs], stderr=subprocess.DEVNULL, check=False)
            failures += r.failures
            summary.append(f"{r.commands} commands, {len(r.accounts)} accounts, {len(r.documents)} uploads, "
                           f"{r.full_answers} STORAGE_FULL")
            if not r.failures:
                flip_copies(bin_dir, store, os.path.join(work, "copy"), flips, seed, failures)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(f"fault_test: {rounds} rounds ({'; '.join(summary)}), {rounds * flips} flips", failures)


if __name__ == "__main__":
    main()
