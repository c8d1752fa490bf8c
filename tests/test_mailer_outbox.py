"""The outbox and its delivery against real PostgreSQL and real SMTP servers."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from datetime import timedelta

import asyncpg
import pytest
from prometheus_client import REGISTRY

from actors.mailer.courier import Courier
from actors.mailer.outbox import enqueue
from actors.mailer.retry import RetryPolicy
from protocols.email_templates import TemplateError
from protocols.smtp import SmtpConfig, SmtpSender
from storage import outbox as rows
from storage.database import Database
from tests.support.net import eventually, free_port
from tests.support.smtp import RecordingHandler, SmtpServer

FROM = "Rateline <no-reply@rateline.test>"
QUICK = RetryPolicy(base=timedelta(milliseconds=300), cap=timedelta(seconds=1), max_attempts=5)


def courier(
    db: Database | asyncpg.Pool,
    server: SmtpServer | None,
    *,
    worker: str = "node-a",
    batch_size: int = 20,
    lease: timedelta = timedelta(seconds=30),
    port: int | None = None,
) -> Courier:
    pool = db.pool if isinstance(db, Database) else db
    sender = None
    if server is not None or port is not None:
        url = server.url() if server is not None else f"smtp://127.0.0.1:{port}"
        sender = SmtpSender(SmtpConfig.from_url(url, timeout=5))
    return Courier(
        pool,
        sender,
        mail_from=FROM,
        worker=worker,
        retry=QUICK,
        batch_size=batch_size,
        lease=lease,
    )


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer("plain").start()
    yield server
    server.stop()


def sent_total() -> float:
    labels = {"template": "verification"}
    return REGISTRY.get_sample_value("rateline_mail_sent_total", labels) or 0.0


async def queue_verification(db: Database, to: str, n: int = 1) -> list[int]:
    ids = []
    async with db.pool.acquire() as conn, conn.transaction():
        for i in range(n):
            ids.append(
                await enqueue(
                    conn,
                    to=to,
                    template="verification",
                    context={
                        "name": f"Ada {i}",
                        "link": f"https://x.test/v?token=t{i}",
                        "hours": 24,
                    },
                )
            )
    return ids


async def test_an_email_exists_only_if_its_transaction_commits(db: Database) -> None:
    async with db.pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await enqueue(
                    conn,
                    to="ada@example.com",
                    template="password_reset",
                    context={"name": "Ada", "link": "https://x.test/r", "minutes": 30},
                )
                raise RuntimeError("the change failed")
    assert await rows.recent(db.pool) == []
    await queue_verification(db, "ada@example.com")
    [row] = await rows.recent(db.pool)
    assert row.status == "pending"
    assert "https://x.test/v?token=t0" in row.text_body
    assert "Ada 0" in row.html_body


async def test_a_missing_template_value_fails_the_enqueue(db: Database) -> None:
    async with db.pool.acquire() as conn:
        with pytest.raises(TemplateError, match="link"):
            await enqueue(conn, to="a@example.com", template="verification", context={"name": "A"})
        with pytest.raises(TemplateError, match="no email template"):
            await enqueue(conn, to="a@example.com", template="nonexistent", context={})


async def test_without_smtp_mail_is_held_for_the_dev_mailbox(db: Database) -> None:
    await queue_verification(db, "ada@example.com", n=2)
    report = await courier(db, None).deliver_due()
    assert report.held == 2
    assert [r.status for r in await rows.recent(db.pool)] == ["held", "held"]


async def test_delivery_uses_a_stable_message_id_and_forgets_secret_links(
    db: Database, smtp_server: SmtpServer
) -> None:
    sent_before = sent_total()
    [row_id] = await queue_verification(db, "ada@example.com")
    report = await courier(db, smtp_server).deliver_due()
    assert report.sent == 1
    [message] = smtp_server.handler.received()
    row = await rows.get(db.pool, row_id)
    assert row is not None and row.status == "sent"
    assert message["Message-ID"] == f"<{row.message_key}@rateline.test>"
    assert message["To"] == "ada@example.com"
    assert "token=t0" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "token=t0" not in row.text_body + row.html_body
    assert sent_total() == sent_before + 1


async def test_smtp_down_then_up_delivers_once_after_backoff(db: Database) -> None:
    port = free_port()
    [row_id] = await queue_verification(db, "ada@example.com")
    mailer = courier(db, None, port=port)

    first = await mailer.deliver_due()
    assert first.retried == 1
    row = await rows.get(db.pool, row_id)
    assert row is not None
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error

    server = SmtpServer("plain", port=port).start()
    try:
        early = await mailer.deliver_due()
        assert early.claimed == 0, "a retry must wait for its backoff"

        async def delivered() -> bool:
            await mailer.deliver_due()
            done = await rows.get(db.pool, row_id)
            return done is not None and done.status == "sent"

        await eventually(delivered)
        await mailer.deliver_due()
        assert len(server.handler.received()) == 1
    finally:
        server.stop()


async def test_permanent_refusal_fails_the_email_without_retrying(
    db: Database, smtp_server: SmtpServer
) -> None:
    smtp_server.handler.refuse = {"gone@example.com": "550 5.1.1 No such user here"}
    [bad] = await queue_verification(db, "gone@example.com")
    [good] = await queue_verification(db, "ada@example.com")
    mailer = courier(db, smtp_server)
    report = await mailer.deliver_due()
    assert (report.sent, report.failed, report.retried) == (1, 1, 0)
    failed = await rows.get(db.pool, bad)
    assert failed is not None
    assert failed.status == "failed"
    assert failed.last_error is not None and "No such user" in failed.last_error
    await asyncio.sleep(QUICK.base.total_seconds() * 2)
    assert (await mailer.deliver_due()).claimed == 0
    assert [m["To"] for m in smtp_server.handler.received()] == ["ada@example.com"]
    sent = await rows.get(db.pool, good)
    assert sent is not None and sent.status == "sent"


async def test_temporary_failures_give_up_after_the_last_attempt(db: Database) -> None:
    [row_id] = await queue_verification(db, "ada@example.com")
    mailer = courier(db, None, port=free_port())
    mailer.retry = RetryPolicy(
        base=timedelta(milliseconds=50), cap=timedelta(milliseconds=100), max_attempts=5
    )

    async def failed() -> bool:
        await mailer.deliver_due()
        row = await rows.get(db.pool, row_id)
        return row is not None and row.status == "failed"

    await eventually(failed)
    row = await rows.get(db.pool, row_id)
    assert row is not None and row.attempts == 5
    assert row.last_error is not None and row.last_error.startswith("gave up after 5 attempts")


async def test_a_mailer_killed_mid_batch_loses_nothing(db: Database) -> None:
    ids = await queue_verification(db, "ada@example.com", n=5)
    handler = RecordingHandler()
    second_arrived = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def hang_on_the_second(message: object) -> None:
        if len(handler.received()) == 2:
            loop.call_soon_threadsafe(second_arrived.set)
            await asyncio.sleep(1.0)  # accepted, but the answer comes too late

    handler.on_data = hang_on_the_second
    server = SmtpServer("plain", handler=handler).start()
    try:
        lease = timedelta(seconds=1)
        doomed = asyncio.create_task(
            courier(db, server, worker="doomed", lease=lease).deliver_due()
        )
        await asyncio.wait_for(second_arrived.wait(), 10)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed

        survivor = courier(db, server, worker="survivor", lease=lease)

        async def all_sent() -> bool:
            await survivor.deliver_due()
            statuses = [(await rows.get(db.pool, i)).status for i in ids]  # type: ignore[union-attr]
            return statuses == ["sent"] * 5

        await eventually(all_sent)
    finally:
        server.stop()

    keys = {str((await rows.get(db.pool, i)).message_key) for i in ids}  # type: ignore[union-attr]
    received = collections.Counter(handler.message_ids())
    assert {mid.strip("<>").split("@")[0] for mid in received} == keys
    repeats = {mid: n for mid, n in received.items() if n > 1}
    assert list(repeats.values()) == [2], "only the message cut off mid-answer comes twice"
    first_two = handler.received()[:2]
    second_again = [
        m for m in handler.received()[2:] if m["Message-ID"] == first_two[1]["Message-ID"]
    ]
    assert second_again and second_again[0]["Subject"] == first_two[1]["Subject"]


async def test_two_mailers_on_one_outbox_send_each_email_once(
    db: Database, smtp_server: SmtpServer
) -> None:
    ids = await queue_verification(db, "ada@example.com", n=24)
    smtp_server.handler.delay = 0.01
    other_node = await asyncpg.create_pool(db.dsn, min_size=1, max_size=2)
    try:
        a = courier(db, smtp_server, worker="node-a", batch_size=4)
        b = courier(other_node, smtp_server, worker="node-b", batch_size=4)
        reports = await asyncio.gather(
            a.deliver_due(max_batches=100), b.deliver_due(max_batches=100)
        )
    finally:
        await other_node.close()
    assert sum(r.sent for r in reports) == 24
    assert all(r.sent > 0 for r in reports), "both mailers took part"
    received = collections.Counter(smtp_server.handler.message_ids())
    assert len(received) == 24 and set(received.values()) == {1}
    statuses = {(await rows.get(db.pool, i)).status for i in ids}  # type: ignore[union-attr]
    assert statuses == {"sent"}


async def test_oldest_pending_age_is_reported(db: Database) -> None:
    await queue_verification(db, "ada@example.com")
    await asyncio.sleep(0.2)
    mailer = courier(db, None, port=free_port())
    await mailer.refresh_gauge()
    age = REGISTRY.get_sample_value("rateline_mail_oldest_pending_age_seconds")
    assert age is not None and age >= 0.2
