"""Which backups to delete: grandfather-father-son over the good ones.

Pure: no I/O. Keep the newest good backup of each of the last `keep_daily`
UTC days that have one, and of each of the last `keep_weekly` ISO weeks that
have one; never the newest good backup of all. Failed backups go once a day
old, and so do runs still marked running after a day (their node died).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

GRACE = timedelta(days=1)


@dataclass(frozen=True)
class Entry:
    id: str
    started_at: datetime
    status: str  # running, verified, failed


def _newest_per(good: list[Entry], period: Callable[[datetime], Hashable], keep: int) -> set[str]:
    chosen: dict[Hashable, Entry] = {}
    for entry in good:  # newest first: the first of each period is its newest
        chosen.setdefault(period(entry.started_at), entry)
    return {entry.id for entry in list(chosen.values())[:keep]}


def to_delete(
    entries: Iterable[Entry], now: datetime, *, keep_daily: int, keep_weekly: int
) -> set[str]:
    entries = sorted(entries, key=lambda e: (e.started_at, e.id), reverse=True)
    good = [e for e in entries if e.status == "verified"]
    keep = _newest_per(good, lambda t: t.date(), keep_daily)
    keep |= _newest_per(good, lambda t: t.isocalendar()[:2], keep_weekly)
    if good:
        keep.add(good[0].id)
    doomed = {e.id for e in good if e.id not in keep}
    doomed |= {e.id for e in entries if e.status != "verified" and now - e.started_at > GRACE}
    return doomed
