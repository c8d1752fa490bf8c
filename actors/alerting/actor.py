"""The alerting actor: every `eval_seconds` it evaluates the rules against
this process's metrics registry, moves alert states on, stores them, and
notifies the team (email through the outbox, a webhook, Alertmanager, the
admins' `alerts` WebSocket channel).

With several nodes only the leader of "alerting" evaluates (the lease is
taken by server.routes.alerts); a node that gains the lead reloads the
alerts stored by the previous leader. Notifications are decided from
stored state (what the team was last told), so a restart neither loses
nor repeats one; a cycle's changes are kept only once they are stored.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import msgspec
import orjson
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.registry import CollectorRegistry

from actors.alerting import notify
from actors.alerting.config import AlertingConfig
from actors.alerting.evaluate import Evaluator, Snapshot
from actors.alerting.state import FIRING, Alert, Notice, Plan, advance_all, plan_notifications
from actors.alerting.store import Write, commit, deliver_due, load_active, read_context
from actors.runtime import ActorContext, RatelineActor
from protocols.alertmanager import alerts_url, post_json
from protocols.email_templates import add_folder

log = logging.getLogger("rateline.alerting")

NAME = "alerting"
CHANNEL = "alerts:all"

add_folder(Path(__file__).parent / "templates")

EVALUATIONS = Histogram(
    "rateline_alert_evaluation_seconds",
    "Time to evaluate every alert rule once.",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
)
NOTIFICATIONS = Counter(
    "rateline_alert_notifications_total",
    "Alert notifications queued, by kind (firing, repeat, resolved) and severity.",
    ["kind", "severity"],
)


@dataclass(frozen=True)
class Evaluate:
    """Evaluate the rules now."""


@dataclass(frozen=True)
class Tick:
    """The timer fired: evaluate, and again in `eval_seconds`."""


@dataclass(frozen=True)
class CycleReport:
    leading: bool
    changed: int = 0
    notified: int = 0
    delivered: int = 0
    failed: bool = False


class AlertingActor(RatelineActor):
    def __init__(
        self,
        ctx: ActorContext,
        config: AlertingConfig,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        super().__init__(ctx)
        self.config = config
        self.registry = registry
        self.evaluator = Evaluator(config.rules)
        self.alerts: dict[str, Alert] = {}
        self.loaded = False
        self._session: aiohttp.ClientSession | None = None
        self._refreshed_at: datetime | None = None

    def on_start(self) -> None:
        self.tell_later(self.config.eval_seconds, Tick())

    def on_stop(self) -> None:
        self._close_session()

    def on_failure(self, *exc_info: Any) -> None:
        self._close_session()

    def handle(self, message: Any) -> Any:
        if isinstance(message, Tick):
            self.tell_later(self.config.eval_seconds, Tick())
        if isinstance(message, Evaluate | Tick):
            try:
                return self._cycle()
            except (asyncpg.PostgresError, OSError, TimeoutError):
                # The database is away: keep what was last stored and try next time.
                log.exception("alert evaluation could not be stored")
                return CycleReport(leading=True, failed=True)
        raise TypeError(f"{self.name} does not handle {message!r}")

    # -- one evaluation ------------------------------------------------------------

    def _cycle(self) -> CycleReport:
        leadership = self.ctx.deps.get("alerting_leadership")
        if leadership is not None and not leadership.leader:
            self.loaded = False
            return CycleReport(leading=False)
        pool = self.ctx.deps["db"].pool
        now = datetime.now(UTC)
        if not self.loaded:
            self.alerts = self.run_io(load_active(pool), timeout=30)
            self.loaded = True
        with EVALUATIONS.time():
            results = self.evaluator.evaluate(Snapshot.of(self.registry.collect()), now.timestamp())
            work = dict(self.alerts)
            changed = advance_all(self.config.rules, work, results, now)
        acks, silences = self.run_io(read_context(pool, list(work), now), timeout=30)
        for fp, (by, at) in acks.items():
            if fp in work:
                work[fp] = replace(work[fp], acknowledged_by=by, acknowledged_at=at)
        plan = plan_notifications(work, silences, now, self.config.repeat)
        for notice in plan.notices:
            work[notice.alert.fingerprint] = replace(
                notice.alert,
                notified_state=notice.alert.state,
                last_notified_at=now,
            )
        write = self._write(work, changed, plan, now)
        self.run_io(commit(pool, write), timeout=30)
        self.alerts = work
        for severity, notices in plan.by_severity().items():
            for notice in notices:
                NOTIFICATIONS.labels(notice.kind, severity).inc()
        delivered = self.run_io(self._after_commit(plan, now), timeout=60)
        return CycleReport(
            leading=True, changed=len(changed), notified=len(plan.notices), delivered=delivered
        )

    def _write(
        self, work: dict[str, Alert], changed: list[Alert], plan: Plan, now: datetime
    ) -> Write:
        write = Write()
        touched = {a.fingerprint for a in changed} | {n.alert.fingerprint for n in plan.notices}
        write.save = [work[fp] for fp in touched if fp in work]
        write.drop = [a.fingerprint for a in changed if a.state == "inactive"]
        public = self.config.public_url
        for severity, notices in plan.by_severity().items():
            if self.config.webhook_url:
                message = notify.webhook_message(severity, notices, public)
                write.deliveries.append(("webhook", message))
            if self.config.alertmanager_url:
                lease = now + self._am_lease()
                batch = [notify.postable(n.alert, public, lease) for n in notices]
                write.deliveries.append(("alertmanager", batch))
            context = notify.email_context(severity, notices, public)
            write.emails.extend((to, context) for to in self.config.emails)
        return write

    def _am_lease(self) -> timedelta:
        return timedelta(seconds=4 * max(self.config.eval_seconds, 60.0))

    async def _after_commit(self, plan: Plan, now: datetime) -> int:
        hub = self.ctx.deps.get("ws_hub")
        if hub is not None:
            for severity, notices in plan.by_severity().items():
                await hub.publish(CHANNEL, _frame(severity, notices))
        if self._session is None:
            self._session = aiohttp.ClientSession()
        delivered = await deliver_due(self.ctx.deps["db"].pool, self._session, self.config)
        await self._refresh_alertmanager(now)
        return delivered

    async def _refresh_alertmanager(self, now: datetime) -> None:
        """Re-post what fires, so Alertmanager does not resolve it at its lease's end."""
        url = self.config.alertmanager_url
        if url is None or self._session is None:
            return
        if self._refreshed_at is not None and now - self._refreshed_at < timedelta(minutes=1):
            return
        firing = [a for a in self.alerts.values() if a.state == FIRING and a.notified_state]
        if not firing:
            return
        lease = now + self._am_lease()
        body = orjson.dumps(
            msgspec.to_builtins([notify.postable(a, self.config.public_url, lease) for a in firing])
        )
        try:
            await post_json(
                self._session, alerts_url(url), body, seconds=self.config.delivery_timeout
            )
            self._refreshed_at = now
        except Exception as exc:
            log.warning("could not refresh Alertmanager", extra={"error": repr(exc)})

    def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        loop = self.ctx.loop
        with contextlib.suppress(RuntimeError):  # the loop is closed already
            loop.call_soon_threadsafe(lambda: loop.create_task(session.close()))


def _frame(severity: str, notices: list[Notice]) -> dict[str, Any]:
    return {
        "status": notify.group_status(notices),
        "severity": severity,
        "alerts": [{**notify.view(n.alert), "notification": n.kind} for n in notices],
    }
