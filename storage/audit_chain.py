"""How an audit row is hashed: the one definition the appender and the
verifier share, so the two cannot disagree.

A row's canonical form is the JSON array of its fields in a fixed order
(the time as orjson writes an aware datetime: RFC 3339 with its offset, the
microseconds when there are any), with `details` spliced in as the exact
JSON text stored for it (keys sorted when it was recorded). Its hash is
SHA-256(previous hash || canonical form); the first row's previous hash is
GENESIS.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

GENESIS = bytes(32)


def details_json(details: Mapping[str, Any]) -> str:
    """Details as the JSON text stored and hashed: keys sorted, compact."""
    return orjson.dumps(
        dict(details), option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    ).decode()


def canonical(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target: str | None,
    outcome: str,
    ip: str | None,
    request_id: str | None,
    details: str,
) -> bytes:
    head = orjson.dumps([seq, at, actor, action, target, outcome, ip, request_id])
    return head[:-1] + b"," + details.encode() + b"]"


def link(previous: bytes, body: bytes) -> bytes:
    return hashlib.sha256(previous + body).digest()
