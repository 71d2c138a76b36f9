#!/usr/bin/python3
"""tsa_responder.py --port-file F --mode-file M --log L --ok CNF --untrusted CNF [--crl FILE]: an RFC 3161
time-stamping authority over HTTP (RFC 3161 section 3.4) for the tests, sharing no code with the
signer: every POST of an application/timestamp-query is answered by `openssl ts -reply` with the
configuration CNF (section tsa_config). It listens on 127.0.0.1 on a free port, written to F.

The first word of M, read at each request, says how to answer:
  ok         a token by the authority of --ok
  untrusted  a token by the authority of --untrusted (another CA)
  error      HTTP 500
  garbage    HTTP 200, application/timestamp-reply, bytes that are no TimeStampResp
Each request appends "MODE BYTES" to L. With --crl, a GET of /crl answers FILE's bytes as
application/pkix-crl (404 while there is no FILE), and appends "crl BYTES" to L."""
import argparse
import http.server
import os
import subprocess
import tempfile


def main():
    ap = argparse.ArgumentParser()
    for name in ("--port-file", "--mode-file", "--log", "--ok", "--untrusted"):
        ap.add_argument(name, required=True)
    ap.add_argument("--crl")
    args = ap.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def answer(self, status, body, kind="application/timestamp-reply"):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != "/crl" or not args.crl or not os.path.exists(args.crl):
                return self.answer(404, b"no such CRL", "text/plain")
            body = open(args.crl, "rb").read()
            with open(args.log, "a") as log:
                log.write(f"crl {len(body)}\n")
            self.answer(200, body, "application/pkix-crl")

        def do_POST(self):
            query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            mode = open(args.mode_file).read().split()[0]
            with open(args.log, "a") as log:
                log.write(f"{mode} {len(query)}\n")
            if self.headers.get("Content-Type") != "application/timestamp-query":
                return self.answer(415, b"not a time-stamp query", "text/plain")
            if mode == "error":
                return self.answer(500, b"unavailable", "text/plain")
            if mode == "garbage":
                return self.answer(200, b"\x30\x03\x02\x01\x07")
            config = args.ok if mode == "ok" else args.untrusted
            with tempfile.NamedTemporaryFile() as q, tempfile.NamedTemporaryFile() as r:
                q.write(query)
                q.flush()
                out = subprocess.run(["openssl", "ts", "-reply", "-config", config, "-section", "tsa_config",
                                      "-queryfile", q.name, "-out", r.name], capture_output=True)
                if out.returncode != 0:
                    return self.answer(500, out.stderr, "text/plain")
                self.answer(200, open(r.name, "rb").read())

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
