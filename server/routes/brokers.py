"""Broker profiles over HTTP: a broker edits their own (not their licenses);
an admin edits everyone's. A change may make a broker eligible, so the lead
actor tries the unassigned queue again."""

from __future__ import annotations

import logging
import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from aiohttp import web

from actors.leads.actor import NAME, RetryQueue
from protocols.api.leads import BrokerProfile, BrokerSelfUpdate, BrokerView
from protocols.problems import BROKEN_RULE, Problem, invalid
from server import keys
from server.admin_audit import record_admin_action
from server.auth import require_user
from server.routing import ApiRoutes
from storage import brokers as store
from storage.brokers import BrokerRow

log = logging.getLogger(__name__)

routes = ApiRoutes(tag="brokers")


def check_profile(profile: BrokerSelfUpdate) -> None:
    """The time zone (the document lists the known ones), then the rule
    spanning fields: the working day ends after it starts (a BROKEN_RULE)."""
    try:
        ZoneInfo(profile.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid("/timezone", "is not an IANA time zone like America/Chicago") from None
    if profile.hours.start >= profile.hours.end:
        raise invalid("/hours/end", "must be later than hours.start", type=BROKEN_RULE)


def _view(row: BrokerRow) -> BrokerView:
    return msgspec.convert(
        {
            "id": row.user_id,
            "name": row.name,
            "email": row.email,
            "nmls_id": row.nmls_id,
            "licenses": row.licenses,
            "capacity": row.capacity,
            "timezone": row.timezone,
            "hours": row.hours,
            "active": row.active,
            "open_leads": row.open_leads,
        },
        BrokerView,
    )


def _fields(profile: BrokerSelfUpdate) -> dict[str, object]:
    return {
        "nmls_id": profile.nmls_id,
        "capacity": profile.capacity,
        "timezone": profile.timezone,
        "hours": msgspec.to_builtins(profile.hours),
        "active": profile.active,
    }


async def _saved(request: web.Request, user_id: uuid.UUID) -> BrokerView:
    row = await store.broker(request.app[keys.DB].pool, user_id)
    assert row is not None
    try:
        request.app[keys.SYSTEM].tell(NAME, RetryQueue())
    except Exception:  # the actor tries the queue when it starts
        log.warning("lead actor unavailable; the unassigned queue waits for its restart")
    return _view(row)


@routes.get("/api/brokers/me", response=BrokerView, auth="broker")
async def my_profile(request: web.Request) -> BrokerView:
    """Your broker profile"""
    user = await require_user(request, "broker")
    row = await store.broker(request.app[keys.DB].pool, user.id)
    if row is None:
        raise Problem(404, "No profile yet", "create it with PUT /api/brokers/me")
    return _view(row)


@routes.put(
    "/api/brokers/me", body=BrokerSelfUpdate, response=BrokerView, auth="broker",
    check=check_profile,
)  # fmt: skip
async def update_my_profile(request: web.Request, body: BrokerSelfUpdate) -> BrokerView:
    """Edit your broker profile (licenses are set by an admin)"""
    user = await require_user(request, "broker")
    await store.save_profile(request.app[keys.DB].pool, user.id, _fields(body), None)
    return await _saved(request, user.id)


@routes.get("/api/brokers", response=list[BrokerView], auth="admin")
async def list_brokers(request: web.Request) -> list[BrokerView]:
    """Every broker with a profile (admins)"""
    await require_user(request, "admin")
    return [_view(r) for r in await store.all_brokers(request.app[keys.DB].pool)]


@routes.put(
    "/api/brokers/{id}", body=BrokerProfile, response=BrokerView, auth="admin",
    check=check_profile,
)  # fmt: skip
async def update_broker(request: web.Request, body: BrokerProfile) -> BrokerView:
    """Create or edit a broker's profile, licenses included (admins)"""
    admin = await require_user(request, "admin")
    try:
        user_id = uuid.UUID(request.match_info["id"])
    except ValueError:
        raise Problem(404, "No such broker", "the id is not a user id") from None
    pool = request.app[keys.DB].pool
    if not await store.is_broker(pool, user_id):
        raise Problem(
            404,
            "No such broker",
            "no user with this id has the broker role; set it with PUT /api/auth/users/{id}/role",
        )
    licenses = msgspec.to_builtins(body.licenses)
    await store.save_profile(pool, user_id, _fields(body), licenses)
    await record_admin_action(
        request,
        admin,
        "broker_profile_set",
        "success",
        target=str(user_id),
        details={"licenses": licenses, "active": body.active},
    )
    return await _saved(request, user_id)
