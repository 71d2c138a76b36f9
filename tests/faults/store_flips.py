"""store_flips: what the byte-flip tests share (corrupt_store_test.py, fault_test.py).

Each flips one bit in a fresh copy of a real store and judges what ledger-audit and ledgerd
make of it; both end by listing their first failures and a summary line.
"""
import shutil
import sys

FAILURES_SHOWN = 20  # a broken build fails hundreds of flips alike: the first ones say enough


def copy_with_flip(store, copy, offset, rng):
    """Replaces copy with a copy of the store directory whose data.mdb has one bit flipped, at
    offset (the bit drawn from rng)."""
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(store, copy)
    with open(f"{copy}/data.mdb", "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ (1 << rng.randrange(8))]))


def report(summary, failures):
    """Prints the first failures and the summary line, then exits: 1 if anything failed."""
    for f in failures[:FAILURES_SHOWN]:
        print("FAIL: " + f)
    print(f"{summary}, {len(failures)} failures")
    sys.exit(1 if failures else 0)
