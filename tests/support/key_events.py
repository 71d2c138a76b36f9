#!/usr/bin/env python3
"""The key events of a log, one line each, from `ledger-audit export --what log` on stdin.

    SEQ created KIND KEY_ID SERIAL SHA256 NOT_AFTER OWNER
    SEQ destroyed KIND KEY_ID SERIAL - - OWNER REASON

("-" for an empty field; spaces in the reason become "_".) The events are decoded from the
protobuf wire format here, sharing no code with ledgerd (proto/events.proto: Event.key_created
= 41, key_destroyed = 42; KeyCreated/KeyDestroyed's fields by number).
"""
import base64
import json
import sys


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def fields(b):
    i, out = 0, []
    while i < len(b):
        tag, i = varint(b, i)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        else:
            sys.exit("wire type %d" % wire)
        out.append((number, v))
    return out


for line in sys.stdin:
    if not line.startswith('{"seq"'):
        continue
    record = json.loads(line)
    for number, v in fields(base64.b64decode(record["event"])):
        if number not in (41, 42):
            continue
        f = dict(fields(v))
        s = lambda k: f.get(k, b"").decode()  # noqa: E731
        if number == 41:
            print(record["seq"], "created", f.get(1, 0), s(2), s(3), f.get(4, b"").hex() or "-", s(5), s(6) or "-")
        else:
            print(record["seq"], "destroyed", f.get(1, 0), s(2), s(3), "-", "-", s(5) or "-",
                  s(4).replace(" ", "_") or "-")
