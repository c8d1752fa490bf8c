"""Every setting of the server, declared once.

Each field names its environment variable, says what it does and, for
numbers, the values it takes; the README table and `rateline serve --help`
(ops.settings_doc) and the running server all read this one declaration, so
they cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from ops.setting_values import ConfigError, out_of_bounds, parse_value

__all__ = ["ConfigError", "Settings", "setting"]


def setting(
    env: str,
    default: Any,
    help: str,
    *,
    secret: bool = False,
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
) -> Any:
    """One setting; numbers name their bounds, so a zero interval or a
    negative size stops the server at start-up instead of spinning it."""
    bounds = {"at_least": at_least, "above": above, "at_most": at_most}
    return field(default=default, metadata={"env": env, "help": help, "secret": secret, **bounds})


@dataclass(frozen=True)
class Settings:
    host: str = setting("RATELINE_HOST", "127.0.0.1", "Address the HTTP server binds to.")
    port: int = setting(
        "RATELINE_PORT", 8080, "TCP port of the HTTP server.", at_least=0, at_most=65535
    )
    data_dir: Path = setting(
        "RATELINE_DATA_DIR",
        Path("./var"),
        "Folder for the embedded PostgreSQL and local backups.",
    )
    database_url: str | None = setting(
        "DATABASE_URL",
        None,
        "PostgreSQL URL; unset starts an embedded PostgreSQL in the data folder.",
        secret=True,
    )
    db_pool_min: int = setting(
        "RATELINE_DB_POOL_MIN", 2, "Smallest database pool size.", at_least=0
    )
    db_pool_max: int = setting(
        "RATELINE_DB_POOL_MAX", 10, "Largest database pool size.", at_least=1
    )
    log_level: str = setting("RATELINE_LOG_LEVEL", "info", "debug, info, warning or error.")
    max_body_bytes: int = setting(
        "RATELINE_MAX_BODY_BYTES", 1_048_576, "Largest accepted request body, in bytes.", at_least=1
    )
    shutdown_timeout: float = setting(
        "RATELINE_SHUTDOWN_TIMEOUT", 10.0, "Seconds allowed for a graceful stop.", at_least=0
    )
    public_url: str = setting(
        "RATELINE_PUBLIC_URL",
        "http://127.0.0.1:8080",
        "Base URL of the platform, used in links sent by email.",
    )
    trusted_proxies: str = setting(
        "RATELINE_TRUSTED_PROXIES",
        "",
        "Comma list of proxy addresses or networks (CIDR) whose X-Forwarded-For is believed; "
        "empty trusts none.",
    )
    # Live rates
    rate_sources: str = setting(
        "RATELINE_RATE_SOURCES", "simulated", "Comma list of simulated, fred, pmms."
    )
    sim_seed: int = setting("RATELINE_SIM_SEED", 20261129, "Seed of the simulated market.")
    sim_interval: float = setting(
        "RATELINE_SIM_INTERVAL", 5.0, "Seconds between simulated market ticks.", above=0
    )
    rate_poll_seconds: float = setting(
        "RATELINE_RATE_POLL_SECONDS", 3600.0, "Seconds between FRED/PMMS polls.", above=0
    )
    fred_api_key: str | None = setting("FRED_API_KEY", None, "FRED API key.", secret=True)
    fred_base_url: str = setting(
        "RATELINE_FRED_BASE_URL",
        "https://api.stlouisfed.org/fred",
        "Base URL of the FRED API.",
    )
    pmms_url: str | None = setting(
        "RATELINE_PMMS_URL", None, "URL of Freddie Mac's PMMS history CSV."
    )
    rate_source_timeout: float = setting(
        "RATELINE_RATE_SOURCE_TIMEOUT", 10.0, "Seconds a rate source has to answer.", above=0
    )
    rate_retry_seconds: float = setting(
        "RATELINE_RATE_RETRY_SECONDS",
        30.0,
        "First retry delay after a failed poll, doubling.",
        above=0,
    )
    rate_unhealthy_after: int = setting(
        "RATELINE_RATE_UNHEALTHY_AFTER",
        3,
        "Failed polls in a row that mark a source unhealthy.",
        at_least=1,
    )
    rate_lookback_days: int = setting(
        "RATELINE_RATE_LOOKBACK_DAYS",
        400,
        "Days of FRED/PMMS history read on each poll.",
        at_least=1,
    )
    ws_heartbeat: float = setting(
        "RATELINE_WS_HEARTBEAT", 25.0, "Seconds between WebSocket pings.", above=0
    )
    ws_heartbeat_timeout: float = setting(
        "RATELINE_WS_HEARTBEAT_TIMEOUT",
        10.0,
        "Seconds a WebSocket peer has to answer a ping.",
        above=0,
    )
    ws_send_buffer: int = setting(
        "RATELINE_WS_SEND_BUFFER",
        65536,
        "Bytes queued for one WebSocket before conflating.",
        at_least=1,
    )
    ws_slow_consumer_seconds: float = setting(
        "RATELINE_WS_SLOW_CONSUMER_SECONDS",
        10.0,
        "Seconds a WebSocket may stay over its buffer before close 4008.",
        above=0,
    )
    ws_socket_send_buffer: int = setting(
        "RATELINE_WS_SOCKET_SEND_BUFFER",
        32768,
        "Kernel send buffer per WebSocket, bytes (0 = kernel default).",
        at_least=0,
    )
    ws_senders: int = setting(
        "RATELINE_WS_SENDERS",
        -1,
        "Processes writing large broadcasts beside the event loop"
        " (-1 = one per CPU beyond the first, at most 4; 0 = none).",
        at_least=-1,
    )
    ws_sender_min_subscribers: int = setting(
        "RATELINE_WS_SENDER_MIN_SUBSCRIBERS",
        1000,
        "Subscribers a channel needs before the senders share its broadcasts.",
        at_least=1,
    )
    channel_history: int = setting(
        "RATELINE_CHANNEL_HISTORY", 1000, "Updates kept per channel for replay.", at_least=1
    )
    leader_check_seconds: float = setting(
        "RATELINE_LEADER_CHECK_SECONDS",
        2.0,
        "With several nodes on one database: how often a node checks or bids"
        " for the lead of single-leader work (the rate fetchers).",
        above=0,
    )
    # Accounts and email
    smtp_url: str | None = setting(
        "RATELINE_SMTP_URL",
        None,
        "smtp://, smtp+starttls:// or smtps://user:pass@host:port; unset keeps mail held.",
        secret=True,
    )
    mail_from: str = setting(
        "RATELINE_MAIL_FROM", "Rateline <no-reply@rateline.invalid>", "Sender of emails."
    )
    dev_mailbox: bool | None = setting(
        "RATELINE_DEV_MAILBOX",
        None,
        "Serve held emails at /api/dev/mailbox (never with a real SMTP); "
        "unset: on with the embedded database, off with DATABASE_URL.",
    )
    smtp_timeout: float = setting(
        "RATELINE_SMTP_TIMEOUT", 30.0, "Seconds for one SMTP exchange.", above=0
    )
    smtp_ca_file: Path | None = setting(
        "RATELINE_SMTP_CA_FILE", None, "CA bundle to trust for the SMTP server's certificate."
    )
    mailer_poll_seconds: float = setting(
        "RATELINE_MAILER_POLL_SECONDS", 15.0, "Seconds between outbox sweeps.", above=0
    )
    mailer_retry_base_seconds: float = setting(
        "RATELINE_MAILER_RETRY_BASE_SECONDS",
        30.0,
        "First retry delay of a deferred email.",
        above=0,
    )
    mailer_retry_max_seconds: float = setting(
        "RATELINE_MAILER_RETRY_MAX_SECONDS",
        3600.0,
        "Longest retry delay of a deferred email.",
        above=0,
    )
    mailer_max_attempts: int = setting(
        "RATELINE_MAILER_MAX_ATTEMPTS",
        40,
        "Delivery attempts before an email is failed.",
        at_least=1,
    )
    session_idle_minutes: int = setting(
        "RATELINE_SESSION_IDLE_MINUTES", 30, "Idle timeout of a session.", at_least=1
    )
    session_max_hours: int = setting(
        "RATELINE_SESSION_MAX_HOURS", 12, "Absolute lifetime of a session.", at_least=1
    )
    argon2_time_cost: int = setting(
        "RATELINE_ARGON2_TIME_COST",
        3,
        "Argon2id passes per password hash (OWASP's minimum is 2).",
        at_least=2,
    )
    argon2_memory_kib: int = setting(
        "RATELINE_ARGON2_MEMORY_KIB",
        65_536,
        "Argon2id memory per password hash, KiB (OWASP's minimum is 19456, 19 MiB).",
        at_least=19_456,
    )
    argon2_parallelism: int = setting(
        "RATELINE_ARGON2_PARALLELISM", 4, "Argon2id lanes per password hash.", at_least=1
    )
    # AI agents
    openai_api_key: str | None = setting(
        "OPENAI_API_KEY", None, "Enables the OpenAI provider.", secret=True
    )
    openai_base_url: str | None = setting(
        "OPENAI_BASE_URL", None, "OpenAI-compatible API base URL."
    )
    openai_model: str = setting("RATELINE_OPENAI_MODEL", "gpt-4o-mini", "Model for agents.")
    openai_timeout: float = setting(
        "RATELINE_OPENAI_TIMEOUT", 20.0, "Seconds before a model answer is too late.", above=0
    )
    ai_daily_tokens: int = setting(
        "RATELINE_AI_DAILY_TOKENS", 2_000_000, "Daily model token budget, all users.", at_least=0
    )
    ai_user_daily_tokens: int = setting(
        "RATELINE_AI_USER_DAILY_TOKENS", 50_000, "Daily model token budget per user.", at_least=0
    )
    agent_cache_ttl: float = setting(
        "RATELINE_AGENT_CACHE_TTL", 900.0, "Seconds an agent answer stays cached.", at_least=0
    )
    agent_cache_ttls: str = setting(
        "RATELINE_AGENT_CACHE_TTLS",
        "",
        "Per-agent cache seconds, e.g. mortgage_advisor=600,lead_qualifier=3600 (0 = off).",
    )
    openai_max_retries: int = setting(
        "RATELINE_OPENAI_MAX_RETRIES", 2, "Model retries after the first attempt.", at_least=0
    )
    openai_backoff: float = setting(
        "RATELINE_OPENAI_BACKOFF",
        0.5,
        "Seconds before the first model retry, doubling.",
        at_least=0,
    )
    # Calculation
    calc_workers: int = setting(
        "RATELINE_CALC_WORKERS", 2, "Calculation actors in the pool.", at_least=1
    )
    calc_advice_seconds: float = setting(
        "RATELINE_CALC_ADVICE_SECONDS",
        5.0,
        "Seconds a calculation waits for recommendations.",
        above=0,
    )
    llpa_path: Path | None = setting(
        "RATELINE_LLPA_PATH", None, "CSV/JSON overriding the shipped LLPA grid."
    )
    # Anonymous callers of the expensive routes (calculate, agents)
    anon_requests_per_minute: int = setting(
        "RATELINE_ANON_REQUESTS_PER_MINUTE",
        30,
        "Calculations and agent questions one anonymous client IP may ask per minute"
        " (0 = no limit).",
        at_least=0,
    )
    anon_requests_per_day: int = setting(
        "RATELINE_ANON_REQUESTS_PER_DAY",
        500,
        "Calculations and agent questions one anonymous client IP may ask per UTC day"
        " (0 = no limit).",
        at_least=0,
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            wrong = out_of_bounds(value, meta["at_least"], meta["above"], meta["at_most"])
            if wrong:
                raise ConfigError(f"{meta['env']}={value!r} is not valid: {wrong}")
        if self.db_pool_min > self.db_pool_max:
            raise ConfigError(
                f"RATELINE_DB_POOL_MIN={self.db_pool_min} is not valid: must be at most"
                f" RATELINE_DB_POOL_MAX ({self.db_pool_max})"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every declared variable; explicit overrides (CLI flags) win."""
        environ = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is not None and raw != "":
                values[f.name] = parse_value(f.metadata["env"], raw, hints[f.name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def dev_mailbox_enabled(self) -> bool:
        """Held mail is shown only in the no-configuration developer setup, or
        when asked for, and never once a real SMTP server is configured."""
        wanted = self.database_url is None if self.dev_mailbox is None else self.dev_mailbox
        return wanted and self.smtp_url is None

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)
