"""The dev mailbox: emails kept in the outbox, readable over HTTP.

Without SMTP the server keeps every email; a developer running locally reads
the verification link here. The route exists only with RATELINE_DEV_MAILBOX
on and no RATELINE_SMTP_URL, so a production server (which has SMTP) never
exposes anyone's mail. Even then the held links open accounts, so they are
shown to anyone only while the server listens on loopback (a developer's own
machine); a server reachable from elsewhere shows them to admins alone, and
answers 404 to everyone else as if there were nothing here.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

import msgspec
from aiohttp import web
from msgspec import Meta

from protocols.api.auth import MailboxItem
from server import keys
from server.auth import current_user
from server.routing import ApiRoutes
from storage import outbox

routes = ApiRoutes(tag="development")
NO_NUL = "^[^\x00]*$"


class MailboxQuery(msgspec.Struct, kw_only=True):
    to: (
        Annotated[str, Meta(pattern="^[^\x00]*$", description="Only emails to this address")] | None
    ) = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 100


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; False for 0.0.0.0 and the rest."""
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def _may_read(request: web.Request) -> bool:
    settings = request.app[keys.CONFIG]
    if not settings.dev_mailbox_enabled:
        return False
    if is_loopback(settings.host) and is_loopback(request.remote):
        return True
    user = await current_user(request)
    return user is not None and user.role == "admin"


@routes.get("/api/dev/mailbox", query=MailboxQuery, response=list[MailboxItem])
async def mailbox(request: web.Request, query: MailboxQuery) -> list[MailboxItem]:
    """Emails in the outbox, newest first (development servers on loopback, or admins)"""
    if not await _may_read(request):
        raise web.HTTPNotFound()
    rows = await outbox.recent(request.app[keys.DB].pool, limit=query.limit, to=query.to)
    return [
        MailboxItem(
            id=r.id,
            to=r.to_address,
            subject=r.subject,
            text=r.text_body,
            html=r.html_body,
            status=r.status,
            created_at=r.created_at,
        )
        for r in rows
    ]
