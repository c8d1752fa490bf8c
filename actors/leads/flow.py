"""The lead flow's steps, each one transaction on the server loop.

The lead actor runs these on the server loop: new leads concurrently (one
state at a time, see `route`), the rest one at a time. Every state change is
also guarded in SQL (storage/leads.py), so a second node, a retried message
or a resumed lead can never offer one lead twice or let two brokers take it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import msgspec

from actors.leads import metrics
from actors.leads.lifecycle import BROKER_STEPS, ROUTING, may_move, why_not
from actors.leads.notify import Live, mail_borrower, notify
from actors.leads.routing import Broker, Hours, License, WaitingLead, choose, queue_order
from actors.leads.views import lead_view
from protocols.problems import Problem
from storage import brokers as broker_store
from storage import leads as store
from storage.brokers import BrokerRow
from storage.database import Executor
from storage.leads import LeadRow, OfferRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlowConfig:
    offer_seconds: float
    max_offers: int
    public_url: str


def as_broker(row: BrokerRow) -> Broker:
    hours = row.hours
    return Broker(
        id=row.user_id,
        licenses=tuple(
            License(lic["state"], date.fromisoformat(lic["expires"])) for lic in row.licenses
        ),
        capacity=row.capacity,
        open_leads=row.open_leads,
        active=row.active,
        timezone=row.timezone,
        hours=Hours(
            start=time.fromisoformat(hours["start"]),
            end=time.fromisoformat(hours["end"]),
            days=frozenset(hours["days"]),
        ),
        last_offered_at=row.last_offered_at,
    )


def not_found() -> Problem:
    return Problem(404, "No such lead", "there is no lead with this id that you may see")


class LeadFlow:
    def __init__(self, pool: Any, hub: Any, config: FlowConfig) -> None:
        self.pool = pool
        self.hub = hub
        self.config = config
        self._states: dict[str, asyncio.Lock] = {}

    def opt_out_link(self, lead: LeadRow) -> str:
        base = self.config.public_url.rstrip("/")
        return f"{base}/api/leads/{lead.id}/opt-out?token={lead.opt_out_token}"

    # ---- routing ---------------------------------------------------------------

    async def route(
        self, lead_id: uuid.UUID, *, state: str | None = None, from_queue: bool = False
    ) -> tuple[OfferRow | None, LeadRow | None]:
        """Offer a waiting lead to the best eligible broker, or queue it as
        unassigned; returns the offer made (if any) and the lead as it was.
        A lead taken from the queue gets one more offer even past the limit.

        Leads of different states are routed concurrently; those of one state
        one at a time, so two leads never both take a broker's last place."""
        if state is None:
            state = await self.pool.fetchval("SELECT state FROM leads WHERE id = $1", lead_id)
            if state is None:
                return None, None
        lock = self._states.get(state)
        if lock is None:
            lock = self._states[state] = asyncio.Lock()
        live = Live()
        async with lock:
            offer, lead, queued = await self._route(lead_id, from_queue, live)
        await live.publish(self.hub)  # outside the lock: the next lead of the state goes on
        if offer is not None:
            metrics.OFFERS.inc()
            if lead is not None and lead.first_offered_at is None:
                seconds = (offer.offered_at - lead.received_at).total_seconds()
                metrics.TO_FIRST_OFFER.observe(max(0.0, seconds))
        if queued:
            await self.refresh_unassigned()
        return offer, lead

    async def _route(
        self, lead_id: uuid.UUID, from_queue: bool, live: Live
    ) -> tuple[OfferRow | None, LeadRow | None, bool]:
        """One transaction: (the offer made, the lead as it was, whether the
        unassigned queue may have changed)."""
        offer = None
        async with self.pool.acquire() as conn, conn.transaction():
            lead = await store.lead_by_id(conn, lead_id, lock=True)
            if lead is None or lead.status not in ROUTING:
                return None, lead, False
            offered, still_open = await store.offered_brokers(conn, lead_id)
            if still_open:
                return None, lead, False
            chosen, rows = None, {}
            if from_queue or len(offered) < self.config.max_offers:
                rows = {
                    row.user_id: row for row in await broker_store.licensed_in(conn, lead.state)
                }
                waiting = WaitingLead(
                    lead.id, lead.state, lead.tier, lead.received_at, frozenset(offered)
                )
                chosen = choose(waiting, map(as_broker, rows.values()), datetime.now(UTC))
            if chosen is None:
                await self._unassign(conn, live, lead)
            else:
                offer = await store.make_offer(conn, lead_id, chosen.id, self.config.offer_seconds)
                if offer is not None:
                    await self._tell_offered(conn, live, lead, offer, rows[chosen.id])
        return offer, lead, chosen is None or lead.status == "unassigned"

    async def _tell_offered(
        self, conn: Executor, live: Live, lead: LeadRow, offer: OfferRow, row: BrokerRow
    ) -> None:
        broker_id = row.user_id
        view = lead_view(lead, full=False, deadline=offer.deadline)
        view.status = "offered"
        await notify(
            conn,
            live,
            user_id=broker_id,
            channel=f"broker:{broker_id}",
            kind="lead_offered",
            data={
                "lead": msgspec.to_builtins(view),
                "deadline": msgspec.to_builtins(offer.deadline),
            },
            email=row.email,
            context={
                "name": row.name,
                "first_name": lead.first_name,
                "state": lead.state,
                "loan_amount": lead.loan_amount,
                "tier": lead.tier or "not scored yet",
                "deadline": offer.deadline.isoformat(timespec="seconds"),
            },
        )

    async def _unassign(self, conn: Executor, live: Live, lead: LeadRow) -> None:
        if lead.status == "unassigned":
            return
        await store.move(conn, lead.id, "unassigned", allowed_from=["received", "offered"])
        for admin_id, email, name in await broker_store.admins(conn):
            await notify(
                conn,
                live,
                user_id=admin_id,
                channel=f"user:{admin_id}",
                kind="leads_unassigned",
                data={"lead": msgspec.to_builtins(lead_view(lead, full=False))},
                email=email,
                context={"name": name, "first_name": lead.first_name, "state": lead.state},
            )
        log.warning("lead waits unassigned", extra={"lead": str(lead.id), "state": lead.state})

    async def refresh_unassigned(self) -> None:
        metrics.UNASSIGNED.set(await store.count_unassigned(self.pool))

    async def unassigned_in_order(self) -> list[uuid.UUID]:
        waiting = [
            WaitingLead(lead.id, lead.state, lead.tier, lead.received_at)
            for lead in await store.routing_unfinished(self.pool)
            if lead.status == "unassigned"
        ]
        return [lead.id for lead in queue_order(waiting)]

    # ---- a broker's answer -----------------------------------------------------

    async def expire(self, offer_id: int) -> uuid.UUID | None:
        """Close an offer whose deadline passed; the lead id when it did lapse."""
        live = Live()
        async with self.pool.acquire() as conn, conn.transaction():
            offer = await store.close_offer(conn, offer_id, "expired")
            if offer is None:
                return None
            lead = await store.lead_by_id(conn, offer.lead_id)
            broker = await broker_store.broker(conn, offer.broker_id)
            if lead is not None:
                await notify(
                    conn,
                    live,
                    user_id=offer.broker_id,
                    channel=f"broker:{offer.broker_id}",
                    kind="lead_offer_expired",
                    data={"lead": {"id": str(lead.id), "first_name": lead.first_name}},
                    email=broker.email if broker else None,
                    context={
                        "name": broker.name if broker else "",
                        "first_name": lead.first_name,
                        "state": lead.state,
                    },
                )
        await live.publish(self.hub)
        metrics.EXPIRED.inc()
        return offer.lead_id

    async def accept(self, lead_id: uuid.UUID, broker_id: uuid.UUID) -> LeadRow:
        live = Live()
        async with self.pool.acquire() as conn, conn.transaction():
            lead = await store.lead_by_id(conn, lead_id, lock=True)
            if lead is None:
                raise not_found()
            offer = await store.accept(conn, lead_id, broker_id)
            if offer is None:
                raise Problem(
                    409,
                    "Lead not offered to you",
                    "this lead is not (or no longer) offered to you: another broker took it, "
                    "the offer lapsed, or the borrower opted out",
                )
            taken = await store.lead_by_id(conn, lead_id)
            broker = await broker_store.broker(conn, broker_id)
            assert taken is not None and broker is not None
            context: dict[str, object] = {
                "name": lead.name,
                "broker_name": broker.name,
                "broker_email": broker.email,
                "nmls_id": broker.nmls_id,
                "opt_out_link": self.opt_out_link(lead),
            }
            if lead.user_id is not None:
                await notify(
                    conn,
                    live,
                    user_id=lead.user_id,
                    channel=f"user:{lead.user_id}",
                    kind="lead_assigned",
                    data={
                        "lead": {"id": str(lead.id), "status": "accepted"},
                        "broker": {"name": broker.name, "nmls_id": broker.nmls_id},
                    },
                    email=lead.email,
                    context=context,
                )
            else:
                await mail_borrower(conn, to=lead.email, template="lead_assigned", context=context)
        await live.publish(self.hub)
        metrics.TO_ACCEPTANCE.observe((datetime.now(UTC) - lead.received_at).total_seconds())
        return taken

    async def decline(self, lead_id: uuid.UUID, broker_id: uuid.UUID) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            offer = await store.open_offer(conn, lead_id)
            if offer is None or offer.broker_id != broker_id:
                raise Problem(
                    409, "Lead not offered to you", "this lead is not (or no longer) offered to you"
                )
            await store.close_offer(conn, offer.id, "declined")

    async def set_status(self, lead_id: uuid.UUID, broker_id: uuid.UUID, new: str) -> LeadRow:
        async with self.pool.acquire() as conn, conn.transaction():
            lead = await store.lead_by_id(conn, lead_id, lock=True)
            if lead is None or lead.broker_id != broker_id:
                raise not_found()
            if new not in BROKER_STEPS or not may_move(lead.status, new):
                raise Problem(409, "Illegal step", why_not(lead.status, new))
            await store.move(conn, lead_id, new, allowed_from=[lead.status])
            moved = await store.lead_by_id(conn, lead_id)
        assert moved is not None
        return moved

    async def opt_out(self, lead_id: uuid.UUID) -> LeadRow:
        """No more contact: the open offer is withdrawn and the broker told."""
        live = Live()
        async with self.pool.acquire() as conn, conn.transaction():
            lead = await store.lead_by_id(conn, lead_id, lock=True)
            if lead is None:
                raise not_found()
            if lead.status == "opted_out":
                return lead
            offer = await store.open_offer(conn, lead_id)
            if offer is not None:
                await store.close_offer(conn, offer.id, "withdrawn")
            await store.move(conn, lead_id, "opted_out", allowed_from=[lead.status])
            told = lead.broker_id or (offer.broker_id if offer else None)
            if told is not None:
                broker = await broker_store.broker(conn, told)
                await notify(
                    conn,
                    live,
                    user_id=told,
                    channel=f"broker:{told}",
                    kind="lead_opted_out",
                    data={"lead": {"id": str(lead.id), "first_name": lead.first_name}},
                    email=broker.email if broker else None,
                    context={
                        "name": broker.name if broker else "",
                        "first_name": lead.first_name,
                        "state": lead.state,
                    },
                )
            moved = await store.lead_by_id(conn, lead_id)
        await live.publish(self.hub)
        metrics.OPT_OUTS.inc()
        await self.refresh_unassigned()
        assert moved is not None
        return moved
