"""Recording security events: the one door into the audit log.

Handlers and actors call `record` (its own transaction, shared with other
events arriving at the same moment) or `record_in` (inside the caller's
transaction, so the event commits with the change it describes). Both count
the event for monitoring.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
from prometheus_client import Counter

from storage import audit as store
from storage.audit import AuditEvent, AuditRow, AuditWriter

SECURITY_EVENTS = Counter(
    "rateline_security_events_total",
    "Security events recorded in the audit log, by action and outcome.",
    ["action", "outcome"],
)


def event(
    action: str,
    outcome: str,
    *,
    actor: str = "system",
    target: str | None = None,
    ip: str | None = None,
    request_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent(action, outcome, actor, target, ip, request_id, details or {})


class Auditor:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.writer = AuditWriter(pool)

    async def record(self, action: str, outcome: str, **fields: Any) -> AuditRow:
        row = await self.writer.record(event(action, outcome, **fields))
        SECURITY_EVENTS.labels(action, outcome).inc()
        return row

    async def record_in(
        self, conn: asyncpg.Connection, action: str, outcome: str, **fields: Any
    ) -> AuditRow:
        [row] = await store.append(conn, [event(action, outcome, **fields)])
        SECURITY_EVENTS.labels(action, outcome).inc()
        return row

    async def close(self) -> None:
        await self.writer.close()
