"""503 problems while the database is away.

Any request that needs PostgreSQL while it is down, restarting or out of
connections answers `503 database unavailable` with Retry-After, whichever
layer (handler, auth guard, actor) met the error; everything else falls
through to the generic error handler.
"""

from __future__ import annotations

import logging

from aiohttp import web

from ops.metrics import ERRORS
from protocols.problems import Problem
from server.keys import DB
from server.middlewares import Handler

log = logging.getLogger("rateline.errors")

RETRY_AFTER_SECONDS = 5


def database_unavailable_problem() -> Problem:
    return Problem(
        503,
        "Service Unavailable",
        "database unavailable; it is being restarted or reconnected, retry shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


@web.middleware
async def database_unavailable(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (web.HTTPException, Problem):
        raise
    except Exception as exc:
        db = request.app.get(DB)
        if db is None or not await db.is_unavailable(exc):
            raise
        ERRORS.labels("unavailable").inc()
        log.warning(
            "database unavailable",
            extra={"path": request.path, "error": type(exc).__name__},
        )
        raise database_unavailable_problem() from exc
