"""When to try a failed email again.

Exponential backoff from `base`, capped at `cap`, for at most `max_attempts`
attempts; then the email is marked failed with the last reason. The defaults
cover about a day and a half of relay outage before anything is given up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 40

    def delay(self, attempts: int) -> timedelta:
        """Wait after the `attempts`-th failed attempt (1 for the first)."""
        exponent = max(0, attempts - 1)
        if exponent >= 32:
            return self.cap
        return min(self.base * (2**exponent), self.cap)

    def gives_up(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
