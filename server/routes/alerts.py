"""Alerts over HTTP and WebSocket, for admins: list and acknowledge alerts,
silence them; the `alerts:all` channel carries every notification live.

`lifespan` is the start-up service of alerting: it takes part in the
election of the node that evaluates (advisory lock "alerting"), registers
the admin-only `alerts` channel kind with the hub, counts system errors
as they are logged and watches the event loop's lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from actors.alerting.actor import CHANNEL
from actors.alerting.notify import view
from actors.alerting.rules import Matcher
from actors.alerting.store import to_alert
from actors.runtime.leadership import Leadership
from ops.error_metrics import count_system_errors
from ops.loop_lag import watch_loop_lag
from protocols.api.alerts import AlertOut, AlertQuery, SilenceIn, SilenceOut
from protocols.problems import BROKEN_RULE, Problem, invalid
from server import keys
from server.admin_audit import record_admin_action
from server.auth import require_user, session_token, user_for_token
from server.routing import ApiRoutes
from storage import alerts as store
from storage.leases import LEASE_TIMEOUT, AdvisoryLease

routes = ApiRoutes(tag="alerts")


def _alert_out(row: dict[str, Any]) -> AlertOut:
    alert = to_alert(row)
    return AlertOut(
        fingerprint=alert.fingerprint,
        name=alert.name,
        state=alert.state,  # type: ignore[arg-type]
        severity=alert.severity,  # type: ignore[arg-type]
        labels=dict(alert.labels),
        summary=alert.summary,
        description=alert.description,
        value=alert.value,
        started_at=alert.started_at or alert.active_at,
        resolved_at=alert.resolved_at,
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=alert.acknowledged_at,
    )


def _silence_out(row: dict[str, Any]) -> SilenceOut:
    return SilenceOut(
        id=row["id"],
        matchers=row["matchers"],
        until=row["ends_at"],
        comment=row["comment"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


@routes.get("/api/admin/alerts", query=AlertQuery, response=list[AlertOut], auth="admin")
async def list_alerts(request: web.Request, query: AlertQuery) -> list[AlertOut]:
    """Pending and firing alerts, then those resolved in the last 7 days"""
    rows = await store.list_alerts(
        request.app[keys.DB].pool, state=query.state, severity=query.severity
    )
    return [_alert_out(r) for r in rows]


@routes.post("/api/admin/alerts/{fingerprint}/ack", response=AlertOut, auth="admin")
async def acknowledge(request: web.Request) -> AlertOut:
    """Acknowledge an alert: who and when is shown everywhere, and repeats stop"""
    admin = await require_user(request, "admin")
    fingerprint = request.match_info["fingerprint"]
    async with request.app[keys.DB].pool.acquire() as conn, conn.transaction():
        row = await store.acknowledge(conn, fingerprint, admin.email, datetime.now(UTC))
        await record_admin_action(
            request,
            admin,
            "alert_acknowledged",
            "success" if row is not None else "failure",
            target=fingerprint,
            details={"alert": row["name"]} if row is not None else {"reason": "no such alert"},
            conn=conn,
        )
    if row is None:
        raise Problem(404, "No such alert", f"there is no alert {fingerprint}")
    hub = request.app[keys.DEPS].get("ws_hub")
    if hub is not None:
        await hub.publish(CHANNEL, {"status": "acknowledged", "alerts": [view(to_alert(row))]})
    return _alert_out(row)


def _check_silence(body: SilenceIn) -> None:
    """The rules no schema states: `until` lies ahead of the server's clock,
    and a `~` matcher is a regular expression Python compiles."""
    if body.until.tzinfo is None:
        raise invalid("/until", "give a time zone, e.g. 2026-01-05T18:00:00Z")
    if body.until <= datetime.now(UTC):
        raise invalid("/until", "must be in the future", type=BROKEN_RULE)
    for label, value in body.matchers.items():
        try:
            Matcher.parse(label, value)
        except Exception as exc:
            raise invalid(
                f"/matchers/{label}", f"not a regular expression: {exc}", type=BROKEN_RULE
            ) from None


@routes.post(
    "/api/admin/silences",
    body=SilenceIn,
    response=SilenceOut,
    status=201,
    auth="admin",
    check=_check_silence,
)
async def add_silence(request: web.Request, body: SilenceIn) -> SilenceOut:
    """Silence the notifications of matching alerts until a time"""
    admin = await require_user(request, "admin")
    async with request.app[keys.DB].pool.acquire() as conn, conn.transaction():
        row = await store.add_silence(
            conn, matchers=body.matchers, ends_at=body.until, comment=body.comment, by=admin.email
        )
        await record_admin_action(
            request,
            admin,
            "silence_created",
            "success",
            target=str(row["id"]),
            details={
                "matchers": row["matchers"],
                "until": row["ends_at"].isoformat(),
                "comment": row["comment"],
            },
            conn=conn,
        )
    return _silence_out(row)


@routes.get("/api/admin/silences", response=list[SilenceOut], auth="admin")
async def list_silences(request: web.Request) -> list[SilenceOut]:
    """Silences in force"""
    rows = await store.active_silences(request.app[keys.DB].pool, datetime.now(UTC))
    return [_silence_out(r) for r in rows]


@routes.delete("/api/admin/silences/{id}", status=204, auth="admin")
async def end_silence(request: web.Request) -> web.Response:
    """End a silence now"""
    admin = await require_user(request, "admin")
    try:
        silence_id = uuid.UUID(request.match_info["id"])
    except ValueError:
        raise Problem(404, "No such silence", "the id is not a silence id") from None
    async with request.app[keys.DB].pool.acquire() as conn, conn.transaction():
        ended = await store.expire_silence(conn, silence_id)
        await record_admin_action(
            request,
            admin,
            "silence_deleted",
            "success" if ended else "failure",
            target=str(silence_id),
            details={} if ended else {"reason": "no such silence in force"},
            conn=conn,
        )
    if not ended:
        raise Problem(404, "No such silence", f"no silence {silence_id} is in force")
    return web.Response(status=204)


# -- the start-up service ----------------------------------------------------------


async def _is_admin(app: web.Application, conn: Any) -> bool:
    identity = getattr(conn, "identity", None)
    if identity is not None:
        return getattr(identity, "role", None) == "admin"
    token = session_token(conn.request)
    user = await user_for_token(app, token) if token else None
    return user is not None and user.role == "admin"


async def lifespan(app: web.Application) -> AsyncIterator[None]:
    count_system_errors()
    deps: dict[str, Any] = app[keys.DEPS]
    settings = app[keys.CONFIG]

    async def authorize(conn: Any, channel: str) -> bool:
        return channel == CHANNEL and await _is_admin(app, conn)

    async def snapshot(conn: Any, channel: str) -> Any:
        rows = await store.list_alerts(app[keys.DB].pool)
        return {"alerts": [view(to_alert(r)) for r in rows if r["state"] != "resolved"]}

    hub = deps.get("ws_hub")
    if hub is not None:
        hub.add_channel_kind(CHANNEL.partition(":")[0], authorize, snapshot)
    every = settings.leader_check_seconds
    lease = AdvisoryLease(app[keys.DB].dsn, store.ALERTING_LEASE, silence=2 * every + LEASE_TIMEOUT)
    leadership = Leadership("alerting", lease, check_every=every)
    await leadership.start()
    deps["alerting_leadership"] = leadership
    lag = asyncio.create_task(watch_loop_lag())
    try:
        yield
    finally:
        lag.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lag
        deps.pop("alerting_leadership", None)
        await leadership.stop()
