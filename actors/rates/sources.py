"""The three rate sources behind one small interface the fetcher polls.

A source is built fresh for every fetcher incarnation from the current rate
book, so a restarted simulator resumes from the last published rates and a
restarted HTTP source gets a fresh connection pool. `fetch` runs on the
server's event loop; `close` releases what the source opened there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import aiohttp

from actors.rates.config import RatesConfig
from actors.rates.simulator import MarketSimulator
from protocols.channels import RateSnapshot
from protocols.rate_sources.base import FetchResult, client_session
from protocols.rate_sources.fred import fetch_fred
from protocols.rate_sources.pmms import fetch_pmms


class RateSource(Protocol):
    name: str

    async def fetch(self, now: datetime) -> FetchResult:
        """Observations as of `now`; raises SourceError when nothing is usable."""
        ...

    async def close(self) -> None: ...


SourceFactory = Callable[[RateSnapshot], RateSource]


class SimulatedSource:
    name = "simulated"

    def __init__(self, seed: int, start: RateSnapshot) -> None:
        resume = {p: r.rate for p, r in start.rates.items() if r.source == "simulated"}
        self._market = MarketSimulator(seed, resume)

    async def fetch(self, now: datetime) -> FetchResult:
        return FetchResult(records=self._market.tick(now))

    async def close(self) -> None:
        return None


class _HttpSource:
    def __init__(self, config: RatesConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = client_session()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class FredSource(_HttpSource):
    name = "fred"

    async def fetch(self, now: datetime) -> FetchResult:
        return await fetch_fred(
            self.session(),
            api_key=self.config.fred_api_key or "",
            base_url=self.config.fred_base_url,
            time_limit=self.config.source_timeout,
            lookback_days=self.config.lookback_days,
            now=now,
        )


class PmmsSource(_HttpSource):
    name = "pmms"

    async def fetch(self, now: datetime) -> FetchResult:
        return await fetch_pmms(
            self.session(),
            url=self.config.pmms_url,
            time_limit=self.config.source_timeout,
            lookback_days=self.config.lookback_days,
            now=now,
        )


def source_factory(name: str, config: RatesConfig) -> SourceFactory:
    if name == "simulated":
        return lambda snapshot: SimulatedSource(config.sim_seed, snapshot)
    if name == "fred":
        return lambda snapshot: FredSource(config)
    if name == "pmms":
        return lambda snapshot: PmmsSource(config)
    raise ValueError(f"unknown rate source {name!r}")
