"""When the scheduled backups run. Pure: no I/O.

Runs fall on a grid: the configured UTC time of day, then every
`interval_hours` from it, around the clock (03:00 and every 6 hours: 03:00,
09:00, 15:00, 21:00). Each run is named by its slot on that grid.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta


def next_slot(now: datetime, at: time, interval_hours: int) -> datetime:
    """The first slot strictly after `now`."""
    step = timedelta(hours=interval_hours)
    anchor = datetime.combine(now.astimezone(UTC).date(), at, tzinfo=UTC)
    steps = (now - anchor) // step + 1
    return anchor + steps * step
