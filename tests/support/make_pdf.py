#!/usr/bin/env python3
"""make_pdf.py: the one-page PDFs the tests upload, with a correct cross-reference table.

Usage: make_pdf.py OUT [--text TEXT] [--padding-kib N] [--seed S] [--signature-field]
  --text             the line shown on the page (default "Document")
  --padding-kib      content-stream comments of random hex, about N KiB (a document that takes
                     many store pages); --seed makes them deterministic
  --signature-field  an empty, invisible signature field (object 6, named Signature1): what
                     `mutool sign` needs to sign a document (bench/sign.c)
Also importable: write_pdf(path, text, padding_kib=0, rng=None, signature_field=False).
"""
import argparse
import random


def write_pdf(path, text="Document", padding_kib=0, rng=None, signature_field=False):
    rng = rng or random.Random()
    lines = padding_kib * 1024 // 67
    pad = b"".join(b"%% %s\n" % rng.getrandbits(256).to_bytes(32, "big").hex().encode() for _ in range(lines))
    content = b"BT /F1 24 Tf 72 720 Td (%s) Tj ET\n" % text.encode("latin-1") + pad
    form = b" /AcroForm << /Fields [6 0 R] >>" if signature_field else b""
    annots = b" /Annots [6 0 R]" if signature_field else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R%s >>" % form,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >>%s >>" % annots,
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if signature_field:
        objects.append(b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /Rect [0 0 0 0] /F 132 /P 3 0 R >>")
    out, offsets = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    with open(path, "wb") as f:
        f.write(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--text", default="Document")
    ap.add_argument("--padding-kib", type=int, default=0)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--signature-field", action="store_true")
    a = ap.parse_args()
    rng = random.Random(a.seed) if a.seed is not None else None
    write_pdf(a.out, a.text, a.padding_kib, rng, a.signature_field)


if __name__ == "__main__":
    main()
