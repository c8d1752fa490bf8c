"""Roles over HTTP: an admin makes a user a consumer, broker or admin.

The first admin comes from the command line (`rateline admin create`, in
server/admin_cli.py); after that, admins promote and demote here, and every
change lands in the security-event trail. A change ends the user's sessions:
what they were let into under the old role (a broker's private channel, an
admin page left open) closes, and they sign in again under the new one.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from protocols.api.auth import RoleChange, User
from protocols.problems import Problem
from server import keys
from server.auth import audit, require_user
from server.routes.auth import public_user
from server.routing import ApiRoutes
from storage import accounts as store
from storage import sessions as session_store

# The same OpenAPI tag as the rest of /api/auth.
routes = ApiRoutes(tag="auth")


@routes.put("/api/auth/users/{id}/role", body=RoleChange, response=User, auth="admin")
async def change_role(request: web.Request, body: RoleChange) -> User:
    """Make a user a consumer, broker or admin (admins only)"""
    admin = await require_user(request, "admin")
    try:
        user_id = uuid.UUID(request.match_info["id"])
    except ValueError:
        raise Problem(404, "No such user", "the id is not a user id") from None
    pool = request.app[keys.DB].pool
    async with pool.acquire() as conn, conn.transaction():
        user = await store.user_by_id(conn, user_id)
        if user is None:
            raise Problem(404, "No such user", f"there is no user {user_id}")
        if user.id == admin.id and body.role != "admin":
            raise Problem(409, "Cannot demote yourself", "ask another admin to change your role")
        ended = 0
        if body.role != user.role:
            await store.set_role(conn, user.id, body.role)
            ended = await session_store.end_all_sessions(conn, user.id)
        await audit(
            conn,
            request,
            "role_change",
            "success",
            user.id,
            user.email,
            detail=f"{user.role} -> {body.role} by {admin.id}; {ended} sessions ended",
        )
        user = await store.user_by_id(conn, user_id)
    assert user is not None
    return public_user(user)
