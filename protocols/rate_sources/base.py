"""What every rate adapter returns, and how it says that it could not.

An adapter never lets a bad number through: a poll that yields nothing usable
raises `SourceError` with a short `reason` (a metric label); a part of a poll
that failed while others worked is listed in `FetchResult.errors`; single
observations that cannot be used are left out and listed in
`FetchResult.rejected` with their reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import aiohttp

from protocols.rate_sources.records import MAX_RATE, MIN_RATE, RateRecord

# Reasons, used verbatim as metric labels.
TIMEOUT = "timeout"
HTTP_ERROR = "http_error"
CONNECTION_ERROR = "connection_error"
MALFORMED = "malformed"
MISSING_VALUE = "missing_value"
OUT_OF_RANGE = "out_of_range"
FUTURE_DATE = "future_date"

USER_AGENT = "rateline (mortgage rate monitor)"


def client_session() -> aiohttp.ClientSession:
    """The HTTP client to hand to `fetch_fred` and `fetch_pmms`; the caller closes it."""
    return aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})


class SourceError(Exception):
    """The source gave nothing usable this time."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Rejected:
    reason: str
    detail: str


@dataclass
class FetchResult:
    """Accepted records (oldest first), the observations turned away, and the
    requests that failed while others succeeded."""

    records: list[RateRecord] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)

    def offer(self, record: RateRecord, now: datetime) -> None:
        reason = rejection(record, now)
        if reason is None:
            self.records.append(record)
        else:
            self.reject(reason, f"{record.product} {record.rate} as of {record.as_of.isoformat()}")

    def reject(self, reason: str, detail: str) -> None:
        self.rejected.append(Rejected(reason, detail))


def rejection(record: RateRecord, now: datetime | None = None) -> str | None:
    """Why a record must not be published (a metric label), or None if it is sane."""
    if not (MIN_RATE < record.rate < MAX_RATE):
        return OUT_OF_RANGE
    if record.apr is not None and not (MIN_RATE < record.apr < MAX_RATE):
        return OUT_OF_RANGE
    if record.points is not None and not (Decimal(0) <= record.points < Decimal(10)):
        return OUT_OF_RANGE
    if record.as_of.tzinfo is None:
        return MALFORMED
    if record.as_of > (now or datetime.now(UTC)):
        return FUTURE_DATE
    return None


def day_start(day: date) -> datetime:
    """Weekly survey figures are dated by day; they count from that day's start, UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
