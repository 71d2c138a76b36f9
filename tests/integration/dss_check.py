#!/usr/bin/python3
"""dss_check.py PDF CA_PEM [--ocsp N]: the PAdES B-LT document security store of a signed PDF, read
by qpdf (not by the signer's mupdf): the catalog's /DSS holds /Certs (DER certificates), /CRLs
(DER CRLs) and /OCSPs (DER OCSP responses); every CRL verifies against CA_PEM (openssl crl),
every certificate chains to CA_PEM (openssl verify), and every OCSP response verifies against
CA_PEM and says "good" (openssl ocsp); --ocsp N requires at least N of them. Prints
"DSS certs=N crls=M ocsps=K" and exits 0, or says why, exit 1."""
import base64
import json
import os
import subprocess
import sys
import tempfile


def main():
    pdf, ca = sys.argv[1], sys.argv[2]
    ocsp_min = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--ocsp" else 0
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
    with tempfile.TemporaryDirectory() as d:
        for i, crl in enumerate(blobs["/CRLs"]):
            path = os.path.join(d, f"crl{i}.der")
            open(path, "wb").write(crl)
            r = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", path, "-CAfile", ca, "-noout"],
                               capture_output=True, text=True)
            if r.returncode != 0 or "verify OK" not in r.stdout + r.stderr:
                sys.exit(f"CRL {i} does not verify: {r.stdout}{r.stderr}")
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
            r = subprocess.run(["openssl", "verify", "-partial_chain", "-CAfile", ca, "-purpose", "any", pem],
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"certificate {i} does not chain to the CA: {r.stdout}{r.stderr}")
    print(f"DSS certs={len(blobs['/Certs'])} crls={len(blobs['/CRLs'])} ocsps={len(blobs['/OCSPs'])}")


if __name__ == "__main__":
    main()
