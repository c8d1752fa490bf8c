"""Leads, their offers, activities and idempotency keys.

Every state change is a conditional UPDATE (`... WHERE status = ANY($n)`),
so two nodes or two requests racing for the same lead cannot both win: the
loser's statement changes no row and the caller answers 409.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from storage.database import Executor

DUPLICATE_WINDOW_DAYS = 30
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class LeadRow:
    id: uuid.UUID
    user_id: uuid.UUID | None
    name: str
    email: str
    phone: str
    state: str
    purpose: str
    price: Decimal
    down_payment: Decimal | None
    loan_balance: Decimal | None
    credit_score: int | None
    timeline: str
    message: str
    status: str
    broker_id: uuid.UUID | None
    score: int | None
    tier: str | None
    reasons: list[str] | None
    opt_out_token: str
    received_at: datetime
    first_offered_at: datetime | None
    accepted_at: datetime | None

    @property
    def loan_amount(self) -> Decimal:
        if self.purpose == "purchase":
            amount = self.price - (self.down_payment or Decimal(0))
        else:
            amount = self.loan_balance or Decimal(0)
        return amount.quantize(_CENT)

    @property
    def first_name(self) -> str:
        return (self.name.split() or [""])[0]


@dataclass(frozen=True, slots=True)
class OfferRow:
    id: int
    lead_id: uuid.UUID
    broker_id: uuid.UUID
    offered_at: datetime
    deadline: datetime
    outcome: str | None


_LEAD = (
    "id, user_id, name, email, phone, state, purpose, price, down_payment, loan_balance, "
    "credit_score, timeline, message, status, broker_id, score, tier, reasons, opt_out_token, "
    "received_at, first_offered_at, accepted_at"
)
_OFFER = "id, lead_id, broker_id, offered_at, deadline, outcome"


def _lead(record: Any) -> LeadRow:
    return LeadRow(**dict(record))


def _offer(record: Any) -> OfferRow:
    return OfferRow(**dict(record))


# ---- capture -------------------------------------------------------------------


async def lock_key(conn: Executor, key: str) -> None:
    """Serialise, until the transaction ends, the writers of one key (an
    idempotency key, an email, a phone number)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 50))", key)


async def lead_for_key(conn: Executor, key: str) -> uuid.UUID | None:
    found: uuid.UUID | None = await conn.fetchval(
        "SELECT lead_id FROM lead_idempotency WHERE key = $1", key
    )
    return found


async def remember_key(conn: Executor, key: str, lead_id: uuid.UUID) -> None:
    await conn.execute("INSERT INTO lead_idempotency (key, lead_id) VALUES ($1, $2)", key, lead_id)


async def recent_duplicate(conn: Executor, email: str, phone: str) -> uuid.UUID | None:
    """The newest lead of the last 30 days with this email or phone that the
    borrower has not opted out of."""
    found: uuid.UUID | None = await conn.fetchval(
        f"""
        SELECT id FROM leads
        WHERE (lower(email) = lower($1) OR phone = $2)
          AND received_at > now() - interval '{DUPLICATE_WINDOW_DAYS} days'
          AND status <> 'opted_out'
        ORDER BY received_at DESC LIMIT 1
        """,
        email,
        phone,
    )
    return found


async def insert_lead(conn: Executor, fields: dict[str, Any]) -> uuid.UUID:
    """Store a new lead; `fields` are column names and values."""
    names = list(fields)
    placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    lead_id: uuid.UUID = await conn.fetchval(
        f"INSERT INTO leads ({', '.join(names)}) VALUES ({placeholders}) RETURNING id",
        *fields.values(),
    )
    return lead_id


async def add_activity(conn: Executor, lead_id: uuid.UUID, kind: str, detail: Any) -> None:
    await conn.execute(
        "INSERT INTO lead_activities (lead_id, kind, detail) VALUES ($1, $2, $3)",
        lead_id,
        kind,
        detail,
    )


async def activities(db: Executor, lead_id: uuid.UUID) -> list[tuple[str, Any]]:
    rows = await db.fetch(
        "SELECT kind, detail FROM lead_activities WHERE lead_id = $1 ORDER BY id", lead_id
    )
    return [(r["kind"], r["detail"]) for r in rows]


# ---- reads ---------------------------------------------------------------------


async def lead_by_id(db: Executor, lead_id: uuid.UUID, *, lock: bool = False) -> LeadRow | None:
    suffix = " FOR UPDATE" if lock else ""
    row = await db.fetchrow(f"SELECT {_LEAD} FROM leads WHERE id = $1{suffix}", lead_id)
    return None if row is None else _lead(row)


async def routing_unfinished(db: Executor) -> list[LeadRow]:
    rows = await db.fetch(
        f"SELECT {_LEAD} FROM leads WHERE status IN ('received', 'offered', 'unassigned') "
        "ORDER BY received_at"
    )
    return [_lead(r) for r in rows]


async def unscored(db: Executor, limit: int = 1000) -> list[LeadRow]:
    rows = await db.fetch(
        f"SELECT {_LEAD} FROM leads WHERE score IS NULL AND status <> 'opted_out' "
        "ORDER BY received_at LIMIT $1",
        limit,
    )
    return [_lead(r) for r in rows]


async def list_leads(
    db: Executor,
    *,
    broker_id: uuid.UUID | None,
    status: str | None,
    state: str | None,
    tier: str | None,
    limit: int,
) -> list[tuple[LeadRow, OfferRow | None]]:
    """Newest first, each with its open offer. A broker's list holds the leads
    assigned to them and those offered to them now."""
    rows = await db.fetch(
        f"""
        SELECT {", ".join("l." + c.strip() for c in _LEAD.split(","))},
               o.id AS o_id, o.broker_id AS o_broker, o.offered_at AS o_at,
               o.deadline AS o_deadline
        FROM leads l
        LEFT JOIN lead_offers o ON o.lead_id = l.id AND o.outcome IS NULL
        WHERE ($1::uuid IS NULL OR l.broker_id = $1 OR o.broker_id = $1)
          AND ($2::text IS NULL OR l.status = $2)
          AND ($3::text IS NULL OR l.state = $3)
          AND ($4::text IS NULL OR l.tier = $4)
        ORDER BY l.received_at DESC
        LIMIT $5
        """,
        broker_id,
        status,
        state,
        tier,
        limit,
    )
    found = []
    for r in rows:
        data = dict(r)
        offer = None
        if data["o_id"] is not None:
            offer = OfferRow(
                id=data["o_id"],
                lead_id=data["id"],
                broker_id=data["o_broker"],
                offered_at=data["o_at"],
                deadline=data["o_deadline"],
                outcome=None,
            )
        for key in ("o_id", "o_broker", "o_at", "o_deadline"):
            del data[key]
        found.append((LeadRow(**data), offer))
    return found


async def count_unassigned(db: Executor) -> int:
    count: int = await db.fetchval("SELECT count(*) FROM leads WHERE status = 'unassigned'")
    return count


# ---- offers --------------------------------------------------------------------


async def open_offer(db: Executor, lead_id: uuid.UUID) -> OfferRow | None:
    row = await db.fetchrow(
        f"SELECT {_OFFER} FROM lead_offers WHERE lead_id = $1 AND outcome IS NULL", lead_id
    )
    return None if row is None else _offer(row)


async def open_offers(db: Executor) -> list[OfferRow]:
    rows = await db.fetch(f"SELECT {_OFFER} FROM lead_offers WHERE outcome IS NULL")
    return [_offer(r) for r in rows]


async def offered_brokers(db: Executor, lead_id: uuid.UUID) -> tuple[set[uuid.UUID], bool]:
    """Everyone this lead was offered to (they declined, let it lapse, or hold
    it), and whether one of those offers is still open."""
    rows = await db.fetch(
        "SELECT broker_id, outcome IS NULL AS open FROM lead_offers WHERE lead_id = $1", lead_id
    )
    return {r["broker_id"] for r in rows}, any(r["open"] for r in rows)


async def make_offer(
    conn: Executor, lead_id: uuid.UUID, broker_id: uuid.UUID, seconds: float
) -> OfferRow | None:
    """Offer a lead still waiting for a broker (one statement); None when it
    no longer waits. The unique index on open offers refuses a second one."""
    row = await conn.fetchrow(
        f"""
        WITH moved AS (
            UPDATE leads SET status = 'offered', updated_at = now(),
                   first_offered_at = coalesce(first_offered_at, now())
            WHERE id = $1 AND status IN ('received', 'offered', 'unassigned')
            RETURNING id
        ), touched AS (
            UPDATE broker_profiles SET last_offered_at = now()
            WHERE user_id = $2 AND EXISTS (SELECT 1 FROM moved)
        )
        INSERT INTO lead_offers (lead_id, broker_id, deadline)
        SELECT id, $2, now() + make_interval(secs => $3) FROM moved
        RETURNING {_OFFER}
        """,
        lead_id,
        broker_id,
        seconds,
    )
    return None if row is None else _offer(row)


async def close_offer(conn: Executor, offer_id: int, outcome: str) -> OfferRow | None:
    """Settle an open offer; None when it was settled already."""
    row = await conn.fetchrow(
        f"""
        UPDATE lead_offers SET outcome = $2, answered_at = now()
        WHERE id = $1 AND outcome IS NULL
        RETURNING {_OFFER}
        """,
        offer_id,
        outcome,
    )
    return None if row is None else _offer(row)


async def accept(conn: Executor, lead_id: uuid.UUID, broker_id: uuid.UUID) -> OfferRow | None:
    """Take the open offer of `lead_id` made to `broker_id` while it lasts."""
    row = await conn.fetchrow(
        f"""
        UPDATE lead_offers SET outcome = 'accepted', answered_at = now()
        WHERE lead_id = $1 AND broker_id = $2 AND outcome IS NULL AND deadline > now()
        RETURNING {_OFFER}
        """,
        lead_id,
        broker_id,
    )
    if row is None:
        return None
    await conn.execute(
        """
        UPDATE leads SET status = 'accepted', broker_id = $2, accepted_at = now(),
               updated_at = now()
        WHERE id = $1
        """,
        lead_id,
        broker_id,
    )
    return _offer(row)


async def move(conn: Executor, lead_id: uuid.UUID, new: str, *, allowed_from: list[str]) -> bool:
    """Set the status when the current one is in `allowed_from`."""
    moved = await conn.fetchval(
        """
        UPDATE leads SET status = $2, updated_at = now()
        WHERE id = $1 AND status = ANY($3::text[])
        RETURNING id
        """,
        lead_id,
        new,
        allowed_from,
    )
    return moved is not None


async def set_score(
    db: Executor, lead_id: uuid.UUID, score: int, tier: str, reasons: list[str]
) -> None:
    await db.execute(
        "UPDATE leads SET score = $2, tier = $3, reasons = $4 WHERE id = $1",
        lead_id,
        score,
        tier,
        reasons,
    )
