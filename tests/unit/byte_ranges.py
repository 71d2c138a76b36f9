#!/usr/bin/python3
"""byte_ranges.py PDF: every signature and document time-stamp of a signed PDF, checked from the
bytes alone, with Python's hashlib and openssl (nothing of the signer's):

  - its /ByteRange [0 b c d] leaves out exactly its /Contents hex string (<...>), and ranges later
    in the file reach further; the last one ends at the end of the file;
  - the SHA-256 of the two ranges, computed here, is the 32-byte OCTET STRING the DER in /Contents
    holds: the CMS's messageDigest attribute, or the time-stamp token's messageImprint;
  - openssl cms -verify (-noverify: the chains are other tests' business) verifies the DER: a
    CAdES signature over the ranges given as its detached content, a token over its own TSTInfo.

Prints "signatures=N timestamps=M bytes=L" and exits 0, or says why and exits 1."""
import hashlib
import os
import re
import subprocess
import sys
import tempfile

RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def der_length(der):
    """The length of the DER SEQUENCE at the start of der (the zero padding after it is dropped)."""
    if len(der) < 2 or der[0] != 0x30:
        raise ValueError("/Contents does not hold a DER SEQUENCE")
    if der[1] < 0x80:
        return 2 + der[1]
    octets = der[1] & 0x7F
    return 2 + octets + int.from_bytes(der[2 : 2 + octets], "big")


def openssl_verify(der, content, directory, index):
    der_path = os.path.join(directory, "%d.der" % index)
    with open(der_path, "wb") as f:
        f.write(der)
    command = ["openssl", "cms", "-verify", "-noverify", "-inform", "DER", "-in", der_path, "-out", os.devnull]
    if content is not None:
        content_path = os.path.join(directory, "%d.bin" % index)
        with open(content_path, "wb") as f:
            f.write(content)
        command += ["-binary", "-content", content_path]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or "Verification successful" not in done.stderr:
        raise ValueError("openssl cms -verify: %s" % done.stderr.strip())


def main():
    with open(sys.argv[1], "rb") as f:
        pdf = f.read()
    signatures = timestamps = 0
    reach = 0
    with tempfile.TemporaryDirectory() as directory:
        for index, match in enumerate(RANGE.finditer(pdf)):
            a, b, c, d = (int(x) for x in match.groups())
            if a != 0 or not b < c <= c + d <= len(pdf) or pdf[b : b + 1] != b"<" or pdf[c - 1 : c] != b">":
                raise ValueError("byte range %s does not leave out a /Contents string" % [a, b, c, d])
            if pdf.find(b"/Contents", match.end()) + len(b"/Contents") != b:
                raise ValueError("byte range %s: its /Contents is not the next one" % [a, b, c, d])
            if c + d <= reach:
                raise ValueError("byte range %s ends before an earlier one's (%d)" % ([a, b, c, d], reach))
            reach = c + d
            digest = hashlib.sha256(pdf[a:b] + pdf[c : c + d]).digest()
            contents = bytes.fromhex(pdf[b + 1 : c - 1].decode("ascii"))
            der = contents[: der_length(contents)]
            if b"\x04\x20" + digest not in der:
                raise ValueError("signature %d: its DER does not hold the SHA-256 of its byte range" % index)
            end = pdf.find(b"endobj", match.end())
            is_timestamp = b"/ETSI.RFC3161" in pdf[match.end() : end]
            openssl_verify(der, None if is_timestamp else pdf[a:b] + pdf[c : c + d], directory, index)
            timestamps += is_timestamp
            signatures += not is_timestamp
    if reach != len(pdf):
        raise ValueError("the last byte range ends at %d, the file at %d" % (reach, len(pdf)))
    print("signatures=%d timestamps=%d bytes=%d" % (signatures, timestamps, len(pdf)))


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError) as e:
        print("byte_ranges.py: %s" % e)
        sys.exit(1)
