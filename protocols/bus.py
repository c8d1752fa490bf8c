"""What one node tells the others through PostgreSQL NOTIFY (storage.channels.BUS).

An announcement names the node that wrote and the head offset each channel
reached; the updates themselves are read from the channel history, so a
NOTIFY payload stays small and a node that missed one loses nothing.
"""

from __future__ import annotations

import msgspec


class Announcement(msgspec.Struct, frozen=True):
    node: str
    heads: dict[str, int]


def encode(announcement: Announcement) -> str:
    return msgspec.json.encode(announcement).decode()


def decode(payload: str) -> Announcement | None:
    """The announcement, or None for a payload that is not one."""
    try:
        return msgspec.json.decode(payload, type=Announcement)
    except msgspec.DecodeError:  # and ValidationError, its subclass
        return None
