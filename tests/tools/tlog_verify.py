#!/usr/bin/python3
# tlog_verify.py: an independent verifier of the transparency-log artefacts, written from
# docs/tlog.md alone (no code shared with tlog/): signed checkpoints, cosignatures, inclusion
# and consistency proofs. Python 3 standard library + python3-nacl (Ed25519).
#
#   tlog_verify.py checkpoint --log-vkey V [--witness-vkey W]... [--quorum Q] [--entries F] CP
#   tlog_verify.py inclusion --log-vkey V --checkpoint CP --entries F PROOFS
#   tlog_verify.py consistency --log-vkey V --old CP --new CP PROOFS
#   tlog_verify.py proofs --entries F PROOFS     (every proof line, against roots computed here)
#
# Exit status: 0 verified, 1 refused (the reason on stderr), 2 usage.
import argparse
import base64
import binascii
import hashlib
import sys

import nacl.exceptions  # Debian: python3-nacl
import nacl.signing

EM_DASH = "\u2014"
SPACES = set(range(0x09, 0x0E)) | {0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000} | set(
    range(0x2000, 0x200B))


class Refused(Exception):
    pass


def b64(text):
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refused(f"not base64: {text[:60]!r}")
    if base64.b64encode(raw).decode() != text:
        raise Refused(f"non-canonical base64: {text[:60]!r}")
    return raw


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(entry):
    return sha256(b"\x00" + entry)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def mth(leaves):
    """MTH of a list of leaf hashes, as docs/tlog.md section 1 defines it (iteratively)."""
    if not leaves:
        return sha256(b"")
    level = list(leaves)
    # Pairing left to right, carrying an odd last node up, gives the same tree as splitting
    # at the largest power of two below the size.
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def valid_name(name):
    return 0 < len(name.encode()) <= 255 and "+" not in name and all(
        ord(c) >= 0x20 and ord(c) != 0x7F and ord(c) not in SPACES for c in name)


def key_id(name, kind, public_key):
    return sha256(name.encode() + b"\x0a" + bytes([kind]) + public_key)[:4]


def parse_vkey(text):
    parts = text.split("+", 2)  # the base64 key may itself hold '+'; name and hex cannot
    if len(parts) != 3 or not valid_name(parts[0]) or len(parts[1]) != 8 or parts[1] != parts[1].lower():
        raise Refused(f"verifier key {text!r}: not name+8 hex+base64")
    raw = b64(parts[2])
    if len(raw) != 33 or raw[0] not in (0x01, 0x04):
        raise Refused(f"verifier key {text!r}: not a type 0x01/0x04 Ed25519 key")
    name, kind, public_key = parts[0], raw[0], raw[1:]
    if key_id(name, kind, public_key).hex() != parts[1]:
        raise Refused(f"verifier key {text!r}: key ID is not the hash of name, type and key")
    return {"name": name, "type": kind, "key": public_key, "id": key_id(name, kind, public_key)}


def open_note(data, keys):
    """Section 3: returns (text bytes, {key index: timestamp or None}) for the verified keys."""
    if len(data) > 65536:
        raise Refused("note over 65536 bytes")
    try:
        note = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("note is not UTF-8")
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise Refused("note holds a control character")
    if not note.endswith("\n"):
        raise Refused("note does not end in a newline")
    split = note.rfind("\n\n")
    if split < 0 or split + 2 >= len(note):
        raise Refused("note has no empty line followed by signatures")
    text = note[:split + 1].encode()
    lines = note[split + 2:-1].split("\n")
    if len(lines) > 100:
        raise Refused("more than 100 signature lines")
    parsed = []
    for number, line in enumerate(lines, 1):
        if not line.startswith(EM_DASH + " "):
            raise Refused(f"signature line {number} does not start with an em dash and a space")
        rest = line[2:]
        if " " not in rest:
            raise Refused(f"signature line {number}: no signature")
        name, sig = rest.split(" ", 1)
        if not valid_name(name):
            raise Refused(f"signature line {number}: bad key name")
        raw = b64(sig)
        if len(raw) <= 4:
            raise Refused(f"signature line {number}: too short")
        parsed.append((name, raw))
    verified = {}
    for name, raw in parsed:
        match = [i for i, k in enumerate(keys) if k["name"] == name and k["id"] == raw[:4]]
        if not match:
            continue
        i = match[0]
        k = keys[i]
        if i in verified:
            raise Refused(f"key {name} signed twice")
        if k["type"] == 0x01:
            if len(raw) != 68:
                raise Refused(f"signature by {name}: {len(raw)} bytes, not 68")
            message, signature, stamp = text, raw[4:], None
        else:
            if len(raw) != 76:
                raise Refused(f"cosignature by {name}: {len(raw)} bytes, not 76")
            stamp = int.from_bytes(raw[4:12], "big")
            if stamp > 2**63 - 1:
                raise Refused(f"cosignature by {name}: timestamp past 2^63 - 1")
            message, signature = b"cosignature/v1\ntime %d\n" % stamp + text, raw[12:]
        try:
            nacl.signing.VerifyKey(k["key"]).verify(message, signature)
        except nacl.exceptions.BadSignatureError:
            raise Refused(f"signature by {name} does not verify")
        verified[i] = stamp
    if not verified:
        raise Refused("no signature by a trusted key")
    return text, verified


def open_checkpoint(path, log_vkey, witness_vkeys=(), quorum=0):
    """Section 4: (origin, size, root, [(witness name, time)]) of a checkpoint we trust."""
    log = parse_vkey(log_vkey)
    if log["type"] != 0x01:
        raise Refused("the log key is not a type 0x01 key")
    witnesses = [parse_vkey(w) for w in witness_vkeys]
    if any(w["type"] != 0x04 for w in witnesses):
        raise Refused("a witness key is not a type 0x04 key")
    with open(path, "rb") as f:
        text, verified = open_note(f.read(), [log] + witnesses)
    if 0 not in verified:
        raise Refused("no signature by the log key")
    lines = text.decode().split("\n")[:-1]
    if len(lines) < 3 or any(not line for line in lines):
        raise Refused("checkpoint text is not three or more non-empty lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if origin != log["name"]:
        raise Refused(f"checkpoint origin {origin!r} is not the log key's name")
    if not size.isdigit() or not size.isascii() or (size != "0" and size.startswith("0")) or int(size) >= 2**64:
        raise Refused(f"checkpoint size {size!r} is not a decimal without leading zeros")
    root = b64(root)
    if len(root) != 32:
        raise Refused("checkpoint root is not 32 bytes")
    cosigned = [(witnesses[i - 1]["name"], t) for i, t in sorted(verified.items()) if i > 0]
    if len(cosigned) < quorum:
        raise Refused(f"{len(cosigned)} cosignatures of trusted witnesses, {quorum} required")
    return origin, int(size), root, cosigned


def verify_inclusion(leaf, m, n, proof, root):
    """Section 2, inclusion."""
    if m >= n:
        return False
    fn, sn, r = m, n - 1, leaf
    for c in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(c, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(m, n, proof, old_root, new_root):
    """Section 2, consistency."""
    if m > n:
        return False
    if m == n:
        return not proof and old_root == new_root
    if m == 0:
        return not proof and old_root == sha256(b"")
    if not proof:
        return False
    if m & (m - 1) == 0:
        proof = [old_root] + proof
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


def read_proofs(path):
    """Section 2, text form: [(kind, m, n, [hashes])]."""
    proofs = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fields = line.rstrip("\n").split(" ")
            if len(fields) < 3 or fields[0] not in ("inclusion", "consistency") or not all(
                    x.isdigit() for x in fields[1:3]):
                raise Refused(f"{path}:{number}: not a proof line")
            hashes = [b64(x) for x in fields[3:]]
            if any(len(h) != 32 for h in hashes):
                raise Refused(f"{path}:{number}: a hash is not 32 bytes")
            proofs.append((fields[0], int(fields[1]), int(fields[2]), hashes))
    return proofs


def read_entries(path):
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        raise Refused(f"{path}: last entry not ended by a newline")
    return [leaf_hash(e) for e in data.split(b"\n")[:-1]]


def command_checkpoint(a):
    origin, size, root, cosigned = open_checkpoint(a.file, a.log_vkey, a.witness_vkey, a.quorum)
    if a.entries is not None:
        leaves = read_entries(a.entries)
        if size > len(leaves) or mth(leaves[:size]) != root:
            raise Refused(f"root of size {size} is not the root of the entries' first {size}")
    print(f"checkpoint {origin} {size} {base64.b64encode(root).decode()}")
    for name, stamp in cosigned:
        print(f"cosigned by {name} at {stamp}")


def command_inclusion(a):
    _, size, root, _ = open_checkpoint(a.checkpoint, a.log_vkey)
    leaves = read_entries(a.entries)
    for kind, m, n, hashes in read_proofs(a.file):
        if kind != "inclusion" or n != size or m >= len(leaves):
            raise Refused(f"{kind} {m} {n}: not an inclusion proof in the checkpoint's tree of {size}")
        if not verify_inclusion(leaves[m], m, n, hashes, root):
            raise Refused(f"inclusion of entry {m} in the checkpoint of size {size} does not verify")
        print(f"entry {m} is in the checkpoint of size {size}")


def command_consistency(a):
    _, old_size, old_root, _ = open_checkpoint(a.old, a.log_vkey)
    _, new_size, new_root, _ = open_checkpoint(a.new, a.log_vkey)
    for kind, m, n, hashes in read_proofs(a.file):
        if kind != "consistency" or (m, n) != (old_size, new_size):
            raise Refused(f"{kind} {m} {n}: not a consistency proof from {old_size} to {new_size}")
        if not verify_consistency(m, n, hashes, old_root, new_root):
            raise Refused(f"the checkpoint of size {new_size} does not extend the one of size {old_size}")
        print(f"size {new_size} extends size {old_size}")


def command_proofs(a):
    leaves = read_entries(a.entries)
    roots = [mth(leaves[:n]) for n in range(len(leaves) + 1)]
    seen = set()
    for kind, m, n, hashes in read_proofs(a.file):
        if n > len(leaves):
            raise Refused(f"{kind} {m} {n}: past the entries")
        ok = (verify_inclusion(leaves[m], m, n, hashes, roots[n]) if kind == "inclusion" and m < n else
              kind == "consistency" and verify_consistency(m, n, hashes, roots[m], roots[n]))
        if not ok:
            raise Refused(f"{kind} {m} {n} does not verify")
        seen.add((kind, m, n))
    want = {("inclusion", m, n) for n in range(len(leaves) + 1) for m in range(n)}
    want |= {("consistency", m, n) for n in range(len(leaves) + 1) for m in range(n + 1)}
    if seen != want:
        raise Refused(f"{len(want - seen)} proofs missing")
    print(f"{len(seen)} proofs verified over {len(leaves)} entries")


def main():
    p = argparse.ArgumentParser(description="verify transparency-log artefacts (docs/tlog.md)")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("checkpoint")
    c.add_argument("--log-vkey", required=True)
    c.add_argument("--witness-vkey", action="append", default=[])
    c.add_argument("--quorum", type=int, default=0)
    c.add_argument("--entries")
    c.add_argument("file")
    i = sub.add_parser("inclusion")
    i.add_argument("--log-vkey", required=True)
    i.add_argument("--checkpoint", required=True)
    i.add_argument("--entries", required=True)
    i.add_argument("file")
    k = sub.add_parser("consistency")
    k.add_argument("--log-vkey", required=True)
    k.add_argument("--old", required=True)
    k.add_argument("--new", required=True)
    k.add_argument("file")
    a = sub.add_parser("proofs")
    a.add_argument("--entries", required=True)
    a.add_argument("file")
    args = p.parse_args()
    try:
        {"checkpoint": command_checkpoint, "inclusion": command_inclusion, "consistency": command_consistency,
         "proofs": command_proofs}[args.command](args)
    except Refused as e:
        print(f"refused: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"cannot read: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
