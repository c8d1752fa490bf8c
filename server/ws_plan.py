"""What one broadcast writes where: a channel's targets split between the
event loop and the sender processes (server.ws_senders), and the loop's own
writes.

A transport that holds nothing unsent and is not closing can take the frame
straight on its socket; that is nearly every transport at every broadcast, so
the check and the writes run inside map() rather than a Python-level loop.

The loop writes its share through the transports, not with os.write() as a
sender does: os.write() gives up the GIL for every send, and with an actor
thread busy the loop then waits up to a switch interval (5 ms) to take it
back, at every socket. uvloop's write sends while holding the GIL.
"""

from __future__ import annotations

import array
from collections import deque
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.ws_senders import Sender


class Plan:
    """One channel's targets, split: the loop's own share and each sender's."""

    __slots__ = ("closing_of", "own", "shares", "size_of", "write_of")

    def __init__(
        self,
        own: tuple[Any, ...],
        shares: list[tuple[Sender, tuple[Any, ...], array.array[int]]],
    ) -> None:
        self.own = own
        self.shares = shares
        everyone = own + tuple(t for _, group, _ in shares for t in group)
        self.size_of = _method(everyone, "get_write_buffer_size")
        self.closing_of = _method(everyone, "is_closing")
        self.write_of = _method(own, "write")

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
    """The loop's share, through the transports."""
    if plan.clean(plan.own):
        deque(map(plan.write_of, plan.own, repeat(framed)), maxlen=0)
        return len(plan.own)
    return write_through(plan.own, framed, limit, behind)


def _method(transports: Sequence[Any], name: str) -> Callable[..., Any]:
    """The method `name` of every transport as one callable: unbound where
    all are of one type, which map() then calls at C speed."""
    kinds = {type(t) for t in transports}
    if len(kinds) == 1:
        return getattr(kinds.pop(), name)

    def call(transport: Any, *args: Any) -> Any:
        return getattr(transport, name)(*args)

    return call


def fd_of(transport: Any) -> int:
    """The socket's descriptor, for plain (not TLS) transports only; else -1."""
    if transport.is_closing() or transport.get_extra_info("sslcontext") is not None:
        return -1
    sock = transport.get_extra_info("socket")
    return -1 if sock is None else int(sock.fileno())
