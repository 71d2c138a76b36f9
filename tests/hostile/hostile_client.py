#!/usr/bin/env python3
"""Hostile peers of ledgerd's sockets, speaking nng's SP wire format by hand (RFC-like spec:
nng's docs/sp-tcp.adoc and sp-ipc.adoc): a connection starts with an 8-byte header
b"\\0SP\\0" + protocol (2 bytes, big-endian) + 2 reserved bytes; then each message is an 8-byte
big-endian length and the bytes (ipc adds a 1-byte message type 0x01 before the length). A
req0 message body starts with a 4-byte request id whose top bit is set.

Usage: hostile_client.py MODE URL [COUNT]
  slow-reader     sends COUNT framed requests (not protobuf: each earns a MALFORMED_REQUEST
                  reply) and never reads a reply; holds the connection until killed
  connect-close   COUNT bare connects, each closed at once
  handshake-quit  COUNT connections that send half an SP header and close
  oversized       one frame announcing COUNT bytes, then slow dribble of data, never finished
  unknown-fields  one request of COUNT bytes made only of unknown protobuf fields (3 bytes each);
                  reads the reply and prints "refused: <message>" or "answered: <bytes>"
Exits 0 once its part is done (slow-reader and oversized keep the connection open until killed).
"""
import os
import socket
import struct
import sys
import time

REQ0 = 0x30


def connect(url):
    if url.startswith("ipc://"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(url[len("ipc://"):])
        return s, True
    if url.startswith("tcp://"):
        host, port = url[len("tcp://"):].rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((host, int(port)))
        return s, False
    sys.exit(f"hostile_client: {url}: ipc:// or tcp:// only")


def header():
    return b"\0SP\0" + struct.pack(">H", REQ0) + b"\0\0"


def frame(body, ipc):
    return (b"\x01" if ipc else b"") + struct.pack(">Q", len(body)) + body


def slow_reader(url, count):
    s, ipc = connect(url)
    s.sendall(header())
    s.setblocking(False)
    pending = b"".join(frame(struct.pack(">I", 0x80000000 | (i + 1)) + b"\xff\xff not protobuf", ipc)
                       for i in range(count))
    # Send everything, never read: once the socket buffers are full, ledgerd's replies to
    # this peer cannot leave.
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        try:
            sent = s.send(pending)
            pending = pending[sent:]
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            break  # ledgerd evicted us: that is the point
    print("slow-reader: requests sent, not reading", flush=True)
    time.sleep(3600)


def connect_close(url, count):
    for _ in range(count):
        s, _ = connect(url)
        s.close()


def handshake_quit(url, count):
    for _ in range(count):
        s, _ = connect(url)
        s.sendall(header()[:4])
        s.close()


def oversized(url, count):
    s, ipc = connect(url)
    s.sendall(header())
    s.sendall((b"\x01" if ipc else b"") + struct.pack(">Q", count))
    try:
        while True:
            s.sendall(b"\0" * 1024)
            time.sleep(0.05)
    except OSError:
        pass  # refused and closed by ledgerd
    print("oversized: closed by the server", flush=True)
    time.sleep(3600)


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def unknown_fields(url, count):
    s, ipc = connect(url)
    s.sendall(header())
    recv_exact(s, 8)
    # Field 1000, varint wire type: tag 8000 = varint c0 3e, then the value 0.
    body = struct.pack(">I", 0x80000001) + b"\xc0\x3e\x00" * (count // 3)
    s.sendall(frame(body, ipc))
    s.settimeout(60)
    if ipc:
        recv_exact(s, 1)
    (n,) = struct.unpack(">Q", recv_exact(s, 8))
    reply = recv_exact(s, n)
    marker = b"would take more than"
    i = reply.find(marker)
    if i >= 0:
        print("refused: " + reply[i:i + 80].decode("utf-8", "replace"), flush=True)
    else:
        print(f"answered: {len(reply)} bytes", flush=True)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    mode, url = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    modes = {"slow-reader": slow_reader, "connect-close": connect_close, "handshake-quit": handshake_quit,
             "oversized": oversized, "unknown-fields": unknown_fields}
    if mode not in modes:
        sys.exit(f"hostile_client: unknown mode {mode}")
    modes[mode](url, count)


if __name__ == "__main__":
    main()
