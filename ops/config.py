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
    # Security audit
    security_scan_hours: float = setting(
        "RATELINE_SECURITY_SCAN_HOURS", 6.0, "Hours between security scans.", above=0
    )
    security_max_admins: int = setting(
        "RATELINE_SECURITY_MAX_ADMINS",
        5,
        "More admins than this is a finding of the security scan.",
        at_least=1,
    )
    audit_verify_hours: float = setting(
        "RATELINE_AUDIT_VERIFY_HOURS", 24.0, "Hours between walks of the audit chain.", above=0
    )
    audit_checkpoint_minutes: float = setting(
        "RATELINE_AUDIT_CHECKPOINT_MINUTES",
        60.0,
        "Minutes between checkpoints of the audit log's head (written beside the backups).",
        above=0,
    )

    # WebSocket origins
    allowed_origins: str = setting(
        "RATELINE_ALLOWED_ORIGINS",
        "",
        "Comma list of web origins (scheme://host[:port]) besides RATELINE_PUBLIC_URL's"
        " whose pages may open /ws signed in with the session cookie.",
    )
    # Database faults
    db_watchdog_seconds: float = setting(
        "RATELINE_DB_WATCHDOG_SECONDS",
        1.0,
        "Seconds between checks that the embedded PostgreSQL runs; restarted when not.",
        above=0,
    )

    # Payments
    stripe_secret_key: str | None = setting(
        "STRIPE_SECRET_KEY",
        None,
        "Stripe secret key; unset answers payment routes 503.",
        secret=True,
    )
    stripe_publishable_key: str | None = setting(
        "STRIPE_PUBLISHABLE_KEY", None, "Stripe publishable key handed to the web app."
    )
    stripe_webhook_secret: str | None = setting(
        "STRIPE_WEBHOOK_SECRET", None, "Signing secret of the Stripe webhook endpoint.", secret=True
    )
    stripe_api_base: str = setting(
        "RATELINE_STRIPE_API_BASE", "https://api.stripe.com", "Base URL of the Stripe API."
    )
    payments_reconcile_seconds: float = setting(
        "RATELINE_PAYMENTS_RECONCILE_SECONDS",
        600.0,
        "Seconds between reconciliations of payments with Stripe's event list.",
        above=0,
    )

    # Alerting
    alert_rules: Path | None = setting(
        "RATELINE_ALERT_RULES", None, "JSON file of alert rules added to the built-in ones."
    )
    alert_eval_seconds: float = setting(
        "RATELINE_ALERT_EVAL_SECONDS",
        15.0,
        "Seconds between evaluations of the alert rules.",
        above=0,
    )
    alert_repeat_minutes: float = setting(
        "RATELINE_ALERT_REPEAT_MINUTES",
        240.0,
        "Minutes between repeats of a firing alert until it is acknowledged.",
        above=0,
    )
    alert_emails: str = setting(
        "RATELINE_ALERT_EMAILS", "", "Comma list of addresses alerts are emailed to."
    )
    alert_webhook_url: str | None = setting(
        "RATELINE_ALERT_WEBHOOK_URL",
        None,
        "URL receiving alerts as Alertmanager's webhook body (version 4).",
        secret=True,
    )
    alertmanager_url: str | None = setting(
        "RATELINE_ALERTMANAGER_URL", None, "Alertmanager base URL alerts are pushed to (API v2)."
    )

    # Leads
    lead_offer_seconds: float = setting(
        "RATELINE_LEAD_OFFER_SECONDS",
        300.0,
        "Seconds a broker has to accept an offered lead before it goes to the next.",
        above=0,
    )
    lead_max_offers: int = setting(
        "RATELINE_LEAD_MAX_OFFERS",
        5,
        "Offers of one lead before it waits in the unassigned queue.",
        at_least=1,
    )

    # Backups
    backup_interval_hours: int = setting(
        "RATELINE_BACKUP_INTERVAL_HOURS", 24, "Hours between scheduled backups.", at_least=1
    )
    backup_at: str = setting(
        "RATELINE_BACKUP_AT", "03:00", "UTC time of day (HH:MM) of the first scheduled backup."
    )
    backup_dir: Path | None = setting(
        "RATELINE_BACKUP_DIR", None, "Folder for backups; unset: <data-dir>/backups."
    )
    backup_s3_url: str | None = setting(
        "RATELINE_BACKUP_S3_URL",
        None,
        "s3://bucket/prefix to keep backups in S3 instead of the folder (AWS credentials the"
        " standard way).",
    )
    s3_endpoint_url: str | None = setting(
        "RATELINE_S3_ENDPOINT_URL", None, "Endpoint of an S3-compatible store; unset: AWS."
    )
    backup_keep_daily: int = setting(
        "RATELINE_BACKUP_KEEP_DAILY", 7, "Daily good backups kept.", at_least=0
    )
    backup_keep_weekly: int = setting(
        "RATELINE_BACKUP_KEEP_WEEKLY", 4, "Weekly good backups kept.", at_least=0
    )
    backup_upload_attempts: int = setting(
        "RATELINE_BACKUP_UPLOAD_ATTEMPTS",
        5,
        "Tries of each S3 request before a backup fails.",
        at_least=1,
    )
    backup_retry_seconds: float = setting(
        "RATELINE_BACKUP_RETRY_SECONDS", 1.0, "First delay between S3 tries, doubling.", above=0
    )
    pg_bin: Path | None = setting(
        "RATELINE_PG_BIN",
        None,
        "Folder of pg_dump and pg_restore; unset: the embedded ones, else the PATH.",
    )

    # Web app
    stripe_js_url: str = setting(
        "RATELINE_STRIPE_JS_URL",
        "https://js.stripe.com/v3/",
        "Stripe.js the payment page loads (the only outside script of the web app).",
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
