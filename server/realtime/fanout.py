"""One broadcast written by the event loop: a channel's targets and the
writes of one frame to each.

A transport that holds nothing unsent and is not closing can take the frame
straight on its socket; that is nearly every transport at every broadcast, so
the check and the writes run inside map() rather than a Python-level loop.
Transports over the hub's send buffer are handed back: the hub conflates for
them (server.realtime.hub).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any


class Targets:
    """The transports of one channel's subscribers that are not behind."""

    __slots__ = ("closing_of", "size_of", "transports", "write_of")

    def __init__(self, transports: tuple[Any, ...]) -> None:
        self.transports = transports
        self.size_of = _method(transports, "get_write_buffer_size")
        self.closing_of = _method(transports, "is_closing")
        self.write_of = _method(transports, "write")

    def write(self, framed: bytes, limit: int, behind: list[Any]) -> int:
        """Write `framed` to every target; those holding more than `limit`
        unsent bytes are appended to `behind` instead. Returns frames written."""
        transports = self.transports
        if not any(map(self.size_of, transports)) and not any(map(self.closing_of, transports)):
            deque(map(self.write_of, transports, repeat(framed)), maxlen=0)
            return len(transports)
        sent = 0
        for transport in transports:
            if transport.get_write_buffer_size() <= limit:
                if not transport.is_closing():
                    transport.write(framed)
                    sent += 1
            else:
                behind.append(transport)
        return sent


def _method(transports: Sequence[Any], name: str) -> Callable[..., Any]:
    """The method `name` of every transport as one callable: unbound where
    all are of one type, which map() then calls at C speed."""
    kinds = {type(t) for t in transports}
    if len(kinds) == 1:
        return getattr(kinds.pop(), name)

    def call(transport: Any, *args: Any) -> Any:
        return getattr(transport, name)(*args)

    return call
