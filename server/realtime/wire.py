"""RFC 6455 server frames built as bytes, to be written straight to transports.

The hub frames a broadcast once and writes the same bytes to every
subscriber's transport, instead of asking each connection's writer to frame
(and await) its own copy. Server frames are never masked, and /ws does not
negotiate compression, so a frame is header + payload.
"""

from __future__ import annotations

import struct

_LEN2 = struct.Struct("!BBH").pack
_LEN3 = struct.Struct("!BBQ").pack

OP_TEXT = 0x1
OP_PING = 0x9
OP_PONG = 0xA


def frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    first = 0x80 | opcode
    length = len(payload)
    if length < 126:
        return bytes((first, length)) + payload
    if length < 65536:
        return _LEN2(first, 126, length) + payload
    return _LEN3(first, 127, length) + payload


def text(payload: bytes) -> bytes:
    return frame(payload, OP_TEXT)


def pong(payload: bytes = b"") -> bytes:
    return frame(payload[:125], OP_PONG)


PING = frame(b"", OP_PING)
