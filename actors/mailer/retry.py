"""When to try a failed email again.

Exponential backoff from `base`, capped at `cap`, for at most `max_attempts`
attempts; then the email is marked failed with the last reason. The defaults
cover about a day and a half of relay outage before anything is given up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from protocols.backoff import backoff_delay


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 40

    def delay(self, attempts: int) -> timedelta:
        """Wait after the `attempts`-th failed attempt (1 for the first)."""
        seconds = backoff_delay(
            attempts - 1, initial=self.base.total_seconds(), cap=self.cap.total_seconds()
        )
        return timedelta(seconds=seconds)

    def gives_up(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
