"""Many WebSocket clients in one process, as cheap as a client can be.

Each client is a bare asyncio protocol that does the upgrade, subscribes to
"rates" and then only splits frames, counts updates and takes each update's
latency (receive time minus the `as_of` the server stamped at publish time).
Keeping the clients cheap leaves the CPU to the server being measured.

The slow reader is a client on a poor link: it takes what its small receive
buffer holds once a second, a few KiB. That keeps up with the fixed rate, so
it answers its pings, but falls far behind in the burst. Its frames are not
counted with the others'.

Commands arrive on a pipe from `bench.fanout` (and `bench.soak`): connect,
churn (close some clients and open as many new ones), reset, report, drain,
stop.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import socket
import threading
import time
from datetime import datetime
from typing import Any, cast

from bench.fanout_server import pin, raise_fd_limit

SUBSCRIBE = b'{"op":"subscribe","channel":"rates"}'
# The slow reader takes every rate channel, so it falls behind twice as fast.
SUBSCRIBE_ALL = [SUBSCRIBE] + [
    b'{"op":"subscribe","channel":"rates:%s"}' % p
    for p in (b"30y_fixed", b"15y_fixed", b"5_6_arm", b"fha_30", b"va_30", b"jumbo_30")
]
_AS_OF = b'"as_of":"'


def client_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A masked client frame; the zero mask leaves the payload as it is."""
    assert len(payload) < 126
    return bytes((0x80 | opcode, 0x80 | len(payload))) + b"\0\0\0\0" + payload


class Tally:
    def __init__(self) -> None:
        self.ready = 0
        self.reset(False)
        self.closes: dict[int, int] = {}

    def reset(self, latency: bool) -> None:
        self.updates = 0
        self.conflated = 0
        self.latency = latency
        # per update (its stamp, parsed once): publish time and the latencies seen
        self.stamps: dict[bytes, tuple[float, list[float]]] = {}
        self.first = 0.0
        self.last = 0.0


class Peer(asyncio.Protocol):
    def __init__(self, tally: Tally, host: str, port: int, slow: bool = False) -> None:
        self.tally = tally
        self.counts = Tally() if slow else tally
        self.host, self.port = host, port
        self.slow = slow
        self.buf = bytearray()
        self.upgraded = False
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            (
                f"GET /ws HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.buf:
            self.buf += data
            data = bytes(self.buf)
            self.buf.clear()
        if not self.upgraded:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.buf += data
                return
            if not data.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(data[:80])
            data = data[end + 4 :]
            self.upgraded = True
            assert self.transport is not None
            if self.slow:
                self.transport.write(b"".join(client_frame(s) for s in SUBSCRIBE_ALL))
                self.tally.ready += 1
                self.transport.pause_reading()
                asyncio.get_running_loop().call_later(1.0, self.sip)
                return
            self.transport.write(client_frame(SUBSCRIBE))
        elif self.slow:
            self.transport.pause_reading()  # type: ignore[union-attr]
        pos, size = 0, len(data)
        tally = self.counts
        while size - pos >= 2:
            length = data[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                head = 10
            end = pos + head + length
            if end > size:
                break
            opcode = data[pos] & 0x0F
            if opcode == 0x1:
                self.text(data[pos + head : end] if pos or end < size else data[head:], tally)
            elif opcode == 0x9:
                self.transport.write(client_frame(data[pos + head : end], 0xA))  # type: ignore[union-attr]
            elif opcode == 0x8:
                code = int.from_bytes(data[pos + head : pos + head + 2], "big") if length else 1005
                self.tally.closes[code] = self.tally.closes.get(code, 0) + 1
            pos = end
        if pos < size:
            self.buf += data[pos:]

    def sip(self) -> None:
        """Read once (data_received pauses again), and again in a second."""
        if self.slow and not self.closed.done():
            assert self.transport is not None
            self.transport.resume_reading()
            asyncio.get_running_loop().call_later(1.0, self.sip)

    @staticmethod
    def text(payload: bytes, tally: Tally) -> None:
        if payload.startswith(b'{"op":"update"'):
            now = time.time()
            tally.updates += 1
            if not tally.first:
                tally.first = now
            tally.last = now
            if b'"conflated":true' in payload:
                tally.conflated += 1
            if tally.latency:
                start = payload.find(_AS_OF) + len(_AS_OF)
                stamp = payload[start : payload.find(b'"', start)]
                seen = tally.stamps.get(stamp)
                if seen is None:
                    sent = datetime.fromisoformat(stamp.decode()).timestamp()
                    seen = tally.stamps[stamp] = (sent, [])
                seen[1].append(now - seen[0])
        elif payload.startswith(b'{"op":"subscribed"'):
            tally.ready += 1


async def open_peers(
    tally: Tally, host: str, port: int, count: int, *, plain: bool, slow: bool
) -> list[Peer]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(100)
    peers: list[Peer] = []
    already = tally.ready

    async def one() -> None:
        async with gate:
            sock = None
            if slow:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.setblocking(False)
                await loop.sock_connect(sock, (host, port))
                _, peer = await loop.create_connection(
                    lambda: Peer(tally, host, port, slow=True), sock=sock
                )
            else:
                _, peer = await loop.create_connection(lambda: Peer(tally, host, port), host, port)
            peers.append(peer)

    await asyncio.gather(*(one() for _ in range(count)))
    # the plain servers send nothing on subscribe: count an upgrade as ready
    while True:
        ready = sum(p.upgraded for p in peers) if plain else tally.ready - already
        if ready >= count:
            return peers
        await asyncio.sleep(0.05)


def main(pipe: Any, cpus: set[int] | None = None) -> None:
    raise_fd_limit()
    pin(cpus)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def run() -> None:
        loop = asyncio.get_running_loop()
        tally = Tally()
        peers: list[Peer] = []
        inbox: asyncio.Queue[Any] = asyncio.Queue()

        def listen() -> None:  # a thread: the pipe must stay a blocking file
            while True:
                command = pipe.recv()
                loop.call_soon_threadsafe(inbox.put_nowait, command)
                if command[0] == "stop":
                    return

        threading.Thread(target=listen, daemon=True).start()
        while True:
            command, *args = await inbox.get()
            if command == "connect":
                host, port, count, plain, slow = args
                peers += await open_peers(tally, host, port, count, plain=plain, slow=slow)
                gc.collect()
                gc.freeze()  # thousands of long-lived peers: keep them out of GC passes
                pipe.send(len(peers))
            elif command == "churn":
                host, port, count, plain = args
                leaving = [p for p in peers if not p.slow][:count]
                for peer in leaving:
                    peers.remove(peer)
                    if peer.transport is not None:
                        peer.transport.close()
                peers += await open_peers(tally, host, port, count, plain=plain, slow=False)
                pipe.send(len(peers))
            elif command == "reset":
                tally.reset(args[0])
                pipe.send(time.process_time())
            elif command == "report":
                pipe.send(
                    {
                        "updates": tally.updates,
                        "conflated": tally.conflated,
                        "latencies": {sent: seen for sent, seen in tally.stamps.values()},
                        "first": tally.first,
                        "last": tally.last,
                        "closes": dict(tally.closes),
                        "open": sum(not p.closed.done() for p in peers),
                        "cpu": time.process_time(),
                    }
                )
            elif command == "drain":
                # the slow reader reads all it can: what did the server leave it?
                for peer in peers:
                    if peer.slow and peer.transport is not None:
                        peer.slow = False
                        peer.transport.resume_reading()
                await asyncio.sleep(args[0])
                pipe.send(dict(tally.closes))
            elif command == "stop":
                for peer in peers:
                    if peer.transport is not None:
                        peer.transport.abort()
                pipe.send(True)
                return

    asyncio.run(run())
