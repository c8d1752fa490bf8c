"""`rateline admin create` against the real database."""

from __future__ import annotations

import argparse
import io

import pytest

from ops.config import Settings
from server.admin_cli import add_parser, run
from storage.database import Database

PASSWORD = "tangerine-orbit-quietly-47"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rateline")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


async def test_the_first_admin_is_created_then_an_existing_account_promoted(
    db: Database, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse("admin", "create", "--email", "Root@Example.com", "--password-stdin")
    assert await run(args, settings, stdin=io.StringIO(PASSWORD + "\n")) == 0
    assert capsys.readouterr().out == "created admin root@example.com\n"
    row = await db.pool.fetchrow("SELECT email, role, email_verified_at, password_hash FROM users")
    assert row["email"] == "root@example.com" and row["role"] == "admin"
    assert row["email_verified_at"] is not None and row["password_hash"].startswith("$argon2id$")

    await db.pool.execute(
        "INSERT INTO users (email, name, role) VALUES ('bob@example.com', 'Bob', 'consumer')"
    )
    promote = parse("admin", "create", "--email", "bob@example.com")
    assert await run(promote, settings, stdin=io.StringIO("")) == 0
    assert await db.pool.fetchval("SELECT role FROM users WHERE email = 'bob@example.com'") == (
        "admin"
    )


async def test_a_weak_password_or_no_terminal_is_refused(db: Database, settings: Settings) -> None:
    weak = parse("admin", "create", "--email", "root@example.com", "--password-stdin")
    assert await run(weak, settings, stdin=io.StringIO("password1234\n")) == 2
    prompt = parse("admin", "create", "--email", "root@example.com")
    assert await run(prompt, settings, stdin=io.StringIO(PASSWORD)) == 2
    assert await db.pool.fetchval("SELECT count(*) FROM users") == 0
