#!/usr/bin/env python3
"""Builds the seed corpus of import_fuzz: each real file of tests/fixtures/import/ behind the
byte that selects its extension (see import_fuzz.c), plus the hand-made workbook of
make_hostile.py (inline strings, rich text...). Usage: seed_corpus.py FIXTURES_DIR OUTPUT_DIR"""
import os
import sys
import tempfile

SELECTOR = {".csv": 0, ".txt": 1, ".xls": 2, ".xlsx": 3}


def main(fixtures, out):
    os.makedirs(out, exist_ok=True)
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    sys.path.insert(0, fixtures)
    import make_hostile  # noqa: E402 (the fixtures folder is only known now)

    with tempfile.TemporaryDirectory() as tmp:
        made = os.path.join(tmp, "valid.xlsx")
        make_hostile.write(made, make_hostile.valid_workbook())
        files = [(made, "valid.xlsx")]
        files += [(os.path.join(fixtures, name), name) for name in sorted(os.listdir(fixtures))]
        for path, name in files:
            extension = os.path.splitext(name)[1].lower()
            if extension in SELECTOR:
                with open(path, "rb") as f, open(os.path.join(out, name + ".seed"), "wb") as seed:
                    seed.write(bytes([SELECTOR[extension]]) + f.read())


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: seed_corpus.py FIXTURES_DIR OUTPUT_DIR")
    main(sys.argv[1], sys.argv[2])
