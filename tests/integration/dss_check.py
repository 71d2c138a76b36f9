#!/usr/bin/python3
"""dss_check.py PDF CA_PEM [--ocsp N] [--vri N] [--crl FILE]: the PAdES B-LT document security store of a signed PDF, read
by qpdf (not by the signer's mupdf): the catalog's /DSS holds /Certs (DER certificates), /CRLs
(DER CRLs) and /OCSPs (DER OCSP responses); every CRL verifies against CA_PEM (openssl crl),
every certificate chains to CA_PEM (openssl verify), and every OCSP response verifies against
CA_PEM and says "good" (openssl ocsp); --ocsp N requires at least N of them. --vri N: the
/DSS's /VRI has exactly N entries, each keyed by the upper-case hex SHA-1 of the DER CMS in a
distinct signature's or document time-stamp's /Contents (without its zero padding; computed here
from qpdf's reading of the file), each with a /TU and /Cert, /CRL, /OCSP arrays whose every
stream is in the /DSS's /Certs, /CRLs, /OCSPs. --crl FILE: one of the /CRLs is FILE's bytes.
--cert-serial HEX (repeatable): a certificate of that serial is among /Certs (openssl x509 -serial).
--crl-revoked HEX (repeatable): a CRL lists that serial with a revocation reason (openssl crl -text).
--attime EPOCH: the certificates are checked at that time (the signing time: an external signer's
one-shot certificate lives a day). Prints "DSS certs=N crls=M ocsps=K vri=V serials=..." and
exits 0, or says why, exit 1."""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile


def main():
    pdf, ca = sys.argv[1], sys.argv[2]
    options = dict(zip(sys.argv[3::2], sys.argv[4::2]))
    ocsp_min = int(options.get("--ocsp", 0))
    vri_count = int(options["--vri"]) if "--vri" in options else None
    pairs = list(zip(sys.argv[3::2], sys.argv[4::2]))
    want_serials = [v.upper() for k, v in pairs if k == "--cert-serial"]
    want_revoked = [v.upper() for k, v in pairs if k == "--crl-revoked"]
    attime = ["-attime", str(int(options["--attime"]))] if "--attime" in options else []
    serials = []
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
    blobs, lists = {}, {}
    for key in ("/Certs", "/CRLs", "/OCSPs"):
        refs = dss.get(key)
        refs = get(refs).get("value", refs) if isinstance(refs, str) else refs
        lists[key] = set(refs or [])
        blobs[key] = [base64.b64decode(get(r)["stream"]["data"]) for r in (refs or [])]
    if "--crl" in options and open(options["--crl"], "rb").read() not in blobs["/CRLs"]:
        sys.exit(f"no CRL of the /DSS is {options['--crl']}")
    vri = check_vri(objects, get, dss, lists) if vri_count is not None else {}
    if vri_count is not None and len(vri) != vri_count:
        sys.exit(f"/VRI has {len(vri)} entries, not {vri_count}")
    if not blobs["/Certs"] or not blobs["/CRLs"] or len(blobs["/OCSPs"]) < ocsp_min:
        sys.exit(f"/DSS holds {len(blobs['/Certs'])} certificates, {len(blobs['/CRLs'])} CRLs and "
                 f"{len(blobs['/OCSPs'])} OCSP responses")
    with tempfile.TemporaryDirectory() as d:
        # The /DSS's certificates first: each chains to CA_PEM, the issuing CAs among them
        # (untrusted) allowed as intermediates; then they vouch for the CRLs and OCSP answers.
        pems = []
        for i, cert in enumerate(blobs["/Certs"]):
            path = os.path.join(d, f"cert{i}.der")
            pem = path + ".pem"
            open(path, "wb").write(cert)
            subprocess.run(["openssl", "x509", "-inform", "DER", "-in", path, "-out", pem], check=True)
            pems.append(pem)
        untrusted = os.path.join(d, "untrusted.pem")
        with open(untrusted, "w") as out:
            for pem in pems:
                out.write(open(pem).read())
        for i, pem in enumerate(pems):
            r = subprocess.run(["openssl", "verify", "-partial_chain", "-CAfile", ca, "-untrusted", untrusted,
                                "-purpose", "any"] + attime + [pem], capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"certificate {i} does not chain to the CA: {r.stdout}{r.stderr}")
            serial = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-serial"], capture_output=True,
                                    text=True).stdout.strip().removeprefix("serial=")
            serials.append(serial)
        chained = os.path.join(d, "chained.pem")  # CA_PEM and the certificates that chain to it
        with open(chained, "w") as out:
            out.write(open(ca).read())
            out.write(open(untrusted).read())
        for i, crl in enumerate(blobs["/CRLs"]):
            path = os.path.join(d, f"crl{i}.der")
            open(path, "wb").write(crl)
            r = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", path, "-CAfile", chained, "-noout"],
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
            r = subprocess.run(["openssl", "ocsp", "-respin", path, "-CAfile", ca, "-verify_other", untrusted,
                                "-resp_text"], capture_output=True, text=True)
            said = r.stdout + r.stderr
            if r.returncode != 0 or "Response verify OK" not in said or "Cert Status: good" not in said:
                sys.exit(f"OCSP response {i} does not verify or is not good: {said[-600:]}")
    missing = [s for s in want_serials if s not in serials]
    if missing:
        sys.exit(f"no certificate of serial {missing[0]} in /DSS /Certs (serials: {' '.join(serials)})")
    if want_revoked:
        sys.exit(f"no CRL in /DSS /CRLs lists {want_revoked[0]} as revoked")
    print(f"DSS certs={len(blobs['/Certs'])} crls={len(blobs['/CRLs'])} ocsps={len(blobs['/OCSPs'])} vri={len(vri)} "
          f"serials={','.join(serials)}")


def der_length(b):
    """The length of the DER value at the start of b (a SEQUENCE), its header included."""
    if len(b) < 2 or b[0] != 0x30:
        return 0
    if b[1] < 0x80:
        return b[1] + 2
    n = b[1] & 0x7F
    return int.from_bytes(b[2:2 + n], "big") + 2 + n


def check_vri(objects, get, dss, lists):
    """The /VRI entries, checked: {key: entry}."""
    digests = {}
    for name, obj in objects.items():
        value = obj.get("value") if isinstance(obj, dict) else None
        if not isinstance(value, dict) or "/ByteRange" not in value or "/Contents" not in value:
            continue
        contents = value["/Contents"]
        if not contents.startswith("b:"):
            sys.exit(f"{name}: /Contents is not a binary string: {contents[:40]}")
        raw = bytes.fromhex(contents[2:])
        digests[hashlib.sha1(raw[:der_length(raw)]).hexdigest().upper()] = name
    vri = get(dss.get("/VRI"))
    vri = vri.get("value", vri) if vri else {}
    wanted = {"/Cert": "/Certs", "/CRL": "/CRLs", "/OCSP": "/OCSPs"}
    for key, entry in vri.items():
        if key.lstrip("/") not in digests:
            sys.exit(f"/VRI key {key} is the SHA-1 of no signature's /Contents")
        entry = get(entry)
        entry = entry.get("value", entry)
        if "/TU" not in entry:
            sys.exit(f"/VRI {key} has no /TU")
        if "/Cert" not in entry:
            sys.exit(f"/VRI {key} names no certificate")
        for name, dss_list in wanted.items():
            refs = entry.get(name, [])
            refs = get(refs).get("value", refs) if isinstance(refs, str) else refs
            for r in refs:
                if r not in lists[dss_list]:
                    sys.exit(f"/VRI {key} {name} references {r}, which is not in the /DSS {dss_list}")
    return vri


if __name__ == "__main__":
    main()
