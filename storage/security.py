"""The security scanner's reads of the database, and its findings' table.

The reads describe the server the application is connected to: who it
connects as, what pg_hba.conf allows, how passwords are stored, what PUBLIC
may do. Some need privileges (pg_hba_file_rules, pg_authid); a role without
them gets None for that fact rather than an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from storage.database import Executor


async def database_facts(conn: asyncpg.Connection) -> dict[str, Any]:
    row = await conn.fetchrow(
        """
        SELECT current_user AS user,
               (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
               current_setting('password_encryption') AS password_encryption,
               current_setting('ssl') = 'on' AS ssl,
               EXISTS (
                   SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a
                   WHERE n.nspname = 'public' AND a.grantee = 0
                     AND a.privilege_type = 'CREATE'
               ) AS public_create,
               (SELECT CASE WHEN t.tgenabled = 'D' THEN 'disabled' ELSE 'enabled' END
                  FROM pg_trigger t
                 WHERE t.tgrelid = to_regclass('audit_log')
                   AND t.tgname = 'audit_log_append_only') AS audit_trigger
        """
    )
    facts = dict(row)
    facts["audit_trigger"] = facts["audit_trigger"] or "missing"
    facts["hba_rules"] = await _privileged(
        conn,
        """
        SELECT type, address, netmask, auth_method FROM pg_hba_file_rules
        WHERE error IS NULL
        """,
    )
    passwordless = await _privileged(
        conn, "SELECT rolname FROM pg_authid WHERE rolcanlogin AND rolpassword IS NULL"
    )
    facts["passwordless_logins"] = (
        None if passwordless is None else [r["rolname"] for r in passwordless]
    )
    return facts


async def _privileged(conn: asyncpg.Connection, query: str) -> list[asyncpg.Record] | None:
    try:
        async with conn.transaction():  # a refusal must not spoil the connection
            return await conn.fetch(query)
    except asyncpg.InsufficientPrivilegeError:
        return None


async def admins(db: Executor) -> list[tuple[str, bool]]:
    rows = await db.fetch(
        "SELECT email, email_verified_at IS NOT NULL AS verified FROM users "
        "WHERE role = 'admin' ORDER BY email"
    )
    return [(r["email"], r["verified"]) for r in rows]


@dataclass(frozen=True)
class FindingRow:
    id: str
    check_id: str
    severity: str
    title: str
    evidence: str
    remedy: str
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None


_FINDING_COLUMNS = (
    "id, check_id, severity, title, evidence, remedy, first_seen, last_seen, resolved_at"
)


async def record_scan(
    conn: asyncpg.Connection, findings: Iterable[Sequence[str]], now: datetime
) -> tuple[list[str], list[str]]:
    """Store a scan's findings (id, check, severity, title, evidence, remedy)
    in the caller's transaction: seen ones are (re)opened, open ones not seen
    are resolved. Returns the ids newly opened and newly resolved."""
    findings = list(findings)
    opened = await conn.fetch(
        f"""
        INSERT INTO security_findings ({_FINDING_COLUMNS})
        SELECT f.id, f.check_id, f.severity, f.title, f.evidence, f.remedy, $7, $7, NULL
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
             AS f(id, check_id, severity, title, evidence, remedy)
        ON CONFLICT (id) DO UPDATE SET
            severity = excluded.severity, title = excluded.title,
            evidence = excluded.evidence, remedy = excluded.remedy,
            last_seen = excluded.last_seen,
            first_seen = CASE WHEN security_findings.resolved_at IS NULL
                              THEN security_findings.first_seen ELSE excluded.first_seen END,
            resolved_at = NULL
        RETURNING id, (xmax = 0 OR first_seen = $7) AS new
        """,
        *([f[i] for f in findings] for i in range(6)),
        now,
    )
    resolved = await conn.fetch(
        """
        UPDATE security_findings SET resolved_at = $2
        WHERE resolved_at IS NULL AND NOT (id = ANY($1::text[]))
        RETURNING id
        """,
        [f[0] for f in findings],
        now,
    )
    return [r["id"] for r in opened if r["new"]], [r["id"] for r in resolved]


async def open_findings(db: Executor) -> list[FindingRow]:
    rows = await db.fetch(
        f"""
        SELECT {_FINDING_COLUMNS} FROM security_findings WHERE resolved_at IS NULL
        ORDER BY array_position(ARRAY['critical', 'high', 'medium', 'low'], severity), id
        """
    )
    return [FindingRow(**dict(r)) for r in rows]


async def open_counts(db: Executor) -> dict[str, int]:
    """severity -> how many findings of it are open."""
    rows = await db.fetch(
        "SELECT severity, count(*) AS n FROM security_findings"
        " WHERE resolved_at IS NULL GROUP BY severity"
    )
    return {r["severity"]: int(r["n"]) for r in rows}


async def is_open(db: Executor, finding_id: str) -> bool:
    return bool(
        await db.fetchval(
            "SELECT true FROM security_findings WHERE id = $1 AND resolved_at IS NULL",
            finding_id,
        )
    )


async def resolve(db: Executor, finding_id: str, now: datetime) -> None:
    await db.execute(
        "UPDATE security_findings SET resolved_at = $2 WHERE id = $1 AND resolved_at IS NULL",
        finding_id,
        now,
    )
