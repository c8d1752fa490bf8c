"""`rateline admin create --email ...`: the first admin, from the command line.

Nobody can sign up as an admin, so the first one is made by whoever runs the
server. An existing account is promoted (its password is kept); a new one is
created verified, with a password typed at the prompt (or one line on stdin
with --password-stdin, for scripts), checked against the usual policy.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from actors.accounts.hashing import PasswordHasher
from actors.accounts.identity import InvalidEmail, normalise_email, personal_words
from actors.accounts.passwords import password_problems
from ops.config import Settings
from server.auth import argon2_params
from storage import accounts as store
from storage.accounts import Executor
from storage.database import Database
from storage.sessions import record_event


class AdminError(Exception):
    """A message for the operator; the command exits with status 2."""


@dataclass(frozen=True)
class AdminResult:
    email: str
    created: bool


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `admin create` to the `rateline` command's subcommands."""
    admin = commands.add_parser("admin", help="manage accounts", description="Manage accounts.")
    actions = admin.add_subparsers(dest="admin_command", required=True)
    create = actions.add_parser(
        "create",
        help="create an admin, or make an existing account admin",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    create.add_argument("--email", required=True, help="the admin's email address")
    create.add_argument("--data-dir", type=Path, help="data folder (RATELINE_DATA_DIR)")
    create.add_argument("--name", help="display name for a new account (default: the address)")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the new account's password from the first line of stdin",
    )


async def create_admin(
    db: Executor, hasher: PasswordHasher, *, email: str, name: str | None, password: str | None
) -> AdminResult:
    """Promote the account of `email`, or create it verified with `password`."""
    try:
        email = normalise_email(email)
    except InvalidEmail as exc:
        raise AdminError(f"invalid email: {exc}") from None
    existing = await store.user_by_email(db, email)
    if existing is not None:
        await store.set_role(db, existing.id, "admin")
        await record_event(
            db,
            kind="role_change",
            outcome="success",
            user_id=existing.id,
            email=email,
            detail=f"{existing.role} -> admin from the command line",
            at=datetime.now(UTC),
        )
        return AdminResult(email=existing.email, created=False)
    if password is None:
        raise AdminError("a new account needs a password")
    name = " ".join((name or email.split("@")[0]).split())
    problems = password_problems(password, personal=personal_words(email, name))
    if problems:
        raise AdminError("password not accepted: " + "; ".join(problems))
    password_hash = await hasher.hash_async(password)
    user = await store.create_user(
        db, email=email, name=name, password_hash=password_hash, role="admin", verified=True
    )
    if user is None:  # registered between our look-up and insert
        return await create_admin(db, hasher, email=email, name=name, password=None)
    await record_event(
        db,
        kind="register",
        outcome="success",
        user_id=user.id,
        email=email,
        detail="admin created from the command line",
        at=datetime.now(UTC),
    )
    return AdminResult(email=user.email, created=True)


def read_password(args: argparse.Namespace, stdin: TextIO = sys.stdin) -> str:
    if args.password_stdin:
        return stdin.readline().rstrip("\r\n")
    if not stdin.isatty():
        raise AdminError("no terminal to ask for a password; use --password-stdin")
    first = getpass.getpass("Password for the new admin: ")
    if getpass.getpass("Same password again: ") != first:
        raise AdminError("the passwords differ")
    return first


async def run(args: argparse.Namespace, settings: Settings, stdin: TextIO = sys.stdin) -> int:
    """Carry out `rateline admin create`; returns the exit status."""
    db = await Database.open(url=settings.database_url, data_dir=settings.data_dir)
    try:
        try:
            email = normalise_email(args.email)
        except InvalidEmail as exc:
            raise AdminError(f"invalid email: {exc}") from None
        hasher = await asyncio.to_thread(PasswordHasher, argon2_params(settings))
        existing = await store.user_by_email(db.pool, email)
        password = None if existing is not None else read_password(args, stdin)
        result = await create_admin(db.pool, hasher, email=email, name=args.name, password=password)
    except AdminError as exc:
        print(f"rateline: {exc}", file=sys.stderr)
        return 2
    finally:
        await db.close()
    verb = "created admin" if result.created else "made admin:"
    print(f"{verb} {result.email}")
    return 0
