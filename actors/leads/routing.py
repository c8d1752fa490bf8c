"""Which broker gets a lead: pure rules, no I/O.

Eligible: active, licensed in the lead's state with the license not expired,
under capacity, and not one who already declined or let the lead lapse.
Among the eligible, those inside their working hours come first; then the
fewest open leads relative to capacity; ties go to the one offered a lead
longest ago. When several leads wait, hot leads go first, then the oldest.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from fractions import Fraction
from zoneinfo import ZoneInfo

TIER_ORDER = {"hot": 0, "warm": 1, "cold": 2}
_EPOCH = datetime.min.replace(tzinfo=ZoneInfo("UTC"))


@dataclass(frozen=True)
class License:
    state: str
    expires: date


@dataclass(frozen=True)
class Hours:
    start: time
    end: time
    days: frozenset[int]  # ISO weekdays, Monday = 1


@dataclass(frozen=True)
class Broker:
    id: uuid.UUID
    licenses: tuple[License, ...]
    capacity: int
    open_leads: int
    active: bool
    timezone: str
    hours: Hours
    last_offered_at: datetime | None = None


@dataclass(frozen=True)
class WaitingLead:
    id: uuid.UUID
    state: str
    tier: str | None
    received_at: datetime
    excluded: frozenset[uuid.UUID] = frozenset()


def licensed(broker: Broker, state: str, today: date) -> bool:
    return any(lic.state == state and lic.expires >= today for lic in broker.licenses)


def eligible(broker: Broker, lead: WaitingLead, now: datetime) -> bool:
    """May this broker be offered this lead at all?"""
    today = now.astimezone(ZoneInfo(broker.timezone)).date()
    return (
        broker.active
        and broker.open_leads < broker.capacity
        and broker.id not in lead.excluded
        and licensed(broker, lead.state, today)
    )


def in_hours(broker: Broker, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(broker.timezone))
    hours = broker.hours
    return local.isoweekday() in hours.days and hours.start <= local.time() < hours.end


def _rank(broker: Broker, now: datetime) -> tuple[bool, Fraction, datetime, uuid.UUID]:
    return (
        not in_hours(broker, now),
        Fraction(broker.open_leads, broker.capacity),
        broker.last_offered_at or _EPOCH,
        broker.id,
    )


def choose(lead: WaitingLead, brokers: Iterable[Broker], now: datetime) -> Broker | None:
    """The broker to offer `lead` to now, or None when nobody is eligible."""
    candidates = [b for b in brokers if eligible(b, lead, now)]
    if not candidates:
        return None
    return min(candidates, key=lambda b: _rank(b, now))


def queue_order(leads: Iterable[WaitingLead]) -> list[WaitingLead]:
    """Hot before warm before cold before unscored; oldest first within a tier."""
    return sorted(leads, key=lambda lead: (TIER_ORDER.get(lead.tier or "", 3), lead.received_at))


def assign_waiting(
    leads: Iterable[WaitingLead], brokers: Sequence[Broker], now: datetime
) -> list[tuple[WaitingLead, Broker]]:
    """Offers for a queue of waiting leads, in queue order, counting each
    offer against the broker's capacity as it is made."""
    pool = {b.id: b for b in brokers}
    offers = []
    for lead in queue_order(leads):
        broker = choose(lead, pool.values(), now)
        if broker is None:
            continue
        offers.append((lead, broker))
        pool[broker.id] = replace(broker, open_leads=broker.open_leads + 1, last_offered_at=now)
    return offers
