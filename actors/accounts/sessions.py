"""Session lifetimes: an idle timeout and an absolute limit.

A session dies after `idle` without use, and after `lifetime` whatever
happens; each use pushes the idle deadline forward but never past the
absolute one. Writing "last seen" on every request would turn reads into
writes, so it is refreshed only when it is `touch_every` old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

ROLES = ("consumer", "broker", "admin")


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=12)

    @property
    def touch_every(self) -> timedelta:
        return min(timedelta(minutes=1), self.idle / 10)

    def alive(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return now < created_at + self.lifetime and now < last_seen_at + self.idle

    def needs_touch(self, last_seen_at: datetime, now: datetime) -> bool:
        return now - last_seen_at >= self.touch_every
