"""Sender processes: one broadcast written from more than one core.

Most of a broadcast's time is the kernel's send to each socket, and the event
loop makes those calls one after another on one core. With senders, the hub
hands a share of a large broadcast's sockets to helper processes that hold
duplicates of those sockets' descriptors and write the same frame bytes to
them while the loop writes its own share. Processes, not threads: a thread
would give up the GIL at every send, and any busy actor thread could then
stall the broadcast.

Bytes on a socket stay in order: only sockets whose transport holds nothing
unsent are handed out, and the loop waits for the senders' reports before it
does anything else. A sender that cannot finish a write (the socket's buffer
is full, the peer is gone) reports how far it got, and the loop writes the
rest through the transport, which then deals with backpressure and errors as
for any other write.

The sender process is server/ws_sender_process.py run as a script. The
senders start once the server holds `min_targets` connections (the hub calls
`start`); broadcasts are the loop's alone until they report ready, and again
if one dies. A sender that dies or hangs (no report within `reply_timeout`)
after taking a job leaves its clients' state unknown: they are closed with
1012 and recover their place with `since`.
"""

from __future__ import annotations

import array
import contextlib
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from server import ws_sender_process as process
from server.ws_conn import SENDERS
from server.ws_plan import Plan, fd_of, write_own, write_through
from server.ws_sender_process import (
    ADOPT,
    DONE,
    FDS_PER_MESSAGE,
    FORGET,
    MAX_MESSAGE,
    READY,
    U32,
    WRITE,
)

log = logging.getLogger("rateline.ws")

MAX_FRAME = 256 * 1024


class Sender:
    """The loop's end of one sender process."""

    def __init__(self, index: int, timeout: float) -> None:
        self.index = index
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        for end in (self.sock, theirs):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, MAX_MESSAGE * 2)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, MAX_MESSAGE * 2)
        self.sock.settimeout(timeout)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", os.path.abspath(process.__file__), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self.ids: dict[Any, int] = {}
        self.transports: dict[int, Any] = {}
        self.next_id = 0
        self.alive = True
        self.ready = False

    def poll_ready(self) -> bool:
        """Whether the process has said it is ready (never waits)."""
        if self.alive and not self.ready:
            try:
                said = self.sock.recv(16, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return False
            except OSError:
                said = b""
            self.ready = said == READY
            self.alive = self.ready  # anything else: it died starting
        return self.ready

    def adopt(self, transports: Sequence[Any], fds: Sequence[int]) -> None:
        for start in range(0, len(fds), FDS_PER_MESSAGE):
            batch = array.array("I")
            for transport in transports[start : start + FDS_PER_MESSAGE]:
                self.next_id += 1
                self.ids[transport] = self.next_id
                self.transports[self.next_id] = transport
                batch.append(self.next_id)
            socket.send_fds(
                self.sock, [ADOPT + batch.tobytes()], fds[start : start + FDS_PER_MESSAGE]
            )

    def forget(self, transport: Any) -> None:
        ident = self.ids.pop(transport, None)
        if ident is not None:
            del self.transports[ident]
            if self.alive:
                self.sock.send(FORGET + U32.pack(ident))

    def stop(self, wait: float = 2.0) -> None:
        """Close our end (the process exits on EOF); kill it if it lingers."""
        self.alive = False
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=wait)
            return
        self.proc.kill()
        self.proc.wait()


class Senders:
    """Hands shares of broadcasts to `min_targets` or more subscribers to
    `count` sender processes."""

    def __init__(self, count: int, min_targets: int, reply_timeout: float = 2.0) -> None:
        """`count` < 0: one sender per CPU beyond the first, at most four."""
        if count < 0:
            cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
            count = min(4, (cpus or os.cpu_count() or 1) - 1)
        self.count = count
        self.min_targets = min_targets
        self.reply_timeout = reply_timeout
        self.senders: list[Sender] = []
        self._next = 0
        self._own: set[Any] = set()
        self._fds: dict[Any, int] = {}
        self._starting = False
        # Set when the senders that can take work changed (one became ready or
        # died): the hub must draw its cached plans again.
        self.replan = False

    def fd(self, transport: Any) -> int:
        """The transport's socket descriptor (-1: write through the transport),
        looked up once: plans are drawn again whenever subscribers change."""
        fd = self._fds.get(transport)
        if fd is None:
            fd = self._fds[transport] = fd_of(transport)
        return fd

    def _loop_only(self, transports: tuple[Any, ...]) -> Plan:
        return Plan(transports, [])

    def plan(self, transports: tuple[Any, ...]) -> Plan:
        """Split a channel's targets between the loop and the ready senders."""
        if len(transports) < self.min_targets or self.count <= 0:
            return self._loop_only(transports)
        live = [s for s in self.senders if s.alive and s.ready]
        if not live:
            return self._loop_only(transports)
        own: list[Any] = []
        mine: dict[Sender, list[Any]] = {s: [] for s in live}
        newcomers: dict[Sender, tuple[list[Any], list[int]]] = {s: ([], []) for s in live}
        for transport in transports:
            sender = self._sender_of(transport, live)
            if sender is None:
                own.append(transport)
                continue
            mine[sender].append(transport)
            if transport not in sender.ids:
                fd = self.fd(transport)
                if fd < 0:
                    mine[sender].pop()
                    own.append(transport)
                    self._own.add(transport)
                    continue
                newcomers[sender][0].append(transport)
                newcomers[sender][1].append(fd)
        shares = []
        for sender in live:
            adopted, fds = newcomers[sender]
            if adopted:
                try:
                    sender.adopt(adopted, fds)
                except OSError:
                    self._lost(sender)
                    return self.plan(transports)
            group = tuple(mine[sender])
            shares.append((sender, group, array.array("I", [sender.ids[t] for t in group])))
        return Plan(tuple(own), shares)

    def _sender_of(self, transport: Any, live: list[Sender]) -> Sender | None:
        for sender in live:
            if transport in sender.ids:
                return sender
        if transport in self._own:
            return None
        self._next = (self._next + 1) % (len(live) + 1)
        if self._next == 0:
            self._own.add(transport)
            return None
        return live[self._next - 1]

    def forget(self, transport: Any) -> None:
        self._own.discard(transport)
        self._fds.pop(transport, None)
        for sender in self.senders:
            if transport in sender.ids:
                try:
                    sender.forget(transport)
                except OSError:
                    self._lost(sender)

    def start(self) -> None:
        """Start the processes (once; the hub calls this as connections grow)."""
        if not self.senders and self.count > 0:
            try:
                self.senders = [Sender(i, self.reply_timeout) for i in range(self.count)]
                self._starting = True
            except OSError:
                log.exception("WebSocket sender processes did not start; the loop sends alone")
                self.count = 0

    def _count_alive(self) -> None:
        SENDERS.set(sum(s.alive and s.ready for s in self.senders))

    def ready(self) -> bool:
        """Whether every sender has started (looks, never waits)."""
        self._poll()
        return bool(self.senders) and all(s.ready for s in self.senders if s.alive)

    def changed(self) -> bool:
        """Whether the senders able to take work changed since the last call
        (one became ready or died), so that every cached plan is stale."""
        self._poll()
        if self.replan:
            self.replan = False
            return True
        return False

    def write(self, plan: Plan, framed: bytes, limit: int) -> tuple[int, list[Any], list[Any]]:
        """Write `framed` to every target of `plan`.

        Returns the frames sent, the transports over `limit` (behind), and the
        transports whose sender died or hung (no report within the reply
        timeout) after taking the job: whether their frame went out is
        unknown, so the hub closes them and they recover with `since`."""
        sent = 0
        behind: list[Any] = []
        lost: list[Any] = []
        asked: list[tuple[Sender, array.array[int]]] = []
        if len(framed) <= MAX_FRAME:
            for sender, transports, ids in plan.shares:
                if plan.clean(transports):
                    ready = ids
                else:
                    ready = array.array("I")
                    for transport, ident in zip(transports, ids, strict=True):
                        size = transport.get_write_buffer_size()
                        if size == 0:
                            if not transport.is_closing():
                                ready.append(ident)
                        elif size <= limit:
                            transport.write(framed)
                            sent += 1
                        else:
                            behind.append(transport)
                if not ready:
                    continue
                try:
                    sender.sock.send(WRITE + U32.pack(len(framed)) + framed + ready.tobytes())
                except OSError:  # it never got the job: the loop does it
                    self._lost(sender)
                    mine = [sender.transports[i] for i in ready]
                    sent += write_through(mine, framed, limit, behind)
                    continue
                asked.append((sender, ready))
        else:
            for _, transports, _ in plan.shares:
                sent += write_through(transports, framed, limit, behind)
        sent += write_own(plan, framed, limit, behind)
        for sender, ready in asked:
            try:
                reply = sender.sock.recv(MAX_MESSAGE)
                if not reply.startswith(DONE):
                    raise ConnectionError("the sender closed its end")
            except OSError:
                self._lost(sender)
                lost.extend(sender.transports[i] for i in ready if i in sender.transports)
                continue
            unfinished = array.array("I")
            unfinished.frombytes(reply[1:])
            for at in range(0, len(unfinished), 2):
                transport = sender.transports.get(unfinished[at])
                if transport is not None:
                    transport.write(framed[unfinished[at + 1] :])
            sent += len(ready)
        return sent, behind, lost

    def close(self) -> None:
        """Stop the processes; this waits for them, so call it off the loop."""
        for sender in self.senders:
            sender.stop()
        self.senders = []
        self._count_alive()

    def _poll(self) -> None:
        if self._starting:
            for sender in self.senders:
                if not sender.ready and sender.poll_ready():
                    self.replan = True
            self._starting = any(s.alive and not s.ready for s in self.senders)
            self._count_alive()

    def _lost(self, sender: Sender) -> None:
        if sender.alive:
            log.error("WebSocket sender %d stopped; the loop takes its sockets", sender.index)
            sender.stop(wait=0.0)
        self.replan = True
        self._count_alive()
