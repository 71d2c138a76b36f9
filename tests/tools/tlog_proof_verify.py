#!/usr/bin/python3
"""tlog_proof_verify.py PROOF --log-vkey FILE [--witness-vkey FILE]... : checks a C2SP tlog-proof
of a ledger record written by `ledger-audit prove --tlog-proof`, from docs/log-format.md ("The
tree", "Proofs") and docs/tlog.md alone: the "extra" line holds the record's bytes, whose hash
is SHA-256("JSE-LEDGER-EVENT-V1" || seq || prev_hash || event) and must equal the hash they
carry; the leaf is SHA-256(0x00 || that hash) at index seq - 1; the proof must lead to the root
of the checkpoint that follows, signed by the log key (and cosigned by every witness given).
Prints "proved SEQ HASH SIZE" and exits 0, or prints why and exits 1."""
import argparse
import base64
import hashlib
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tlog_verify import Refused, leaf_hash, open_checkpoint, verify_inclusion  # noqa: E402

HEADER = 4 + 8 + 32 + 32


def main():
    p = argparse.ArgumentParser()
    p.add_argument("proof")
    p.add_argument("--log-vkey", required=True)
    p.add_argument("--witness-vkey", action="append", default=[])
    a = p.parse_args()
    with open(a.proof, "rb") as f:
        data = f.read()
    head, sep, note = data.partition(b"\n\n")
    if not sep:
        raise Refused("no blank line before the checkpoint")
    lines = head.decode().split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1":
        raise Refused("not a tlog-proof")
    if not lines[1].startswith("extra ") or not lines[2].startswith("index "):
        raise Refused("no extra and index lines")
    record = base64.b64decode(lines[1][6:], validate=True)
    index = int(lines[2][6:])
    proof = [base64.b64decode(h, validate=True) for h in lines[3:]]
    if record[:4] != b"JSE1" or len(record) < HEADER:
        raise Refused("the extra data is not a ledger record")
    seq, prev, stored = int.from_bytes(record[4:12], "big"), record[12:44], record[44:HEADER]
    if hashlib.sha256(b"JSE-LEDGER-EVENT-V1" + record[4:12] + prev + record[HEADER:]).digest() != stored:
        raise Refused("the record does not hash to its hash")
    if seq != index + 1:
        raise Refused(f"record {seq} at index {index}")
    with tempfile.NamedTemporaryFile() as cp:
        cp.write(note)
        cp.flush()
        vkey = open(a.log_vkey).read().strip()
        witnesses = [open(w).read().strip() for w in a.witness_vkey]
        _, size, root, cosigned = open_checkpoint(cp.name, vkey, witnesses, quorum=len(witnesses))
    if not verify_inclusion(leaf_hash(stored), index, size, proof, root):
        raise Refused("the inclusion proof does not lead to the checkpoint's root")
    print(f"proved {seq} {stored.hex()} {size}")


if __name__ == "__main__":
    try:
        main()
    except (Refused, ValueError) as e:
        print(f"not proved: {e}")
        sys.exit(1)
