"""Broker profiles, with each broker's open leads counted for routing.

Open leads are the ones a broker holds (accepted, contacted) plus the offers
waiting for their answer, so a broker is never offered past capacity.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.database import Executor


@dataclass(frozen=True, slots=True)
class BrokerRow:
    user_id: uuid.UUID
    name: str
    email: str
    nmls_id: str
    licenses: list[dict[str, str]]
    capacity: int
    timezone: str
    hours: dict[str, Any]
    active: bool
    last_offered_at: datetime | None
    open_leads: int


_SELECT = """
SELECT p.user_id, u.name, u.email, p.nmls_id, p.licenses, p.capacity, p.timezone, p.hours,
       p.active, p.last_offered_at,
       (SELECT count(*) FROM leads l
         WHERE l.broker_id = p.user_id AND l.status IN ('accepted', 'contacted'))
     + (SELECT count(*) FROM lead_offers o
         WHERE o.broker_id = p.user_id AND o.outcome IS NULL) AS open_leads
FROM broker_profiles p JOIN users u ON u.id = p.user_id
WHERE u.role = 'broker'
"""


def _row(record: Any) -> BrokerRow:
    return BrokerRow(**dict(record))


async def licensed_in(db: Executor, state: str) -> list[BrokerRow]:
    """Active brokers holding a license (expired or not) for `state`."""
    rows = await db.fetch(_SELECT + " AND p.active AND p.licenses @> $1::jsonb", [{"state": state}])
    return [_row(r) for r in rows]


async def all_brokers(db: Executor) -> list[BrokerRow]:
    rows = await db.fetch(_SELECT + " ORDER BY u.name, p.user_id")
    return [_row(r) for r in rows]


async def broker(db: Executor, user_id: uuid.UUID) -> BrokerRow | None:
    row = await db.fetchrow(_SELECT + " AND p.user_id = $1", user_id)
    return None if row is None else _row(row)


async def is_broker(db: Executor, user_id: uuid.UUID) -> bool:
    found = await db.fetchval("SELECT 1 FROM users WHERE id = $1 AND role = 'broker'", user_id)
    return found is not None


async def save_profile(
    db: Executor, user_id: uuid.UUID, profile: dict[str, Any], licenses: list[Any] | None
) -> None:
    """Create or replace a profile; `licenses` None keeps the stored ones."""
    await db.execute(
        """
        INSERT INTO broker_profiles (user_id, nmls_id, licenses, capacity, timezone, hours, active)
        VALUES ($1, $2, coalesce($3::jsonb, '[]'::jsonb), $4, $5, $6, $7)
        ON CONFLICT (user_id) DO UPDATE SET
            nmls_id = excluded.nmls_id,
            licenses = coalesce($3::jsonb, broker_profiles.licenses),
            capacity = excluded.capacity,
            timezone = excluded.timezone,
            hours = excluded.hours,
            active = excluded.active,
            updated_at = now()
        """,
        user_id,
        profile["nmls_id"],
        licenses,
        profile["capacity"],
        profile["timezone"],
        profile["hours"],
        profile["active"],
    )


async def admins(db: Executor) -> list[tuple[uuid.UUID, str, str]]:
    """(id, email, name) of every admin, who hear of leads nobody could take."""
    rows = await db.fetch("SELECT id, email, name FROM users WHERE role = 'admin' ORDER BY id")
    return [(r["id"], r["email"], r["name"]) for r in rows]
