"""Leads over HTTP: capture, reads, a broker's answers, and the borrower's opt-out.

Capture stores the lead (with its consent, the confirmation email and the
idempotency key) in one transaction before it answers 202; routing and
scoring happen afterwards in the lead actor, which resumes unfinished leads
from the database when it starts, so a crash after the answer loses nothing.
"""

from __future__ import annotations

import hmac
import html
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
from aiohttp import web

from actors.accounts.identity import InvalidEmail, normalise_email
from actors.accounts.tokens import new_token
from actors.leads import metrics
from actors.leads.actor import NAME, Accept, Decline, OptOut, Route, SetStatus
from actors.leads.views import lead_view
from actors.mailer.outbox import enqueue
from protocols.api.leads import (
    Done,
    LeadReceipt,
    LeadRequest,
    LeadsQuery,
    LeadView,
    StatusChange,
    check_lead,
    e164,
)
from protocols.problems import Problem, invalid
from server import keys
from server.auth import User, client_ip, current_user, require_user, user_agent
from server.routing import ApiRoutes
from storage import leads as store
from storage.leads import LeadRow

log = logging.getLogger(__name__)

# A lead id is hex digits and dashes, so /api/leads/create is not a lead.
LEAD = "/api/leads/{id:[0-9a-fA-F-]+}"

routes = ApiRoutes(tag="leads")

ASK_SECONDS = 30.0


@routes.post("/api/leads", body=LeadRequest, response=LeadReceipt, status=202, check=check_lead)
async def submit_lead(request: web.Request, body: LeadRequest) -> LeadReceipt:
    """Submit a lead (anyone; a signed-in user's lead is linked to their account)"""
    return await capture(request, body)


@routes.post(
    "/api/leads/create", body=LeadRequest, response=LeadReceipt, status=202, check=check_lead
)
async def create_lead(request: web.Request, body: LeadRequest) -> LeadReceipt:
    """Submit a lead (the platform's form; same as POST /api/leads)"""
    return await capture(request, body)


async def capture(request: web.Request, body: LeadRequest) -> LeadReceipt:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise Problem(400, "Bad Idempotency-Key", "send 1 to 200 characters, e.g. a UUID")
    try:
        email = normalise_email(body.email)
    except InvalidEmail as exc:
        raise invalid("/email", str(exc)) from None
    phone = e164(body.phone)
    assert phone is not None  # check_lead refused it otherwise
    user = await current_user(request)
    submission = {
        "consent": msgspec.to_builtins(body.consent),
        "consent_at": datetime.now(UTC).isoformat(),
        "ip": client_ip(request),
        "user_agent": user_agent(request),
        "message": body.message,
        "source": body.source,
        "utm": body.utm,
    }
    new = False
    async with request.app[keys.DB].pool.acquire() as conn, conn.transaction():
        if key is not None:
            await store.lock_key(conn, "idem:" + key)
            earlier = await store.lead_for_key(conn, key)
            if earlier is not None:
                return LeadReceipt(id=earlier)
        for contact in sorted({"email:" + email, "phone:" + phone}):
            await store.lock_key(conn, contact)
        lead_id = await store.recent_duplicate(conn, email, phone)
        if lead_id is None:
            new = True
            token, _ = new_token()
            lead_id = await _insert(conn, body, email, phone, user, submission, token)
        else:
            token = await conn.fetchval("SELECT opt_out_token FROM leads WHERE id = $1", lead_id)
        await store.add_activity(conn, lead_id, "submitted" if new else "resubmitted", submission)
        await enqueue(
            conn,
            to=email,
            template="lead_received",
            context={"name": body.name, "opt_out_link": opt_out_link(request, lead_id, token)},
        )
        if key is not None:
            await store.remember_key(conn, key, lead_id)
    (metrics.RECEIVED if new else metrics.DUPLICATES).inc()
    if new:
        try:
            request.app[keys.SYSTEM].tell(NAME, Route(lead_id, body.state))
        except Exception:  # stored: the lead actor resumes it when it starts
            log.warning("lead actor unavailable; lead waits for its restart")
    return LeadReceipt(id=lead_id)


async def _insert(
    conn: Any,
    body: LeadRequest,
    email: str,
    phone: str,
    user: User | None,
    submission: dict[str, Any],
    token: str,
) -> uuid.UUID:
    try:
        return await store.insert_lead(
            conn,
            {
                "user_id": user.id if user else None,
                "name": body.name.strip(),
                "email": email,
                "phone": phone,
                "state": body.state,
                "purpose": body.purpose,
                "price": body.price,
                "down_payment": body.down_payment,
                "loan_balance": body.loan_balance,
                "credit_score": body.credit_score,
                "timeline": body.timeline,
                "message": body.message,
                "calculation_id": body.calculation_id,
                "source": body.source,
                "utm": body.utm,
                "consent": submission["consent"],
                "consent_at": datetime.fromisoformat(submission["consent_at"]),
                "consent_ip": submission["ip"],
                "consent_user_agent": submission["user_agent"],
                "opt_out_token": token,
            },
        )
    except asyncpg.ForeignKeyViolationError:
        raise invalid(
            "/calculation_id", "is not a stored calculation; leave it out or send its id"
        ) from None


def opt_out_link(request: web.Request, lead_id: uuid.UUID, token: str) -> str:
    base = request.app[keys.CONFIG].public_url.rstrip("/")
    return f"{base}/api/leads/{lead_id}/opt-out?token={token}"


# ---- reads ---------------------------------------------------------------------


def _lead_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["id"])
    except ValueError:
        raise Problem(404, "No such lead", "the id is not a lead id") from None


@routes.get("/api/leads", query=LeadsQuery, response=list[LeadView], auth="broker,admin")
async def list_leads(request: web.Request, query: LeadsQuery) -> list[LeadView]:
    """Leads: a broker's own and those offered to them; an admin's all, filtered"""
    user = await require_user(request, "broker,admin")
    rows = await store.list_leads(
        request.app[keys.DB].pool,
        broker_id=user.id if user.role == "broker" else None,
        status=query.status,
        state=query.state,
        tier=query.tier,
        limit=query.limit,
    )
    return [
        lead_view(
            lead,
            full=user.role == "admin" or lead.broker_id == user.id,
            deadline=offer.deadline if offer else None,
        )
        for lead, offer in rows
    ]


@routes.get(LEAD, response=LeadView, auth="user")
async def get_lead(request: web.Request) -> LeadView:
    """One lead: for its broker (contact details once accepted), its submitter, an admin"""
    user = await require_user(request)
    lead_id = _lead_id(request)
    pool = request.app[keys.DB].pool
    lead = await store.lead_by_id(pool, lead_id)
    if lead is None:
        raise Problem(404, "No such lead", "there is no lead with this id that you may see")
    offer = await store.open_offer(pool, lead_id)
    if user.role == "admin" or lead.broker_id == user.id or lead.user_id == user.id:
        return lead_view(lead, full=True, deadline=offer.deadline if offer else None)
    if offer is not None and offer.broker_id == user.id:
        return lead_view(lead, full=False, deadline=offer.deadline)
    raise Problem(404, "No such lead", "there is no lead with this id that you may see")


# ---- a broker's answers --------------------------------------------------------


async def _ask(request: web.Request, message: Any) -> Any:
    return await request.app[keys.SYSTEM].ask(NAME, message, timeout=ASK_SECONDS)


@routes.post(LEAD + "/accept", response=LeadView, auth="broker")
async def accept_lead(request: web.Request) -> LeadView:
    """Accept a lead offered to you: its contact details are revealed"""
    user = await require_user(request, "broker")
    lead: LeadRow = await _ask(request, Accept(_lead_id(request), user.id))
    return lead_view(lead, full=True)


@routes.post(LEAD + "/decline", response=Done, auth="broker")
async def decline_lead(request: web.Request) -> Done:
    """Decline a lead offered to you: it goes to the next broker"""
    user = await require_user(request, "broker")
    lead_id = _lead_id(request)
    await _ask(request, Decline(lead_id, user.id))
    return Done(id=lead_id, status="offered")


@routes.post(LEAD + "/status", body=StatusChange, response=LeadView, auth="broker")
async def change_status(request: web.Request, body: StatusChange) -> LeadView:
    """Move your lead forward: contacted, then won or lost"""
    user = await require_user(request, "broker")
    lead: LeadRow = await _ask(request, SetStatus(_lead_id(request), user.id, body.status))
    return lead_view(lead, full=True)


# ---- opt-out -------------------------------------------------------------------


@routes.post(LEAD + "/opt-out", response=Done)
async def opt_out(request: web.Request) -> Done:
    """Stop all contact about a lead (the borrower's link, the submitter, an admin)"""
    lead_id = _lead_id(request)
    lead = await store.lead_by_id(request.app[keys.DB].pool, lead_id)
    if lead is None or not await _may_opt_out(request, lead):
        raise Problem(404, "No such lead", "use the link from one of our emails about it")
    done: LeadRow = await _ask(request, OptOut(lead_id))
    return Done(id=done.id, status="opted_out")


async def _may_opt_out(request: web.Request, lead: LeadRow) -> bool:
    token = request.query.get("token")
    if token is not None:
        return hmac.compare_digest(token, lead.opt_out_token)
    user = await current_user(request)
    return user is not None and (user.role == "admin" or user.id == lead.user_id)


@routes.get(LEAD + "/opt-out", summary="The page the emailed opt-out link opens")
async def opt_out_page(request: web.Request) -> web.Response:
    """A confirmation button, so a mail scanner opening the link opts nobody out."""
    lead_id = _lead_id(request)
    token = html.escape(request.query.get("token", ""), quote=True)
    page = f"""<!doctype html>
<html lang="en"><body style="font-family: sans-serif">
<form method="post" action="/api/leads/{lead_id}/opt-out?token={token}">
<p>Stop all contact about your mortgage request?</p>
<button type="submit">Yes, do not contact me</button>
</form></body></html>"""
    return web.Response(text=page, content_type="text/html")
