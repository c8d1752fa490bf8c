"""WebSocket frames of /ws: JSON text, every frame has `op`.

Client -> server
    {"op": "subscribe", "channel": "rates", "since": 41, "epoch": "..."}
    {"op": "unsubscribe", "channel": "rates"}
    {"op": "ping"}
    {"op": "auth", "token": "..."}              (when an authenticator is set)

Server -> client
    {"op": "subscribed", "channel": C, "offset": N, "epoch": E[, "recovered": bool]}
    {"op": "snapshot", "channel": C, "offset": N, "data": {...}}
    {"op": "update", "channel": C, "offset": N[, "conflated": true], "data": {...}}
    {"op": "unsubscribed", "channel": C}
    {"op": "authenticated"}
    {"op": "pong"}
    {"op": "error", "code": "...", "message": "..."}

Updates are broadcast: their bytes are built here once, by splicing the
already-encoded `data` into a fixed frame, so every subscriber gets the same
bytes and the stored history replays the very same frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import msgspec
import orjson

from protocols.rate_sources.records import RateRecord

MAX_CLIENT_FRAME_BYTES = 64 * 1024


class Subscribe(msgspec.Struct, tag="subscribe", tag_field="op"):
    channel: str
    since: Annotated[int, msgspec.Meta(ge=0)] | None = None
    epoch: str | None = None


class Unsubscribe(msgspec.Struct, tag="unsubscribe", tag_field="op"):
    channel: str


class Ping(msgspec.Struct, tag="ping", tag_field="op"):
    pass


class Auth(msgspec.Struct, tag="auth", tag_field="op"):
    token: str


ClientFrame = Subscribe | Unsubscribe | Ping | Auth
CLIENT_OPS = frozenset({"subscribe", "unsubscribe", "ping", "auth"})

_client_decoder = msgspec.json.Decoder(ClientFrame)


# Error codes, stable for clients to branch on.
INVALID_JSON = "invalid_json"
INVALID_FRAME = "invalid_frame"
UNKNOWN_OP = "unknown_op"
UNKNOWN_CHANNEL = "unknown_channel"
FRAME_TOO_LARGE = "frame_too_large"
BINARY_NOT_SUPPORTED = "binary_not_supported"
ALREADY_SUBSCRIBED = "already_subscribed"
NOT_SUBSCRIBED = "not_subscribed"
TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
FORBIDDEN = "forbidden"
UNAUTHORIZED = "unauthorized"
AUTH_UNAVAILABLE = "auth_unavailable"


class FrameError(Exception):
    """A client frame that cannot be acted on; `code` goes into the error frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def decode_client_frame(raw: str | bytes) -> ClientFrame:
    """Parse one client frame, or raise FrameError with the most specific code."""
    if len(raw) > MAX_CLIENT_FRAME_BYTES:
        raise FrameError(FRAME_TOO_LARGE, f"frames are limited to {MAX_CLIENT_FRAME_BYTES} bytes")
    try:
        frame: ClientFrame = _client_decoder.decode(raw)
        return frame
    except msgspec.ValidationError as exc:
        error = exc
    except msgspec.DecodeError:
        raise FrameError(INVALID_JSON, "the frame is not valid JSON") from None
    data: Any = msgspec.json.decode(raw)
    if not isinstance(data, dict):
        raise FrameError(INVALID_FRAME, "a frame is a JSON object with an `op`")
    op = data.get("op")
    if not isinstance(op, str):
        raise FrameError(INVALID_FRAME, "the frame has no `op`")
    if op not in CLIENT_OPS:
        raise FrameError(UNKNOWN_OP, f"unknown op {op[:40]!r}")
    raise FrameError(INVALID_FRAME, f"{op}: {error}")


def rates_data(records: Iterable[RateRecord]) -> bytes:
    """The `data` object of a rates snapshot or update: {"rates": [...]}."""
    return orjson.dumps({"rates": [msgspec.to_builtins(r) for r in records]})


def _head(op: bytes, channel: str, offset: int) -> bytes:
    return b'{"op":"%s","channel":%s,"offset":%d' % (op, orjson.dumps(channel), offset)


def update_frame(channel: str, offset: int, data: bytes, *, conflated: bool = False) -> bytes:
    flag = b',"conflated":true' if conflated else b""
    return _head(b"update", channel, offset) + flag + b',"data":' + data + b"}"


def snapshot_frame(channel: str, offset: int, data: bytes) -> bytes:
    return _head(b"snapshot", channel, offset) + b',"data":' + data + b"}"


def subscribed_frame(channel: str, offset: int, epoch: str, recovered: bool | None = None) -> bytes:
    frame: dict[str, Any] = {
        "op": "subscribed",
        "channel": channel,
        "offset": offset,
        "epoch": epoch,
    }
    if recovered is not None:
        frame["recovered"] = recovered
    return orjson.dumps(frame)


def unsubscribed_frame(channel: str) -> bytes:
    return orjson.dumps({"op": "unsubscribed", "channel": channel})


def error_frame(code: str, message: str) -> bytes:
    return orjson.dumps({"op": "error", "code": code, "message": message})


PONG_FRAME = b'{"op":"pong"}'
AUTHENTICATED_FRAME = b'{"op":"authenticated"}'
