"""How each rate source is doing: errors counted by reason, health after a
run of failures, and when to try again.

A source is unhealthy after `unhealthy_after` consecutive failed polls and
healthy again at its first good one. Retries back off exponentially from the
retry delay up to the normal poll interval, so a broken source is neither
hammered nor forgotten.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge

SOURCE_ERRORS = Counter(
    "rateline_rate_source_errors_total",
    "Rate observations or polls rejected, by source and reason.",
    ["source", "reason"],
)
SOURCE_UP = Gauge(
    "rateline_rate_source_up",
    "1 while a rate source is healthy, 0 after consecutive failures.",
    ["source"],
)
OBSERVATIONS = Counter(
    "rateline_rate_observations_total",
    "Rate observations accepted and stored, by source.",
    ["source"],
)
CHANGES = Counter(
    "rateline_rate_changes_total",
    "Rate changes published, by product.",
    ["product"],
)


@dataclass
class SourceStatus:
    healthy: bool = True
    consecutive_failures: int = 0
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_error: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "healthy": self.healthy,
            "consecutive_failures": self.consecutive_failures,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "last_failure": self.last_failure.isoformat() if self.last_failure else None,
            "last_error": self.last_error,
        }


class HealthBoard:
    def __init__(self, sources: Sequence[str], unhealthy_after: int = 3) -> None:
        self.unhealthy_after = unhealthy_after
        self._lock = threading.Lock()
        self._status = {name: SourceStatus() for name in sources}
        for name in sources:
            SOURCE_UP.labels(name).set(1)

    def count(self, source: str, reason: str, count: int = 1) -> None:
        """Count errors that do not by themselves fail a poll (a rejected
        observation, one failed part of a poll that fails once)."""
        SOURCE_ERRORS.labels(source, reason).inc(count)

    def success(self, source: str, now: datetime | None = None) -> None:
        with self._lock:
            status = self._status.setdefault(source, SourceStatus())
            status.healthy = True
            status.consecutive_failures = 0
            status.last_success = now or datetime.now(UTC)
        SOURCE_UP.labels(source).set(1)

    def failure(self, source: str, reason: str, detail: str, now: datetime | None = None) -> int:
        """Count a failed poll; returns how many failed in a row."""
        SOURCE_ERRORS.labels(source, reason).inc()
        with self._lock:
            status = self._status.setdefault(source, SourceStatus())
            status.consecutive_failures += 1
            status.last_failure = now or datetime.now(UTC)
            status.last_error = f"{reason}: {detail}"[:300]
            if status.consecutive_failures >= self.unhealthy_after:
                status.healthy = False
            failures, healthy = status.consecutive_failures, status.healthy
        SOURCE_UP.labels(source).set(1 if healthy else 0)
        return failures

    def status(self) -> dict[str, dict[str, object]]:
        with self._lock:
            return {name: s.as_dict() for name, s in self._status.items()}

    def failures(self, source: str) -> int:
        """Failed polls in a row (0 after a good one)."""
        with self._lock:
            status = self._status.get(source)
            return status.consecutive_failures if status is not None else 0

    def healthy(self, source: str) -> bool:
        with self._lock:
            status = self._status.get(source)
            return status is not None and status.healthy
