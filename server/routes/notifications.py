"""Stored notifications: what a user was told live, for reading later."""

from __future__ import annotations

from aiohttp import web

from protocols.api.leads import NotificationsQuery, NotificationView
from protocols.problems import Problem
from server import keys
from server.auth import require_user
from server.routing import ApiRoutes
from storage import inbox

routes = ApiRoutes(tag="notifications")


@routes.get(
    "/api/notifications", query=NotificationsQuery, response=list[NotificationView], auth="user"
)
async def list_notifications(
    request: web.Request, query: NotificationsQuery
) -> list[NotificationView]:
    """Your notifications, newest first"""
    user = await require_user(request)
    rows = await inbox.for_user(
        request.app[keys.DB].pool, user.id, unread=query.unread, limit=query.limit
    )
    return [
        NotificationView(
            id=r.id,
            kind=r.kind,  # type: ignore[arg-type]
            channel=r.channel,
            data=r.data,
            created_at=r.created_at,
            read_at=r.read_at,
        )
        for r in rows
    ]


@routes.post("/api/notifications/{id}/read", status=204, auth="user")
async def mark_read(request: web.Request) -> web.Response:
    """Mark one of your notifications read"""
    user = await require_user(request)
    try:
        notification_id = int(request.match_info["id"])
    except ValueError:
        notification_id = -1
    if not await inbox.mark_read(request.app[keys.DB].pool, user.id, notification_id):
        raise Problem(404, "No such notification", "there is no notification of yours with this id")
    return web.Response(status=204)
