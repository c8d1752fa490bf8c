"""Capped exponential backoff: how long to wait before trying again.

One rule for every retry in the server (supervisor restarts, rate source
polls, email delivery, model calls): the wait doubles with each attempt from
`initial` and stops growing at `cap`. Jitter, where many waiters could retry
in step, shortens a wait by a random share of at most `jitter`, so a wait
never exceeds the cap and, with jitter under a half, still grows until it.
"""

from __future__ import annotations

import random
from collections.abc import Callable

_MAX_DOUBLINGS = 64  # past this every wait is the cap; keeps 2**n a float


def backoff_delay(
    attempt: int,
    *,
    initial: float,
    cap: float,
    jitter: float = 0.0,
    draw: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number `attempt` (0 for the first retry)."""
    base = min(cap, initial * 2.0 ** min(max(attempt, 0), _MAX_DOUBLINGS))
    if jitter:
        return base * (1.0 - jitter * draw())
    return base
