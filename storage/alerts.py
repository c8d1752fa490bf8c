"""Alert instances, silences and pending deliveries.

Rows are plain mappings of columns so storage stays free of the alerting
package's types; actors.alerting.store turns them into Alerts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from storage.database import Executor

# Advisory lock key of the alerting leader (see storage.leases).
ALERTING_LEASE = 0x52_4C_41_4C_45_52_54  # "RLALERT"

ALERT_COLUMNS = (
    "fingerprint",
    "name",
    "severity",
    "labels",
    "state",
    "value",
    "summary",
    "description",
    "active_at",
    "last_true_at",
    "started_at",
    "resolved_at",
    "notified_state",
    "last_notified_at",
    "acknowledged_by",
    "acknowledged_at",
)
_SELECT = ", ".join(ALERT_COLUMNS)


def _alert(record: Any) -> dict[str, Any]:
    row = dict(record)
    row["labels"] = orjson.loads(row["labels"])
    return row


async def save_alerts(conn: Executor, alerts: Iterable[Mapping[str, Any]]) -> None:
    """Insert or replace alert rows. Acknowledgement columns are the API's: an
    evaluation keeps those already stored, unless it starts a new episode."""
    rows = [
        tuple(orjson.dumps(a["labels"]).decode() if c == "labels" else a[c] for c in ALERT_COLUMNS)
        for a in alerts
    ]
    if not rows:
        return
    placeholders = ", ".join(f"${i}" for i in range(1, len(ALERT_COLUMNS) + 1))
    await conn.executemany(
        f"""
        INSERT INTO alerts ({_SELECT}) VALUES ({placeholders})
        ON CONFLICT (fingerprint) DO UPDATE SET
            name = EXCLUDED.name, severity = EXCLUDED.severity, labels = EXCLUDED.labels,
            state = EXCLUDED.state, value = EXCLUDED.value, summary = EXCLUDED.summary,
            description = EXCLUDED.description, active_at = EXCLUDED.active_at,
            last_true_at = EXCLUDED.last_true_at, started_at = EXCLUDED.started_at,
            resolved_at = EXCLUDED.resolved_at, notified_state = EXCLUDED.notified_state,
            last_notified_at = EXCLUDED.last_notified_at,
            acknowledged_by = CASE WHEN alerts.active_at = EXCLUDED.active_at
                THEN alerts.acknowledged_by END,
            acknowledged_at = CASE WHEN alerts.active_at = EXCLUDED.active_at
                THEN alerts.acknowledged_at END,
            updated_at = now()
        """,
        rows,
    )


async def delete_pending(conn: Executor, fingerprints: Sequence[str]) -> None:
    """A pending alert whose condition stopped holding never happened."""
    if fingerprints:
        await conn.execute(
            "DELETE FROM alerts WHERE fingerprint = ANY($1) AND state = 'pending'",
            list(fingerprints),
        )


async def active_alerts(conn: Executor) -> list[dict[str, Any]]:
    """Pending and firing alerts, and resolved ones the team was not yet told of."""
    records = await conn.fetch(
        f"""
        SELECT {_SELECT} FROM alerts
        WHERE state <> 'resolved' OR notified_state = 'firing'
        """
    )
    return [_alert(r) for r in records]


async def list_alerts(
    conn: Executor,
    *,
    state: str | None = None,
    severity: str | None = None,
    resolved_within: timedelta = timedelta(days=7),
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Pending and firing alerts, then recently resolved ones; newest first."""
    records = await conn.fetch(
        f"""
        SELECT {_SELECT} FROM alerts
        WHERE ($1::text IS NULL OR state = $1)
          AND ($2::text IS NULL OR severity = $2)
          AND (state <> 'resolved' OR resolved_at > now() - $3::interval)
        ORDER BY (state = 'firing') DESC, coalesce(started_at, active_at) DESC
        LIMIT $4
        """,
        state,
        severity,
        resolved_within,
        limit,
    )
    return [_alert(r) for r in records]


async def get_alert(conn: Executor, fingerprint: str) -> dict[str, Any] | None:
    record = await conn.fetchrow(
        f"SELECT {_SELECT} FROM alerts WHERE fingerprint = $1", fingerprint
    )
    return _alert(record) if record is not None else None


async def acknowledge(
    conn: Executor, fingerprint: str, by: str, at: datetime
) -> dict[str, Any] | None:
    """Record who acknowledged; the first acknowledgement of an episode stands."""
    record = await conn.fetchrow(
        f"""
        UPDATE alerts SET acknowledged_by = coalesce(acknowledged_by, $2),
                          acknowledged_at = coalesce(acknowledged_at, $3),
                          updated_at = now()
        WHERE fingerprint = $1
        RETURNING {_SELECT}
        """,
        fingerprint,
        by,
        at,
    )
    return _alert(record) if record is not None else None


async def acknowledgements(conn: Executor, fingerprints: Sequence[str]) -> dict[str, Any]:
    """fingerprint -> (acknowledged_by, acknowledged_at) for the acknowledged ones."""
    records = await conn.fetch(
        """
        SELECT fingerprint, acknowledged_by, acknowledged_at FROM alerts
        WHERE fingerprint = ANY($1) AND acknowledged_at IS NOT NULL
        """,
        list(fingerprints),
    )
    return {r["fingerprint"]: (r["acknowledged_by"], r["acknowledged_at"]) for r in records}


# -- silences -----------------------------------------------------------------

_SILENCE = "id, matchers, ends_at, comment, created_by, created_at, expired_at"


def _silence(record: Any) -> dict[str, Any]:
    row = dict(record)
    row["matchers"] = orjson.loads(row["matchers"])
    return row


async def add_silence(
    conn: Executor, *, matchers: Mapping[str, str], ends_at: datetime, comment: str, by: str
) -> dict[str, Any]:
    record = await conn.fetchrow(
        f"""
        INSERT INTO alert_silences (matchers, ends_at, comment, created_by)
        VALUES ($1, $2, $3, $4) RETURNING {_SILENCE}
        """,
        orjson.dumps(dict(matchers)).decode(),
        ends_at,
        comment,
        by,
    )
    return _silence(record)


async def active_silences(conn: Executor, now: datetime) -> list[dict[str, Any]]:
    records = await conn.fetch(
        f"""
        SELECT {_SILENCE} FROM alert_silences
        WHERE expired_at IS NULL AND ends_at > $1 ORDER BY ends_at
        """,
        now,
    )
    return [_silence(r) for r in records]


async def expire_silence(conn: Executor, silence_id: uuid.UUID) -> bool:
    """End a silence now; False when there is no such silence still running."""
    done = await conn.execute(
        """
        UPDATE alert_silences SET expired_at = now()
        WHERE id = $1 AND expired_at IS NULL AND ends_at > now()
        """,
        silence_id,
    )
    return bool(done.endswith(" 1"))


# -- deliveries -----------------------------------------------------------------


async def queue_delivery(conn: Executor, target: str, payload: Mapping[str, Any]) -> int:
    row_id: int = await conn.fetchval(
        "INSERT INTO alert_deliveries (target, payload) VALUES ($1, $2) RETURNING id",
        target,
        orjson.dumps(payload).decode(),
    )
    return row_id


async def due_deliveries(conn: Executor, now: datetime, limit: int = 50) -> list[dict[str, Any]]:
    records = await conn.fetch(
        """
        SELECT id, target, payload, attempts FROM alert_deliveries
        WHERE delivered_at IS NULL AND next_attempt_at <= $1
        ORDER BY id LIMIT $2
        """,
        now,
        limit,
    )
    return [{**dict(r), "payload": orjson.loads(r["payload"])} for r in records]


async def delivered(conn: Executor, delivery_id: int) -> None:
    await conn.execute(
        "UPDATE alert_deliveries SET delivered_at = now(), attempts = attempts + 1 WHERE id = $1",
        delivery_id,
    )


async def retry_later(conn: Executor, delivery_id: int, error: str, at: datetime) -> None:
    await conn.execute(
        """
        UPDATE alert_deliveries
        SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3
        WHERE id = $1
        """,
        delivery_id,
        error[:500],
        at,
    )
