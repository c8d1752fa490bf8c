"""One security scan and one chain verification, as the actor, the command
line and the admin API all run them: gather the facts, apply the pure
checks, store what was found, and record it in the audit log."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import asyncpg
from prometheus_client import Gauge

from actors.audit.auditor import Auditor
from actors.audit.checks import (
    SEVERITIES,
    AccountFacts,
    DatabaseFacts,
    DeploymentFacts,
    Finding,
    HbaRule,
    check_accounts,
    check_database,
    check_deployment,
)
from actors.audit.verify import ChainVerifier, Checkpoint, Verdict
from ops.config import Settings
from storage import audit as audit_store
from storage import security as store

log = logging.getLogger("rateline.audit")

FINDINGS_OPEN = Gauge(
    "rateline_security_findings_open",
    "Open findings of the security scanner, by severity.",
    ["severity"],
)
SIGN_IN_ACTION = "sign_in"
CHAIN_BROKEN = "audit.chain_broken"


@dataclass(frozen=True)
class ScanReport:
    findings: list[Finding]
    opened: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)

    @property
    def critical(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "critical"]


def deployment_facts(settings: Settings) -> DeploymentFacts:
    keyed = []
    if settings.fred_api_key:
        keyed.append(("FRED", settings.fred_base_url))
    if settings.openai_api_key and settings.openai_base_url:
        keyed.append(("OpenAI", settings.openai_base_url))
    return DeploymentFacts(
        host=settings.host,
        public_url=settings.public_url,
        dev_mailbox=settings.dev_mailbox_enabled,
        argon2_memory_kib=settings.argon2_memory_kib,
        argon2_time_cost=settings.argon2_time_cost,
        trusted_proxies=[p for p in settings.trusted_proxies.split(",") if p.strip()],
        keyed_urls=keyed,
        stripe_secret_key=settings.stripe_secret_key,
        stripe_webhook_secret=settings.stripe_webhook_secret,
    )


async def gather(pool: asyncpg.Pool, settings: Settings, now: datetime) -> list[Finding]:
    async with pool.acquire() as conn:
        facts = await store.database_facts(conn)
        admins = await store.admins(conn)
        failures = await audit_store.failures_since(conn, SIGN_IN_ACTION, now - timedelta(hours=1))
    rules = facts.pop("hba_rules")
    database = DatabaseFacts(
        **facts,
        host=urlsplit(settings.database_url or "").hostname or "",
        hba_rules=None if rules is None else [HbaRule(**dict(r)) for r in rules],
    )
    accounts = AccountFacts(
        admins=admins,
        failed_sign_ins=[(r["target"], r["ip"]) for r in failures],
        max_admins=settings.security_max_admins,
    )
    return [
        *check_database(database),
        *check_deployment(deployment_facts(settings)),
        *check_accounts(accounts),
    ]


async def run_scan(
    pool: asyncpg.Pool,
    settings: Settings,
    auditor: Auditor,
    *,
    extra: list[Finding] | None = None,
) -> ScanReport:
    """Scan, store the findings (keeping a broken chain's finding open until
    a verification clears it) and record what opened and resolved."""
    now = datetime.now(UTC)
    findings = await gather(pool, settings, now) + (extra or [])
    async with pool.acquire() as conn, conn.transaction():
        known_broken = any(f.check == CHAIN_BROKEN for f in findings)
        if not known_broken and await store.is_open(conn, CHAIN_BROKEN):
            findings.append(chain_broken_finding("not verified intact since it was found"))
        opened, resolved = await store.record_scan(
            conn,
            [(f.id, f.check, f.severity, f.title, f.evidence, f.remedy) for f in findings],
            now,
        )
        by_id = {f.id: f for f in findings}
        for finding_id in opened:
            finding = by_id[finding_id]
            await auditor.record_in(
                conn,
                "security_finding",
                "opened",
                target=finding_id,
                details={"severity": finding.severity, "title": finding.title},
            )
        for finding_id in resolved:
            await auditor.record_in(conn, "security_finding", "resolved", target=finding_id)
    for severity in SEVERITIES:
        FINDINGS_OPEN.labels(severity).set(sum(f.severity == severity for f in findings))
    for finding in findings:
        if finding.id in opened:
            level = logging.CRITICAL if finding.severity == "critical" else logging.WARNING
            log.log(level, "security finding: %s", finding.title, extra={"finding": finding.id})
    return ScanReport(findings, opened, resolved)


async def refresh_findings_gauge(pool: asyncpg.Pool) -> None:
    """Set the open-findings gauge from the stored findings.

    Only the leading node scans, and another node may lead alerting; read
    from the database, the gauge shows the same figure on every node, and a
    finding resolved outside a scan (a verified chain) leaves it too."""
    counts = await store.open_counts(pool)
    for severity in SEVERITIES:
        FINDINGS_OPEN.labels(severity).set(counts.get(severity, 0))


def chain_broken_finding(why: str) -> Finding:
    return Finding(
        CHAIN_BROKEN,
        "critical",
        "The audit log's hash chain is broken",
        why,
        "restore the audit log from a verified backup and find out who changed it",
    )


async def verify_chain(pool: asyncpg.Pool, checkpoints: list[Checkpoint]) -> Verdict:
    verifier = ChainVerifier(checkpoints)
    async with pool.acquire() as conn, contextlib.aclosing(audit_store.walk(conn)) as batches:
        async for rows in batches:
            if not verifier.feed(rows):
                break
    return verifier.verdict()


async def verify_and_record(
    pool: asyncpg.Pool, settings: Settings, auditor: Auditor, checkpoints: list[Checkpoint]
) -> Verdict:
    """Verify the chain; a broken one becomes a critical finding at once."""
    verdict = await verify_chain(pool, checkpoints)
    await auditor.record(
        "audit_verify",
        "success" if verdict.intact else "failure",
        details={"result": verdict.describe(), "events": verdict.count},
    )
    if verdict.intact:
        log.info("audit chain verified", extra={"result": verdict.describe()})
        await store.resolve(pool, CHAIN_BROKEN, datetime.now(UTC))
    else:
        log.critical("audit chain broken", extra={"result": verdict.describe()})
        await run_scan(pool, settings, auditor, extra=[chain_broken_finding(verdict.describe())])
    return verdict
