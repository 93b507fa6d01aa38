#!/usr/bin/env python3
"""The smallest host side of snpbuild's wire protocol, for the orchestration
benchmark's baseline: connects to QEMU's virtio-serial socket, answers the
agent's HELLO with a job and its source, reads until RESULT, acknowledges."""
import hashlib
import socket
import struct
import sys
import time

HELLO, LOG, RESULT, JOB, SOURCE_DATA, SOURCE_END, ACK = 1, 2, 8, 32, 33, 34, 35


def frame(kind, payload=b""):
    return struct.pack("<HHI", kind, 0, len(payload)) + payload


def main():
    sock_path, job_path, source_path = sys.argv[1:4]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(600):
        try:
            s.connect(sock_path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.05)
    buf = b""

    def next_frame():
        nonlocal buf
        while True:
            if len(buf) >= 8:
                kind, _, n = struct.unpack("<HHI", buf[:8])
                if len(buf) >= 8 + n:
                    payload, buf = buf[8:8 + n], buf[8 + n:]
                    return kind, payload
            chunk = s.recv(1 << 16)
            if not chunk:
                raise SystemExit("chan-peer: guest closed the channel")
            buf += chunk

    kind, _ = next_frame()
    assert kind == HELLO, kind
    job = open(job_path, "rb").read()
    src = open(source_path, "rb").read()
    s.sendall(frame(JOB, job))
    for i in range(0, len(src), 256 * 1024):
        s.sendall(frame(SOURCE_DATA, src[i:i + 256 * 1024]))
    s.sendall(frame(SOURCE_END, hashlib.sha256(src).digest()))
    while True:
        kind, payload = next_frame()
        if kind == RESULT:
            s.sendall(frame(ACK))
            print(payload.decode(), file=sys.stderr)
            break
    # QEMU exits when the guest powers off; keep the socket open until then.
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass


if __name__ == "__main__":
    main()
