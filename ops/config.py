"""Every setting of the server, declared once.

Each field names its environment variable and says what it does; the README
table, `rateline serve --help` and the running server all read this one
declaration, so they cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import os
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints


def setting(env: str, default: Any, help: str, *, secret: bool = False) -> Any:
    return field(default=default, metadata={"env": env, "help": help, "secret": secret})


@dataclass(frozen=True)
class Settings:
    host: str = setting("RATELINE_HOST", "127.0.0.1", "Address the HTTP server binds to.")
    port: int = setting("RATELINE_PORT", 8080, "TCP port of the HTTP server.")
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
    db_pool_min: int = setting("RATELINE_DB_POOL_MIN", 2, "Smallest database pool size.")
    db_pool_max: int = setting("RATELINE_DB_POOL_MAX", 10, "Largest database pool size.")
    log_level: str = setting("RATELINE_LOG_LEVEL", "info", "debug, info, warning or error.")
    max_body_bytes: int = setting(
        "RATELINE_MAX_BODY_BYTES", 1_048_576, "Largest accepted request body, in bytes."
    )
    shutdown_timeout: float = setting(
        "RATELINE_SHUTDOWN_TIMEOUT", 10.0, "Seconds allowed for a graceful stop."
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
        "RATELINE_SIM_INTERVAL", 5.0, "Seconds between simulated market ticks."
    )
    rate_poll_seconds: float = setting(
        "RATELINE_RATE_POLL_SECONDS", 3600.0, "Seconds between FRED/PMMS polls."
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
        "RATELINE_RATE_SOURCE_TIMEOUT", 10.0, "Seconds a rate source has to answer."
    )
    rate_retry_seconds: float = setting(
        "RATELINE_RATE_RETRY_SECONDS", 30.0, "First retry delay after a failed poll, doubling."
    )
    rate_unhealthy_after: int = setting(
        "RATELINE_RATE_UNHEALTHY_AFTER", 3, "Failed polls in a row that mark a source unhealthy."
    )
    rate_lookback_days: int = setting(
        "RATELINE_RATE_LOOKBACK_DAYS", 400, "Days of FRED/PMMS history read on each poll."
    )
    ws_heartbeat: float = setting("RATELINE_WS_HEARTBEAT", 25.0, "Seconds between WebSocket pings.")
    ws_heartbeat_timeout: float = setting(
        "RATELINE_WS_HEARTBEAT_TIMEOUT", 10.0, "Seconds a WebSocket peer has to answer a ping."
    )
    ws_send_buffer: int = setting(
        "RATELINE_WS_SEND_BUFFER", 65536, "Bytes queued for one WebSocket before conflating."
    )
    ws_slow_consumer_seconds: float = setting(
        "RATELINE_WS_SLOW_CONSUMER_SECONDS",
        10.0,
        "Seconds a WebSocket may stay over its buffer before close 4008.",
    )
    ws_socket_send_buffer: int = setting(
        "RATELINE_WS_SOCKET_SEND_BUFFER",
        32768,
        "Kernel send buffer per WebSocket, bytes (0 = kernel default).",
    )
    ws_senders: int = setting(
        "RATELINE_WS_SENDERS",
        -1,
        "Processes writing large broadcasts beside the event loop"
        " (-1 = one per CPU beyond the first, at most 4; 0 = none).",
    )
    ws_sender_min_subscribers: int = setting(
        "RATELINE_WS_SENDER_MIN_SUBSCRIBERS",
        1000,
        "Subscribers a channel needs before the senders share its broadcasts.",
    )
    channel_history: int = setting(
        "RATELINE_CHANNEL_HISTORY", 1000, "Updates kept per channel for replay."
    )
    leader_check_seconds: float = setting(
        "RATELINE_LEADER_CHECK_SECONDS",
        2.0,
        "With several nodes on one database: how often a node checks or bids"
        " for the lead of single-leader work (the rate fetchers).",
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
    smtp_timeout: float = setting("RATELINE_SMTP_TIMEOUT", 30.0, "Seconds for one SMTP exchange.")
    smtp_ca_file: Path | None = setting(
        "RATELINE_SMTP_CA_FILE", None, "CA bundle to trust for the SMTP server's certificate."
    )
    mailer_poll_seconds: float = setting(
        "RATELINE_MAILER_POLL_SECONDS", 15.0, "Seconds between outbox sweeps."
    )
    mailer_retry_base_seconds: float = setting(
        "RATELINE_MAILER_RETRY_BASE_SECONDS", 30.0, "First retry delay of a deferred email."
    )
    mailer_retry_max_seconds: float = setting(
        "RATELINE_MAILER_RETRY_MAX_SECONDS", 3600.0, "Longest retry delay of a deferred email."
    )
    mailer_max_attempts: int = setting(
        "RATELINE_MAILER_MAX_ATTEMPTS", 40, "Delivery attempts before an email is failed."
    )
    session_idle_minutes: int = setting(
        "RATELINE_SESSION_IDLE_MINUTES", 30, "Idle timeout of a session."
    )
    session_max_hours: int = setting(
        "RATELINE_SESSION_MAX_HOURS", 12, "Absolute lifetime of a session."
    )
    argon2_time_cost: int = setting(
        "RATELINE_ARGON2_TIME_COST", 3, "Argon2id passes per password hash."
    )
    argon2_memory_kib: int = setting(
        "RATELINE_ARGON2_MEMORY_KIB", 65_536, "Argon2id memory per password hash, KiB."
    )
    argon2_parallelism: int = setting(
        "RATELINE_ARGON2_PARALLELISM", 4, "Argon2id lanes per password hash."
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
        "RATELINE_OPENAI_TIMEOUT", 20.0, "Seconds before a model answer is too late."
    )
    ai_daily_tokens: int = setting(
        "RATELINE_AI_DAILY_TOKENS", 2_000_000, "Daily model token budget, all users."
    )
    ai_user_daily_tokens: int = setting(
        "RATELINE_AI_USER_DAILY_TOKENS", 50_000, "Daily model token budget per user."
    )
    agent_cache_ttl: float = setting(
        "RATELINE_AGENT_CACHE_TTL", 900.0, "Seconds an agent answer stays cached."
    )
    agent_cache_ttls: str = setting(
        "RATELINE_AGENT_CACHE_TTLS",
        "",
        "Per-agent cache seconds, e.g. mortgage_advisor=600,lead_qualifier=3600 (0 = off).",
    )
    openai_max_retries: int = setting(
        "RATELINE_OPENAI_MAX_RETRIES", 2, "Model retries after the first attempt."
    )
    openai_backoff: float = setting(
        "RATELINE_OPENAI_BACKOFF", 0.5, "Seconds before the first model retry, doubling."
    )
    # Calculation
    calc_workers: int = setting("RATELINE_CALC_WORKERS", 2, "Calculation actors in the pool.")
    calc_advice_seconds: float = setting(
        "RATELINE_CALC_ADVICE_SECONDS", 5.0, "Seconds a calculation waits for recommendations."
    )
    llpa_path: Path | None = setting(
        "RATELINE_LLPA_PATH", None, "CSV/JSON overriding the shipped LLPA grid."
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
                values[f.name] = _parse(f.metadata["env"], raw, hints[f.name])
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


@dataclass(frozen=True)
class SettingDoc:
    env: str
    default: str
    help: str


def documented() -> Iterator[SettingDoc]:
    """The settings as rows for the README table and `--help`."""
    for f in dataclasses.fields(Settings):
        default = "" if f.default is None else str(f.default)
        if isinstance(f.default, Path) and not f.default.is_absolute():
            default = f"./{f.default}"
        if isinstance(f.default, bool):
            default = "1" if f.default else "0"
        yield SettingDoc(f.metadata["env"], default, f.metadata["help"])


def markdown_table() -> str:
    lines = ["| Variable | Default | What it does |", "|---|---|---|"]
    for doc in documented():
        default = f"`{doc.default}`" if doc.default else "(unset)"
        lines.append(f"| `{doc.env}` | {default} | {doc.help} |")
    return "\n".join(lines)


class ConfigError(ValueError):
    pass


def _parse(env: str, raw: str, hint: Any) -> Any:
    target = hint
    if get_origin(hint) in (Union, types.UnionType):
        target = next(a for a in get_args(hint) if a is not type(None))
    try:
        if target is bool:
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError("expected 1/0, true/false, yes/no or on/off")
        if target is int:
            return int(raw)
        if target is float:
            return float(raw)
        if target is Path:
            return Path(raw)
        return raw
    except ValueError as exc:
        raise ConfigError(f"{env}={raw!r} is not valid: {exc}") from None


if __name__ == "__main__":
    print(markdown_table())
