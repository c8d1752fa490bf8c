"""The dev mailbox: emails kept in the outbox, readable over HTTP.

Without SMTP the server keeps every email; a developer running locally reads
the verification link here. The route exists only with RATELINE_DEV_MAILBOX=1
and no RATELINE_SMTP_URL, so a production server (which has SMTP) never
exposes anyone's mail, and answers 404 as if there were nothing here.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web
from msgspec import Meta

from protocols.api.auth import MailboxItem
from server import keys
from server.routing import ApiRoutes
from storage import outbox

routes = ApiRoutes(tag="development")


class MailboxQuery(msgspec.Struct, kw_only=True):
    to: Annotated[str, Meta(description="Only emails to this address")] | None = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 100


@routes.get("/api/dev/mailbox", query=MailboxQuery, response=list[MailboxItem])
async def mailbox(request: web.Request, query: MailboxQuery) -> list[MailboxItem]:
    """Emails in the outbox, newest first (development servers only)"""
    if not request.app[keys.CONFIG].dev_mailbox_enabled:
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
