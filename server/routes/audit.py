"""The audit log and the security scanner over HTTP (admins only), and the
start-up service that gives every flow its Auditor (deps["audit"]) and keeps
the open-findings gauge in step with the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
import orjson
from aiohttp import web

from actors.audit.auditor import Auditor
from actors.audit.scan import refresh_findings_gauge, run_scan
from protocols.api.audit import AuditEventView, AuditPage, AuditQuery, FindingView, ScanResult
from server import keys
from server.auth import client_ip, require_user
from server.routing import ApiRoutes
from storage import audit as store
from storage import security

log = logging.getLogger("rateline.audit")

routes = ApiRoutes(tag="security")


async def audit_service(app: web.Application) -> AsyncIterator[None]:
    auditor = Auditor(app[keys.DB].pool)
    app[keys.DEPS]["audit"] = auditor
    every = app[keys.CONFIG].alert_eval_seconds
    gauge = asyncio.create_task(_refresh_findings_forever(app[keys.DB].pool, every))
    try:
        yield
    finally:
        gauge.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gauge
        await auditor.close()


async def _refresh_findings_forever(pool: asyncpg.Pool, every: float) -> None:
    """Keep this node's open-findings gauge fresh for each evaluation of the
    alert rules, whichever node scanned."""
    while True:
        try:
            await refresh_findings_gauge(pool)
        except Exception as exc:  # the database is away: next time
            log.warning("could not read the open findings", extra={"error": repr(exc)})
        await asyncio.sleep(every)


@routes.get(
    "/api/admin/audit",
    query=AuditQuery,
    response=AuditPage,
    summary="Security events of the audit log, newest first, paged",
    auth="admin",
)
async def audit_log(request: web.Request, query: AuditQuery) -> AuditPage:
    rows = await store.search(
        request.app[keys.DB].pool,
        since=query.since,
        action=query.action,
        actor=query.actor,
        before_seq=query.before,
        limit=query.limit,
    )
    events = [
        AuditEventView(
            seq=r.seq,
            at=r.at,
            actor=r.actor,
            action=r.action,
            target=r.target,
            outcome=r.outcome,
            ip=r.ip,
            request_id=r.request_id,
            details=orjson.loads(r.details),
            hash=r.hash.hex(),
        )
        for r in rows
    ]
    more = len(rows) == query.limit and rows[-1].seq > 1
    return AuditPage(events=events, next_before=rows[-1].seq if more else None)


@routes.get(
    "/api/admin/security/findings",
    response=list[FindingView],
    summary="Open findings of the security scanner, most severe first",
    auth="admin",
)
async def findings(request: web.Request) -> list[FindingView]:
    rows = await security.open_findings(request.app[keys.DB].pool)
    return [
        FindingView(
            id=r.id,
            check=r.check_id,
            severity=r.severity,  # type: ignore[arg-type]
            title=r.title,
            evidence=r.evidence,
            remedy=r.remedy,
            first_seen=r.first_seen,
            last_seen=r.last_seen,
        )
        for r in rows
    ]


@routes.post(
    "/api/admin/security/scans",
    response=ScanResult,
    summary="Run the security scan now and answer what it found",
    auth="admin",
)
async def scan_now(request: web.Request) -> ScanResult:
    admin = await require_user(request, "admin")
    pool = request.app[keys.DB].pool
    auditor: Auditor = request.app[keys.DEPS]["audit"]
    report = await run_scan(pool, request.app[keys.CONFIG], auditor)
    await auditor.record(
        "security_scan",
        "success",
        actor=str(admin.id),
        ip=client_ip(request),
        request_id=request.get(keys.REQUEST_ID),
        details={"findings": len(report.findings), "critical": len(report.critical)},
    )
    stored = {r.id: r for r in await security.open_findings(pool)}
    return ScanResult(
        findings=[
            FindingView(
                id=f.id,
                check=f.check,
                severity=f.severity,
                title=f.title,
                evidence=f.evidence,
                remedy=f.remedy,
                first_seen=stored[f.id].first_seen,
                last_seen=stored[f.id].last_seen,
            )
            for f in report.findings
        ],
        opened=report.opened,
        resolved=report.resolved,
    )
