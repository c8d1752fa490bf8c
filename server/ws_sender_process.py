"""The sender process (see server.ws_senders): holds duplicates of WebSocket
descriptors handed over by the event loop and writes the frames it is asked
to, reporting each write it could not finish. Run as a script; it imports
nothing of Rateline, so it starts fast and stays small.

Messages on the SOCK_SEQPACKET pair, one byte of kind first:
  A ids          adopt: the descriptors ride along (SCM_RIGHTS), one per id
  F id           forget: close that descriptor
  W size frame ids   write `frame` to each id's socket
  D (id, written)*   the reply to W: the writes that did not finish
  R              sent once at start: ready
"""

from __future__ import annotations

import array
import json
import os
import resource
import signal
import socket
import struct
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import repeat

ADOPT, FORGET, WRITE, DONE, READY = b"A", b"F", b"W", b"D", b"R"
MAX_MESSAGE = 1 << 20
FDS_PER_MESSAGE = 200  # under the kernel's SCM_MAX_FD (253)
U32 = struct.Struct("=I")


def write_each(fds: Iterable[int], frame: bytes) -> list[int]:
    """Write `frame` to each descriptor; returns the bytes each took, 0 where
    the write failed (full, gone, unknown).

    The loop runs inside map() and list.extend(), which resumes where an
    error stopped it: a broadcast writes to thousands of sockets, and a
    Python-level loop would add the interpreter's overhead to every send."""
    written: list[int] = []
    writes = map(os.write, fds, repeat(frame))
    while True:
        try:
            written.extend(writes)
            return written
        except OSError:
            written.append(0)


def serve(sock: socket.socket) -> None:
    """Hold the descriptors handed over and write what the loop asks, until EOF."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    fds: dict[int, int] = {}
    sock.send(READY)
    while True:
        message, received, _, _ = socket.recv_fds(sock, MAX_MESSAGE, FDS_PER_MESSAGE)
        if not message:
            return
        op, body = message[:1], message[1:]
        if op == WRITE:
            (size,) = U32.unpack_from(body)
            frame = body[4 : 4 + size]
            ids = array.array("I")
            ids.frombytes(body[4 + size :])
            written = write_each(map(fds.get, ids, repeat(-1)), frame)
            unfinished = array.array("I")
            if written.count(size) != len(written):
                for ident, took in zip(ids, written, strict=True):
                    if took != size:
                        unfinished.append(ident)
                        unfinished.append(took)
            sock.send(DONE + unfinished.tobytes())
        elif op == ADOPT:
            ids = array.array("I")
            ids.frombytes(body)
            for ident, fd in zip(ids, received, strict=True):
                os.set_blocking(fd, False)
                fds[ident] = fd
        elif op == FORGET:
            fd = fds.pop(U32.unpack(body)[0], -1)
            if fd >= 0:
                os.close(fd)


def crashed(exc: BaseException) -> str:
    """One log line in the server's JSON shape: the server's stderr is shared."""
    entry = {
        "time": datetime.now(UTC).isoformat(),
        "level": "error",
        "logger": "rateline.ws.sender",
        "message": f"WebSocket sender process failed: {exc!r}",
    }
    return json.dumps(entry)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server's Ctrl-C is the server's to handle
    try:
        serve(socket.socket(fileno=int(sys.argv[1])))
    except Exception as exc:
        print(crashed(exc), file=sys.stderr)
        sys.exit(1)
