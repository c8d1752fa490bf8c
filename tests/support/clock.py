"""A clock the test moves by hand, for the account flows' `Accounts.clock`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """Aware UTC time that stands still until `advance` moves it on."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
