"""What one broadcast writes where: a channel's targets split between the
event loop and the sender processes (server.ws_senders), and the loop's own
writes.

A transport that holds nothing unsent and is not closing can take the frame
straight on its socket; that is nearly every transport at every broadcast, so
the check and the writes run inside map() rather than a Python-level loop.
"""

from __future__ import annotations

import array
import os
from collections.abc import Callable, Sequence
from operator import methodcaller
from typing import TYPE_CHECKING, Any

from server.ws_sender_process import write_each

if TYPE_CHECKING:
    from server.ws_senders import Sender


class Plan:
    """One channel's targets, split: the loop's own share (with each one's
    descriptor, -1 where it must go through the transport) and each sender's."""

    __slots__ = ("closing_of", "own", "own_direct", "own_fds", "shares", "size_of")

    def __init__(
        self,
        own: tuple[Any, ...],
        own_fds: tuple[int, ...],
        shares: list[tuple[Sender, tuple[Any, ...], array.array[int]]],
    ) -> None:
        self.own = own
        self.own_fds = own_fds
        self.own_direct = -1 not in own_fds
        self.shares = shares
        everyone = own + tuple(t for _, group, _ in shares for t in group)
        self.size_of = _method(everyone, "get_write_buffer_size")
        self.closing_of = _method(everyone, "is_closing")

    def clean(self, transports: tuple[Any, ...]) -> bool:
        """Whether none of `transports` holds unsent bytes or is closing, so
        each can take the frame straight on its socket (the usual case,
        checked without a Python-level loop)."""
        return not any(map(self.size_of, transports)) and not any(map(self.closing_of, transports))


def write_through(transports: Sequence[Any], framed: bytes, limit: int, behind: list[Any]) -> int:
    """Write `framed` through each transport, as any other write would go."""
    sent = 0
    for transport in transports:
        if transport.get_write_buffer_size() <= limit:
            if not transport.is_closing():
                transport.write(framed)
                sent += 1
        else:
            behind.append(transport)
    return sent


def write_own(plan: Plan, framed: bytes, limit: int, behind: list[Any]) -> int:
    """The loop's share: straight to the socket where the transport holds
    nothing unsent (as a sender would), else through the transport."""
    size = len(framed)
    if plan.own_direct and plan.clean(plan.own):
        took = write_each(plan.own_fds, framed)
        if took.count(size) != len(took):
            for transport, written in zip(plan.own, took, strict=True):
                if written != size:  # full or gone: the transport finds out which
                    transport.write(framed[written:])
        return len(took)
    sent = 0
    write = os.write
    for transport, fd in zip(plan.own, plan.own_fds, strict=True):
        held = transport.get_write_buffer_size()
        if held > limit:
            behind.append(transport)
            continue
        if transport.is_closing():
            continue
        sent += 1
        if held or fd < 0:
            transport.write(framed)
            continue
        try:
            written = write(fd, framed)
        except OSError:  # full or gone: the transport finds out which
            written = 0
        if written != size:
            transport.write(framed[written:])
    return sent


def _method(transports: Sequence[Any], name: str) -> Callable[[Any], Any]:
    """The method `name` of every transport as one callable: unbound where
    all are of one type, which map() then calls at C speed."""
    kinds = {type(t) for t in transports}
    return getattr(kinds.pop(), name) if len(kinds) == 1 else methodcaller(name)


def fd_of(transport: Any) -> int:
    """The socket's descriptor, for plain (not TLS) transports only; else -1."""
    if transport.is_closing() or transport.get_extra_info("sslcontext") is not None:
        return -1
    sock = transport.get_extra_info("socket")
    return -1 if sock is None else int(sock.fileno())
