"""Live rates: the fetchers (one actor per configured source) and the rate book.

The server builds the book before the actors start (`load_book`) and hands
it to them as `ctx.deps["rate_book"]`; `child_specs` adds the fetchers to
the supervision tree.
"""

from __future__ import annotations

from actors.rates.book import RateBook
from actors.rates.config import RatesConfig
from actors.rates.fetcher import PollNow, PollReport, RateFetcher
from actors.rates.sources import source_factory
from actors.rates.store import load_book
from actors.runtime import ChildSpec, SupervisorSpec
from ops.config import Settings
from protocols.channels import ChannelHead, ChannelUpdate, RateCommit, RateSnapshot

__all__ = [
    "ChannelHead",
    "ChannelUpdate",
    "PollNow",
    "PollReport",
    "RateBook",
    "RateCommit",
    "RateSnapshot",
    "RatesConfig",
    "child_specs",
    "fetcher_name",
    "load_book",
    "rates_supervisor",
]


def fetcher_name(source: str) -> str:
    return f"rates.{source}"


def rates_supervisor(config: RatesConfig) -> SupervisorSpec:
    """One fetcher per source; a crash restarts only that source's fetcher."""
    return SupervisorSpec(
        name="rates",
        children=[
            ChildSpec(
                name=fetcher_name(source),
                factory=RateFetcher,
                args=(source_factory(source, config), config),
            )
            for source in config.sources
        ],
        strategy="one_for_one",
        max_restarts=5,
        period=60.0,
        backoff_initial=0.1,
        backoff_max=5.0,
    )


def child_specs(settings: Settings) -> list[ChildSpec | SupervisorSpec]:
    return [rates_supervisor(RatesConfig.from_settings(settings))]
