#!/usr/bin/python3
"""dss_check.py PDF CA_PEM [--ocsp N] [--cert-serial HEX]... [--crl-revoked HEX]...: the PAdES B-LT
document security store of a signed PDF, read by qpdf (not by the signer's mupdf): the catalog's
/DSS holds /Certs (DER certificates), /CRLs (DER CRLs) and /OCSPs (DER OCSP responses); every CRL
verifies against CA_PEM (openssl crl), every certificate chains to CA_PEM (openssl verify), and
every OCSP response verifies against CA_PEM and says "good" (openssl ocsp); --ocsp N requires at
least N of them; --cert-serial requires a certificate of that serial among /Certs (openssl x509
-serial); --attime checks the certificates at that time (the signing time: an external signer's
one-shot certificate lives a day); --crl-revoked requires a CRL that lists that serial with a revocation reason (openssl crl
-text). Prints "DSS certs=N crls=M ocsps=K" and the certificates' serials, and exits 0, or says
why, exit 1."""
import base64
import json
import os
import subprocess
import sys
import tempfile


def main():
    pdf, ca = sys.argv[1], sys.argv[2]
    ocsp_min, want_serials, want_revoked, attime = 0, [], [], []
    rest = sys.argv[3:]
    while rest:
        if len(rest) < 2 or rest[0] not in ("--ocsp", "--cert-serial", "--crl-revoked", "--attime"):
            sys.exit("usage: dss_check.py PDF CA_PEM [--ocsp N] [--attime EPOCH] [--cert-serial HEX]... "
                     "[--crl-revoked HEX]...")
        if rest[0] == "--ocsp":
            ocsp_min = int(rest[1])
        elif rest[0] == "--attime":
            attime = ["-attime", str(int(rest[1]))]
        else:
            (want_serials if rest[0] == "--cert-serial" else want_revoked).append(rest[1].upper())
        rest = rest[2:]
    out = subprocess.run(["qpdf", "--json=2", "--json-stream-data=inline", "--decode-level=none", pdf],
                         capture_output=True, text=True)
    if out.returncode not in (0, 3):
        sys.exit(f"qpdf failed: {out.stderr}")
    objects = json.loads(out.stdout)["qpdf"][1]

    def get(ref):
        return objects.get("obj:" + ref) if isinstance(ref, str) else ref

    root = get(objects["trailer"]["value"]["/Root"])["value"]
    dss = get(root.get("/DSS"))
    if not dss:
        sys.exit("no /DSS in the catalog")
    dss = dss.get("value", dss)
    blobs = {}
    for key in ("/Certs", "/CRLs", "/OCSPs"):
        refs = dss.get(key)
        refs = get(refs).get("value", refs) if isinstance(refs, str) else refs
        blobs[key] = [base64.b64decode(get(r)["stream"]["data"]) for r in (refs or [])]
    if not blobs["/Certs"] or not blobs["/CRLs"] or len(blobs["/OCSPs"]) < ocsp_min:
        sys.exit(f"/DSS holds {len(blobs['/Certs'])} certificates, {len(blobs['/CRLs'])} CRLs and "
                 f"{len(blobs['/OCSPs'])} OCSP responses")
    serials = []
    with tempfile.TemporaryDirectory() as d:
        for i, crl in enumerate(blobs["/CRLs"]):
            path = os.path.join(d, f"crl{i}.der")
            open(path, "wb").write(crl)
            r = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", path, "-CAfile", ca, "-noout"],
                               capture_output=True, text=True)
            if r.returncode != 0 or "verify OK" not in r.stdout + r.stderr:
                sys.exit(f"CRL {i} does not verify: {r.stdout}{r.stderr}")
            text = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", path, "-noout", "-text"],
                                  capture_output=True, text=True).stdout
            for serial in list(want_revoked):
                at = text.find(f"Serial Number: {serial}")
                if at >= 0 and "CRL Reason Code" in text[at:at + 300]:
                    want_revoked.remove(serial)
        for i, response in enumerate(blobs["/OCSPs"]):
            path = os.path.join(d, f"ocsp{i}.der")
            open(path, "wb").write(response)
            r = subprocess.run(["openssl", "ocsp", "-respin", path, "-CAfile", ca, "-resp_text"],
                               capture_output=True, text=True)
            said = r.stdout + r.stderr
            if r.returncode != 0 or "Response verify OK" not in said or "Cert Status: good" not in said:
                sys.exit(f"OCSP response {i} does not verify or is not good: {said[-600:]}")
        for i, cert in enumerate(blobs["/Certs"]):
            path = os.path.join(d, f"cert{i}.der")
            pem = path + ".pem"
            open(path, "wb").write(cert)
            subprocess.run(["openssl", "x509", "-inform", "DER", "-in", path, "-out", pem], check=True)
            r = subprocess.run(["openssl", "verify", "-partial_chain", "-CAfile", ca, "-purpose", "any"] + attime + [pem],
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"certificate {i} does not chain to the CA: {r.stdout}{r.stderr}")
            serial = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-serial"], capture_output=True,
                                    text=True).stdout.strip().removeprefix("serial=")
            serials.append(serial)
    missing = [s for s in want_serials if s not in serials]
    if missing:
        sys.exit(f"no certificate of serial {missing[0]} in /DSS /Certs (serials: {' '.join(serials)})")
    if want_revoked:
        sys.exit(f"no CRL in /DSS /CRLs lists {want_revoked[0]} as revoked")
    print(f"DSS certs={len(blobs['/Certs'])} crls={len(blobs['/CRLs'])} ocsps={len(blobs['/OCSPs'])} "
          f"serials={','.join(serials)}")


if __name__ == "__main__":
    main()
