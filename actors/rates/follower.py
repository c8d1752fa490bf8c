"""Following the rates another node fetches.

On a node that does not lead "rates", the book changes only through here:
when the bus says another node stored rates (or this node may have missed
some), `poke` reads what is new from PostgreSQL (store.read_news) and the
book takes it in (RateBook.follow), which broadcasts it to this node's
WebSocket clients with the offsets the leader's clients saw. The leader
runs this too, harmlessly: what it wrote itself is already in its book.

Pokes that arrive while a read is running make one more read, not one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from actors.rates.book import RateBook
from actors.rates.config import RatesConfig
from actors.rates.store import read_news
from protocols.channels import ChannelHead, ChannelUpdate
from protocols.rate_sources.records import RateRecord

log = logging.getLogger("rateline.rates")

RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)


class RateFollower:
    def __init__(self, pool: asyncpg.Pool, config: RatesConfig, book: RateBook) -> None:
        self.pool = pool
        self.config = config
        self.book = book
        self._again = False
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Something may be new: read it soon (on the event loop; never waits)."""
        self._again = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        failures = 0
        while self._again:
            self._again = False
            try:
                await self.catch_up()
                failures = 0
            except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning("could not read the rates another node stored: %r", exc)
                self._again = True
                await asyncio.sleep(delay)

    async def catch_up(self) -> None:
        """Take into the book whatever is stored and not yet in it."""
        records, heads, updates = await read_news(self.pool, self.config, self.book.snapshot.heads)
        if records or updates:
            # Off the loop: a fetcher may hold the write lock while it waits on the loop.
            await asyncio.to_thread(self._apply, records, heads, updates)

    def _apply(
        self,
        records: list[RateRecord],
        heads: dict[str, ChannelHead],
        updates: list[ChannelUpdate],
    ) -> None:
        with self.book.write_lock:
            self.book.follow(records, heads, updates)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
