"""How the agents are configured, gathered in one value (from ops.config.Settings)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ops.config import ConfigError, Settings

ENV_AGENT_TTLS = "RATELINE_AGENT_CACHE_TTLS"


@dataclass(frozen=True)
class AgentOptions:
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    deadline: float = 20.0
    max_retries: int = 2
    backoff: float = 0.5
    daily_tokens: int = 2_000_000
    user_daily_tokens: int = 50_000
    default_ttl: float = 900.0
    ttls: Mapping[str, float] = field(default_factory=dict)
    timer: Callable[[], float] = time.monotonic
    llpa_path: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> AgentOptions:
        values: dict[str, Any] = {
            "openai_api_key": settings.openai_api_key,
            "openai_base_url": settings.openai_base_url,
            "openai_model": settings.openai_model,
            "deadline": settings.openai_timeout,
            "daily_tokens": settings.ai_daily_tokens,
            "user_daily_tokens": settings.ai_user_daily_tokens,
            "default_ttl": settings.agent_cache_ttl,
            "ttls": parse_ttls(settings.agent_cache_ttls),
            "max_retries": settings.openai_max_retries,
            "backoff": settings.openai_backoff,
            "llpa_path": str(settings.llpa_path) if settings.llpa_path else None,
        }
        values.update(overrides)
        return cls(**values)

    def ttl_for(self, agent: str, agent_default: float | None) -> float:
        """Configured per agent, else the agent's own default, else the global one."""
        if agent in self.ttls:
            return self.ttls[agent]
        return self.default_ttl if agent_default is None else agent_default


def parse_ttls(text: str) -> dict[str, float]:
    ttls: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, seconds = part.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{ENV_AGENT_TTLS}: expected agent=seconds, got {part!r}")
        ttls[name.strip()] = _number(ENV_AGENT_TTLS, seconds.strip(), float)
    return ttls


def _number(env: str, raw: str, kind: Callable[[str], Any]) -> Any:
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{env}={raw!r} is not a number") from None
    if value < 0:
        raise ConfigError(f"{env}={raw!r} must not be negative")
    return value
