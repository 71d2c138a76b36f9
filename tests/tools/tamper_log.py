#!/usr/bin/python3
# tamper_log.py DATA_DIR MODE [SEQ]: damages a COPY of a data directory (never a live one), for
# the verifier tests. Writes the LMDB store directly, as an attacker with file access would.
#   flip SEQ     flips one bit of record SEQ's event bytes: its stored hash no longer matches
#   drop-last    deletes the last record and leaves the meta head as it was: a truncated tail
#   rewrite SEQ  flips the same bit, then recomputes every hash from SEQ on and the meta head:
#                a consistent rewrite, which only an anchor kept outside the directory reveals
#   rewrite-all SEQ  the same, then empties the Merkle tree and the checkpoints: the next ledgerd
#                rebuilds the tree and signs new checkpoints with the directory's log key (an
#                attacker who holds it); only a checkpoint kept outside (a witness) reveals it
#   cut N        deletes every record after N and sets the meta head to record N, emptying the
#                tree and the checkpoints as above: a truncation no local check can see
import hashlib
import sys

import lmdb

HEADER = 4 + 8 + 32 + 32
d, mode = sys.argv[1], sys.argv[2]
seq = int(sys.argv[3]) if len(sys.argv) > 3 else 0
env = lmdb.open(d, max_dbs=64, create=False)
events, meta = env.open_db(b"events", create=False), env.open_db(b"meta", create=False)
if mode not in ("flip", "drop-last", "rewrite", "rewrite-all", "cut"):
    sys.exit(f"tamper_log.py: unknown mode {mode}")
with env.begin(write=True) as txn:  # committed when the block ends without an exception
    keys = [k for k, _ in txn.cursor(db=events)]
    if mode == "drop-last":
        assert txn.delete(keys[-1], db=events)
    elif mode == "cut":
        for k in keys[seq:]:
            assert txn.delete(k, db=events)
        last = txn.get(seq.to_bytes(8, "big"), db=events)
        txn.put(b"head_seq", seq.to_bytes(8, "big"), db=meta)
        txn.put(b"head_hash", last[44:HEADER], db=meta)
    else:
        key = seq.to_bytes(8, "big")
        rec = bytearray(txn.get(key, db=events))
        rec[HEADER + (len(rec) - HEADER) // 2] ^= 0x01  # a bit in the middle of the event bytes
        txn.put(key, bytes(rec), db=events)
    if mode in ("rewrite", "rewrite-all"):
        prev = rec[12:44]
        for k in keys[keys.index(key):]:
            v = bytearray(txn.get(k, db=events))
            v[12:44] = prev
            v[44:HEADER] = prev = hashlib.sha256(b"JSE-LEDGER-EVENT-V1" + k + prev + v[HEADER:]).digest()
            txn.put(k, bytes(v), db=events)
        txn.put(b"head_hash", prev, db=meta)
    if mode in ("rewrite-all", "cut"):
        txn.drop(env.open_db(b"tree", txn=txn, create=False), delete=False)
        txn.drop(env.open_db(b"checkpoints", txn=txn, create=False), delete=False)
        txn.delete(b"checkpoint", db=meta)
