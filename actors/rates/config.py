"""Settings of the live-rates feature, taken from the server's Settings."""

from __future__ import annotations

from dataclasses import dataclass

from ops.config import ConfigError, Settings
from protocols.rate_sources import fred, pmms
from protocols.rate_sources.records import SOURCES


@dataclass(frozen=True)
class RatesConfig:
    sources: tuple[str, ...] = ("simulated",)
    sim_seed: int = 20261129
    sim_interval: float = 5.0
    poll_seconds: float = 3600.0
    fred_api_key: str | None = None
    fred_base_url: str = fred.DEFAULT_BASE_URL
    pmms_url: str = pmms.DEFAULT_URL
    source_timeout: float = 10.0
    retry_seconds: float = 30.0
    unhealthy_after: int = 3
    lookback_days: int = 400
    channel_history: int = 1000

    def interval(self, source: str) -> float:
        return self.sim_interval if source == "simulated" else self.poll_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> RatesConfig:
        sources = parse_sources(settings.rate_sources)
        if "fred" in sources and not settings.fred_api_key:
            raise ConfigError("RATELINE_RATE_SOURCES includes fred but FRED_API_KEY is not set")
        return cls(
            sources=sources,
            sim_seed=settings.sim_seed,
            sim_interval=settings.sim_interval,
            poll_seconds=settings.rate_poll_seconds,
            fred_api_key=settings.fred_api_key,
            fred_base_url=settings.fred_base_url,
            pmms_url=settings.pmms_url or pmms.DEFAULT_URL,
            source_timeout=settings.rate_source_timeout,
            retry_seconds=settings.rate_retry_seconds,
            unhealthy_after=settings.rate_unhealthy_after,
            lookback_days=settings.rate_lookback_days,
            channel_history=settings.channel_history,
        )


def parse_sources(raw: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))
    unknown = [name for name in names if name not in SOURCES]
    if unknown or not names:
        raise ConfigError(
            f"RATELINE_RATE_SOURCES={raw!r}: use a comma list of {', '.join(SOURCES)}"
        )
    return names
