"""The lead actor ("leads"): routes stored leads, runs offer deadlines, takes
brokers' answers, and asks lead_qualifier for scores.

Capture stores a lead and tells this actor `Route`; nothing else is kept in
memory, so on start the actor resumes from the database every lead whose
routing was not finished: received leads are routed, lapsed offers expire,
open ones get their deadline back, and the unassigned queue is tried. Offer
deadlines are timers (tell_later) that tell the actor `Expire`; an expiry
that finds the offer already answered changes nothing. Scoring runs on the loop and
never holds up routing: an unscored lead is routed at once and its score is
stored when the answer comes.

With several nodes, each routes the leads it captured and runs the deadlines
of the offers it made, but only the node that leads single-leader work
(deps["leadership"]) resumes, sweeps and retries the queue, so the nodes do
not all walk the same leads. A node that takes the lead resumes at its next
sweep; each sweep of the leader also routes leads left received and expires
offers whose deadline passed unseen, in case the node that held them died.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from actors.agents import ask_agent
from actors.leads.flow import FlowConfig, LeadFlow
from actors.leads.scoring import qualifier_input
from actors.runtime import ActorContext, RatelineActor
from storage import leads as store
from storage.leads import LeadRow, OfferRow

log = logging.getLogger(__name__)

NAME = "leads"
SCORE_SECONDS = 30.0


@dataclass(frozen=True)
class Route:
    lead_id: uuid.UUID
    state: str | None = None


@dataclass(frozen=True)
class Expire:
    offer_id: int


@dataclass(frozen=True)
class Accept:
    lead_id: uuid.UUID
    broker_id: uuid.UUID


@dataclass(frozen=True)
class Decline:
    lead_id: uuid.UUID
    broker_id: uuid.UUID


@dataclass(frozen=True)
class SetStatus:
    lead_id: uuid.UUID
    broker_id: uuid.UUID
    status: str


@dataclass(frozen=True)
class OptOut:
    lead_id: uuid.UUID


@dataclass(frozen=True)
class RetryQueue:
    """A broker may have become eligible: offer the unassigned leads again."""


@dataclass(frozen=True)
class Sweep:
    """The periodic sweep (tell_later): the queue, and leads nobody watches."""


class LeadActor(RatelineActor):
    def __init__(self, ctx: ActorContext, config: FlowConfig, sweep_seconds: float = 60.0) -> None:
        super().__init__(ctx)
        self.config = config
        self.sweep_seconds = sweep_seconds
        self.flow: LeadFlow | None = None
        self._leading = False

    def on_start(self) -> None:
        self.flow = LeadFlow(self.ctx.deps["db"].pool, self.ctx.deps.get("ws_hub"), self.config)
        self._leading = self._leads()
        if self._leading:
            self.resume()
        self.tell_later(self.sweep_seconds, Sweep())

    def handle(self, message: Any) -> Any:
        flow = self.flow
        assert flow is not None
        if isinstance(message, Route):
            self._route_in_background(message)
            return None
        if isinstance(message, Expire):
            lead_id = self.run_io(flow.expire(message.offer_id), timeout=30)
            if lead_id is not None:
                self._offered(self.run_io(flow.route(lead_id), timeout=30)[0])
            return None
        if isinstance(message, Accept):
            return self.run_io(flow.accept(message.lead_id, message.broker_id), timeout=30)
        if isinstance(message, Decline):
            self.run_io(flow.decline(message.lead_id, message.broker_id), timeout=30)
            self._offered(self.run_io(flow.route(message.lead_id), timeout=30)[0])
            return None
        if isinstance(message, SetStatus):
            lead = self.run_io(
                flow.set_status(message.lead_id, message.broker_id, message.status), timeout=30
            )
            if lead.status in {"won", "lost"}:
                self.retry_queue()  # the broker has room again
            return lead
        if isinstance(message, OptOut):
            lead = self.run_io(flow.opt_out(message.lead_id), timeout=30)
            self.retry_queue()
            return lead
        if isinstance(message, Sweep):
            self.tell_later(self.sweep_seconds, Sweep())
            self.sweep()
            return None
        if isinstance(message, RetryQueue):
            self.sweep()
            return None
        raise TypeError(f"{self.name} does not handle {message!r}")

    # ---- resuming and the queue ------------------------------------------------

    def _leads(self) -> bool:
        leadership = self.ctx.deps.get("leadership")
        return leadership is None or bool(leadership.leader)

    def sweep(self) -> None:
        if not self._leads():
            self._leading = False
            return
        if not self._leading:  # just took over
            self._leading = True
            self.resume()
            return
        flow = self.flow
        assert flow is not None
        now = datetime.now(UTC)
        for offer in self.run_io(store.open_offers(flow.pool), timeout=30):
            if offer.deadline < now:
                self._arm(offer)
        self._route_received()
        self.retry_queue()

    def resume(self) -> None:
        flow = self.flow
        assert flow is not None
        for offer in self.run_io(store.open_offers(flow.pool), timeout=30):
            self._arm(offer)
        self._route_received()
        self.retry_queue()
        for lead in self.run_io(store.unscored(flow.pool), timeout=30):
            self._score(lead)
        self.run_io(flow.refresh_unassigned(), timeout=30)

    def _route_received(self) -> None:
        flow = self.flow
        assert flow is not None
        for lead in self.run_io(store.routing_unfinished(flow.pool), timeout=30):
            if lead.status == "received":
                self._offered(self.run_io(flow.route(lead.id), timeout=30)[0])

    def retry_queue(self) -> None:
        flow = self.flow
        assert flow is not None
        for lead_id in self.run_io(flow.unassigned_in_order(), timeout=30):
            self._offered(self.run_io(flow.route(lead_id, from_queue=True), timeout=30)[0])

    def _route_in_background(self, message: Route) -> None:
        """New leads are routed on the loop without this thread waiting, so
        leads of different states go out side by side."""
        flow = self.flow
        assert flow is not None

        def done(future: concurrent.futures.Future[Any]) -> None:
            if future.cancelled():
                return
            if future.exception() is not None:  # stays received: the next start resumes it
                log.error("routing lead %s failed", message.lead_id, exc_info=future.exception())
                return
            offer, lead = future.result()
            self._offered(offer)
            if lead is not None and lead.score is None:
                self._score(lead)

        with contextlib.suppress(RuntimeError):  # the loop is closed: we are stopping
            asyncio.run_coroutine_threadsafe(
                flow.route(message.lead_id, state=message.state), self.ctx.loop
            ).add_done_callback(done)

    # ---- timers ----------------------------------------------------------------

    def _offered(self, offer: OfferRow | None) -> None:
        if offer is not None:
            self._arm(offer)

    def _arm(self, offer: OfferRow) -> None:
        delay = max(0.0, (offer.deadline - datetime.now(UTC)).total_seconds())
        self.tell_later(delay, Expire(offer.id))

    # ---- scoring ---------------------------------------------------------------

    def _score(self, lead: LeadRow) -> None:
        system, pool = self.ctx.system, self.ctx.deps["db"].pool
        if system is None:
            return

        async def score() -> None:
            try:
                answer = await ask_agent(
                    system, "lead_qualifier", qualifier_input(lead), deadline=SCORE_SECONDS
                )
                out = answer.output
                await store.set_score(pool, lead.id, out.score, out.tier, list(out.reasons))
            except Exception as exc:  # routed unscored; the next start tries again
                log.warning("scoring lead %s failed: %r", lead.id, exc)

        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(score(), self.ctx.loop)
