"""Daily model token budgets, global and per user.

Usage is read from the interactions table, so every node sees the same
spend and a restart forgets nothing. A budget of 0 turns model calls off.
The check runs before a call; calls already under way may overshoot the
budget by their own size, which is the price of not serialising them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from storage.agents import tokens_used_since


def _now() -> datetime:
    return datetime.now(UTC)


class TokenBudget:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        daily_tokens: int,
        user_daily_tokens: int,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self._pool = pool
        self.daily_tokens = daily_tokens
        self.user_daily_tokens = user_daily_tokens
        self._now = now

    def day_start(self) -> datetime:
        return self._now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    async def refusal(self, user_id: str | None) -> str | None:
        """Why no further model call may be made today, or None."""
        since = self.day_start()
        used = await tokens_used_since(self._pool, since)
        if used >= self.daily_tokens:
            return (
                f"daily token budget reached: {used} of {self.daily_tokens} tokens "
                "used today across all users"
            )
        if user_id is not None:
            mine = await tokens_used_since(self._pool, since, user_id)
            if mine >= self.user_daily_tokens:
                return (
                    f"daily token budget reached for this user: {mine} of "
                    f"{self.user_daily_tokens} tokens used today"
                )
        return None
