"""The alerting actor's I/O: reading and writing alerts, queueing and sending
notifications. Coroutines run on the server loop (through `run_io`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import msgspec
import orjson

from actors.alerting.config import AlertingConfig
from actors.alerting.rules import parse_matchers
from actors.alerting.state import Alert, Silence
from actors.mailer.outbox import enqueue
from protocols.alertmanager import DeliveryFailed, alerts_url, post_json
from storage import alerts as rows
from storage.database import Executor

log = logging.getLogger("rateline.alerting")

RETRY_CAP = timedelta(minutes=10)


def to_alert(row: dict[str, Any]) -> Alert:
    return Alert(**row)


def to_row(alert: Alert) -> dict[str, Any]:
    row = {f.name: getattr(alert, f.name) for f in fields(alert)}
    row["labels"] = dict(alert.labels)
    return row


def to_silence(row: dict[str, Any]) -> Silence:
    return Silence(
        id=str(row["id"]),
        matchers=parse_matchers(row["matchers"]),
        ends_at=row["ends_at"],
        comment=row["comment"],
        created_by=row["created_by"],
    )


async def load_active(db: Executor) -> dict[str, Alert]:
    return {r["fingerprint"]: to_alert(r) for r in await rows.active_alerts(db)}


async def read_context(
    db: Executor, fingerprints: list[str], now: datetime
) -> tuple[dict[str, Any], list[Silence]]:
    """Acknowledgements (made through the API, on any node) and live silences."""
    acks = await rows.acknowledgements(db, fingerprints)
    silences = [to_silence(r) for r in await rows.active_silences(db, now)]
    return acks, silences


@dataclass
class Write:
    """Everything one evaluation changes, written in one transaction."""

    save: list[Alert] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    deliveries: list[tuple[str, Any]] = field(default_factory=list)
    emails: list[tuple[str, dict[str, str]]] = field(default_factory=list)


async def commit(pool: Any, write: Write) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await rows.save_alerts(conn, [to_row(a) for a in write.save])
        await rows.delete_pending(conn, write.drop)
        for target, payload in write.deliveries:
            await rows.queue_delivery(conn, target, msgspec.to_builtins(payload))
        for to, context in write.emails:
            await enqueue(conn, to=to, template="alert", context=context)


def _backoff(base: float, attempts: int) -> timedelta:
    return min(RETRY_CAP, timedelta(seconds=base * 2 ** min(attempts, 20)))


async def deliver_due(pool: Any, session: aiohttp.ClientSession, config: AlertingConfig) -> int:
    """Send queued webhook and Alertmanager notifications; a failure waits and retries."""
    sent = 0
    now = datetime.now(UTC)
    for delivery in await rows.due_deliveries(pool, now):
        url = config.webhook_url if delivery["target"] == "webhook" else config.alertmanager_url
        try:
            if url is None:
                raise DeliveryFailed(f"no {delivery['target']} is configured now")
            if delivery["target"] == "alertmanager":
                url = alerts_url(url)
            body = orjson.dumps(delivery["payload"])
            await post_json(session, url, body, seconds=config.delivery_timeout)
        except DeliveryFailed as exc:
            log.warning(
                "alert notification not delivered; will retry",
                extra={"target": delivery["target"], "error": str(exc)},
            )
            later = now + _backoff(config.retry_base, delivery["attempts"])
            await rows.retry_later(pool, delivery["id"], str(exc), later)
            continue
        await rows.delivered(pool, delivery["id"])
        sent += 1
    return sent
