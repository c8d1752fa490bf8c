"""Which errors mean "the database is away" (503) and which are bugs (500)."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from server import keys
from server.middlewares import problems
from server.unavailable import database_unavailable
from storage.database import Database


async def test_an_error_counts_as_unavailability_only_when_the_database_is_away(
    db: Database,
) -> None:
    assert await db.is_unavailable(asyncpg.AdminShutdownError("terminating connection"))
    assert await db.is_unavailable(asyncpg.CannotConnectNowError("starting up"))
    wrapped = RuntimeError("could not store")
    wrapped.__cause__ = asyncpg.ConnectionDoesNotExistError("closed mid-operation")
    assert await db.is_unavailable(wrapped)

    # The database answers, so these are something else: a bug or another peer.
    busy = asyncpg.InterfaceError("cannot perform operation: another operation is in progress")
    assert not await db.is_unavailable(busy)
    assert not await db.is_unavailable(ConnectionRefusedError(111, "the SMTP relay"))
    assert not await db.is_unavailable(ValueError("a plain bug"))


async def test_an_unrelated_connection_error_stays_a_500(db: Database, aiohttp_client) -> None:
    async def refused(request: web.Request) -> web.Response:
        raise ConnectionRefusedError(111, "some other service")

    async def shutdown(request: web.Request) -> web.Response:
        raise asyncpg.AdminShutdownError("terminating connection due to administrator command")

    app = web.Application(middlewares=[problems, database_unavailable])
    app[keys.DB] = db
    app.router.add_get("/refused", refused)
    app.router.add_get("/shutdown", shutdown)
    client = await aiohttp_client(app)

    bug = await client.get("/refused")
    assert bug.status == 500
    away = await client.get("/shutdown")
    assert away.status == 503
    assert away.headers["Retry-After"].isdigit()
    assert "database unavailable" in (await away.json())["detail"]
