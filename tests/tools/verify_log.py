#!/usr/bin/python3
# verify_log.py DATA_DIR: checks a ledgerd log's hash chain, and that every stored document
# hashes to its key, as docs/log-format.md specifies,
# sharing no code with ledger-audit; prints what `ledger-audit verify` prints. Needs only Python 3
# and python3-lmdb. Exit status: 0 intact, 1 broken (names the first bad seq), 2 usage, 3 not
# readable as a ledger data directory.
import hashlib
import sys

import lmdb  # Debian: python3-lmdb

TAG, MAGIC, ZERO, HEADER = b"JSE-LEDGER-EVENT-V1", b"JSE1", bytes(32), 4 + 8 + 32 + 32


# Returns (first bad seq or 0, reason, good events, last good hash), as ledger_verify does.
def verify(txn, events, meta):
    prev, seq = ZERO, 1
    for key, val in txn.cursor(db=events):
        if len(key) != 8:
            return seq, "malformed key", seq - 1, prev
        if int.from_bytes(key, "big") != seq:
            return seq, "missing record: the next key is not the next seq", seq - 1, prev
        if len(val) < HEADER or val[:4] != MAGIC or val[4:12] != key:
            return seq, "malformed record header (magic or seq differs from its key)", seq - 1, prev
        if val[12:44] != prev:
            return seq, "prev_hash does not match the previous record's hash", seq - 1, prev
        if hashlib.sha256(TAG + key + prev + val[HEADER:]).digest() != val[44:HEADER]:
            return seq, "stored hash does not match the record's contents", seq - 1, prev
        prev, seq = val[44:HEADER], seq + 1
    head, raw = seq - 1, txn.get(b"head_seq", db=meta)
    recorded = int.from_bytes(raw, "big") if raw is not None and len(raw) == 8 else 0
    if recorded > head:
        return head + 1, "records missing at the end of the log (head says more)", head, prev
    if recorded < head:
        return recorded + 1, "records beyond the recorded head", head, prev
    if head and txn.get(b"head_hash", db=meta) != prev:
        return head, "last record's hash differs from the recorded head hash", head, prev
    return 0, "", head, prev


# Returns (documents that hash to their keys, the first that does not or None).
def verify_blobs(txn, blobs):
    good = 0
    for key, val in txn.cursor(db=blobs):
        if hashlib.sha256(val).digest() != key:
            return good, key
        good += 1
    return good, None


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        print("usage: verify_log.py DATA_DIR", file=sys.stderr)
        return 2
    try:  # lock=True registers as an LMDB reader, safe beside a running ledgerd
        env = lmdb.open(argv[1], readonly=True, lock=True, create=False, max_dbs=64)
        with env.begin() as txn:
            meta = env.open_db(b"meta", txn=txn, create=False)
            if txn.get(b"magic", db=meta) != b"jse-ledger" or txn.get(b"format", db=meta) != bytes([0, 0, 0, 1]):
                raise lmdb.Error("not a jse-ledger/1 data directory")
            bad, reason, good, head_hash = verify(txn, env.open_db(b"events", txn=txn, create=False), meta)
            documents, bad_document = 0, None
            if not bad and txn.get(b"blobs") is not None:  # a store that never held a document has none
                documents, bad_document = verify_blobs(txn, env.open_db(b"blobs", txn=txn, create=False))
    except lmdb.Error as e:
        print(f"verify_log.py: {argv[1]}: {e}", file=sys.stderr)
        return 3
    if bad:
        print(f"broken at seq {bad}: {reason} ({good} good events before it)")
        return 1
    if bad_document is not None:
        print(f"the chain is intact, but stored document {bad_document.hex()} does not hash to its key")
        return 1
    suffix = f"; {documents} stored documents hash to their keys" if documents else ""
    print(f"intact: {good} events, head seq {good}, hash {head_hash.hex()}{suffix}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
