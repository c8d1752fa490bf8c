"""The mailer actor under a real actor system: woken by a commit on any
connection, and by its timer for retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from actors.mailer import child_specs
from actors.mailer.actor import NAME, MailerActor, OutboxHasWork
from actors.mailer.config import MailerConfig
from actors.mailer.courier import DeliveryReport
from actors.mailer.outbox import enqueue
from actors.mailer.retry import RetryPolicy
from actors.runtime import ActorSystem, ChildSpec, SupervisorSpec
from ops.config import Settings
from protocols.smtp import SmtpConfig
from storage import outbox as rows
from storage.database import Database
from tests.support.net import eventually, free_port
from tests.support.smtp import SmtpServer


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer("plain").start()
    yield server
    server.stop()


def config(port: int, *, poll: float) -> MailerConfig:
    return MailerConfig(
        mail_from="Rateline <no-reply@rateline.test>",
        smtp=SmtpConfig.from_url(f"smtp://127.0.0.1:{port}", timeout=5),
        poll_interval=poll,
        retry=RetryPolicy(base=timedelta(milliseconds=200), cap=timedelta(seconds=1)),
    )


@asynccontextmanager
async def running(db: Database, mailer: MailerConfig) -> AsyncIterator[ActorSystem]:
    system = ActorSystem(asyncio.get_running_loop(), deps={"db": db})
    spec = ChildSpec(name=NAME, factory=MailerActor, kwargs={"config": mailer})
    await asyncio.to_thread(system.start, SupervisorSpec(name="test", children=[spec]))
    try:
        yield system
    finally:
        await asyncio.to_thread(system.stop, 5.0)


async def queue(db: Database, to: str) -> int:
    async with db.pool.acquire() as conn, conn.transaction():
        return await enqueue(
            conn,
            to=to,
            template="already_registered",
            context={"name": "Ada", "login_link": "l", "reset_link": "r"},
        )


async def test_a_commit_wakes_the_mailer_without_waiting_for_its_timer(
    db: Database, smtp_server: SmtpServer
) -> None:
    async with running(db, config(smtp_server.port, poll=3600)):
        row_id = await queue(db, "ada@example.com")
        await eventually(lambda: len(smtp_server.handler.received()) == 1, within=5)

        async def marked() -> bool:
            row = await rows.get(db.pool, row_id)
            return row is not None and row.status == "sent"

        await eventually(marked)


async def test_the_timer_retries_once_the_relay_is_back(db: Database) -> None:
    port = free_port()
    async with running(db, config(port, poll=0.2)) as system:
        row_id = await queue(db, "ada@example.com")

        async def tried() -> bool:
            row = await rows.get(db.pool, row_id)
            return row is not None and row.attempts >= 1

        await eventually(tried)
        server = SmtpServer("plain", port=port).start()
        try:
            await eventually(lambda: len(server.handler.received()) == 1)
            report = await system.ask(NAME, OutboxHasWork(), timeout=5)
            assert isinstance(report, DeliveryReport) and report.sent == 0
        finally:
            server.stop()
    assert len(server.handler.received()) == 1


def test_child_specs_follow_the_settings(tmp_path: object) -> None:
    held = child_specs(Settings.from_env({}))
    [spec] = held
    assert spec.name == "mailer"
    assert spec.kwargs["config"].smtp is None
    configured = child_specs(
        Settings.from_env({"RATELINE_SMTP_URL": "smtp+starttls://u:p@relay.example:2587"})
    )
    smtp = configured[0].kwargs["config"].smtp
    assert (smtp.host, smtp.port, smtp.security, smtp.username) == (
        "relay.example",
        2587,
        "starttls",
        "u",
    )
