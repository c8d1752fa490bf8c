"""Admin actions in the audit log: which admin did what to which object,
from where, under which request id, and how it went.

Pass `conn` when the change has a transaction, so the event commits with
it; without one the event is recorded right after the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
from aiohttp import web

from actors.audit.auditor import Auditor
from server import keys
from server.auth import User, client_ip


async def record_admin_action(
    request: web.Request,
    admin: User,
    action: str,
    outcome: str,
    *,
    target: str,
    details: Mapping[str, Any] | None = None,
    conn: asyncpg.Connection | None = None,
) -> None:
    auditor: Auditor = request.app[keys.DEPS]["audit"]
    fields: dict[str, Any] = {
        "actor": str(admin.id),
        "target": target,
        "ip": client_ip(request),
        "request_id": request.get(keys.REQUEST_ID),
        "details": {"admin": admin.email, **(details or {})},
    }
    if conn is None:
        await auditor.record(action, outcome, **fields)
    else:
        await auditor.record_in(conn, action, outcome, **fields)
