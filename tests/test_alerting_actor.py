"""The alerting actor against real PostgreSQL, a real webhook receiver and a
real SMTP server: states stored, notifications sent, acks and silences."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from actors.alerting.actor import NAME, AlertingActor
from actors.mailer.actor import NAME as MAILER
from actors.mailer.actor import MailerActor
from actors.mailer.config import MailerConfig
from actors.runtime import ActorSystem, ChildSpec, SupervisorSpec
from protocols.smtp import SmtpConfig
from storage import alerts as store
from storage.database import Database
from tests.alerting_support import Fixture, Receiver, alerting, evaluate
from tests.support.net import eventually
from tests.support.smtp import SmtpServer


async def stored(db: Database) -> list[dict]:
    return await store.list_alerts(db.pool)


async def test_pending_then_firing_then_resolved_reaches_the_webhook(db: Database) -> None:
    receiver = Receiver()
    async with receiver.running() as url:
        fixture = Fixture(rule={"for": "1s"}, webhook_url=url)
        async with alerting(db, fixture) as system:
            fixture.gauge.set(25)
            await evaluate(system)
            [row] = await stored(db)
            assert row["state"] == "pending" and receiver.bodies == []
            await asyncio.sleep(1.1)
            await evaluate(system)
            [row] = await stored(db)
            assert row["state"] == "firing"
            [body] = receiver.bodies
            assert body["version"] == "4" and body["status"] == "firing"
            assert body["groupKey"] == '{}:{severity="critical"}'
            [alert] = body["alerts"]
            assert alert["labels"] == {"alertname": "QueueTooLong", "severity": "critical"}
            assert alert["annotations"]["summary"] == "the queue holds 25 items"
            assert alert["fingerprint"] == row["fingerprint"]
            assert alert["startsAt"].endswith("Z") and alert["endsAt"] == "0001-01-01T00:00:00Z"
            await evaluate(system)
            assert len(receiver.bodies) == 1  # still firing: told once
            fixture.gauge.set(3)
            await evaluate(system)
            [row] = await stored(db)
            assert row["state"] == "resolved"
            assert receiver.bodies[-1]["status"] == "resolved"
            assert receiver.bodies[-1]["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"


async def test_a_restart_keeps_a_firing_alert_and_its_start_time(db: Database) -> None:
    receiver = Receiver()
    async with receiver.running() as url:
        fixture = Fixture(webhook_url=url)
        fixture.gauge.set(40)
        async with alerting(db, fixture) as system:
            await evaluate(system)
        [before] = await stored(db)
        async with alerting(db, fixture) as system:
            await evaluate(system)
        [after] = await stored(db)
    assert before["state"] == after["state"] == "firing"
    assert after["started_at"] == before["started_at"]
    assert len(receiver.bodies) == 1  # the new incarnation knew the team had been told


async def test_the_timer_evaluates_and_a_restarted_actor_arms_its_own(db: Database) -> None:
    fixture = Fixture()
    fixture.config = replace(fixture.config, eval_seconds=0.1)
    restarts = REGISTRY.get_sample_value("rateline_actor_restarts_total", {"actor": NAME}) or 0

    async def state_is(expected: str) -> bool:
        rows = await stored(db)
        return bool(rows) and rows[0]["state"] == expected

    async with alerting(db, fixture) as system:
        fixture.gauge.set(40)
        await eventually(lambda: state_is("firing"))  # nobody asked: the timer did
        system.tell(NAME, "not a message it knows")  # the incarnation crashes
        await eventually(
            lambda: (
                REGISTRY.get_sample_value("rateline_actor_restarts_total", {"actor": NAME})
                == restarts + 1
            )
        )
        fixture.gauge.set(3)
        await eventually(lambda: state_is("resolved"))


async def test_an_ack_stops_repeats_and_a_silence_suppresses(db: Database) -> None:
    receiver = Receiver()
    async with receiver.running() as url:
        fixture = Fixture(webhook_url=url)
        fixture.config = replace(fixture.config, repeat=timedelta(milliseconds=300))
        fixture.gauge.set(40)
        async with alerting(db, fixture) as system:
            await evaluate(system)
            await asyncio.sleep(0.35)
            await evaluate(system)
            assert len(receiver.bodies) == 2  # firing, then a repeat
            [row] = await stored(db)
            await store.acknowledge(
                db.pool, row["fingerprint"], "ops@example.com", datetime.now(UTC)
            )
            await asyncio.sleep(0.35)
            await evaluate(system)
            assert len(receiver.bodies) == 2

            await store.add_silence(
                db.pool,
                matchers={"alertname": "~Queue.*"},
                ends_at=datetime.now(UTC) + timedelta(hours=1),
                comment="maintenance",
                by="ops@example.com",
            )
            fixture.gauge.set(0)
            await evaluate(system)  # resolves: the team was told it fired, so it hears
            fixture.gauge.set(50)
            await evaluate(system)  # fires again, silenced
            await evaluate(system)
            statuses = [b["status"] for b in receiver.bodies]
            assert statuses == ["firing", "firing", "resolved"]
            [row] = await stored(db)
            assert row["state"] == "firing" and row["acknowledged_by"] is None


async def test_a_refused_webhook_is_retried_until_it_is_taken(db: Database) -> None:
    receiver = Receiver(refuse=2)
    async with receiver.running() as url:
        fixture = Fixture(webhook_url=url)
        fixture.gauge.set(40)
        async with alerting(db, fixture) as system:
            await evaluate(system)
            assert receiver.bodies == []

            async def delivered() -> bool:
                await evaluate(system)
                return len(receiver.bodies) == 1

            await eventually(delivered, within=10)
    row = await db.pool.fetchrow("SELECT attempts, delivered_at FROM alert_deliveries")
    assert row["attempts"] == 3 and row["delivered_at"] is not None


@pytest.fixture
def smtp_server():
    server = SmtpServer("plain").start()
    yield server
    server.stop()


async def test_alert_email_reaches_the_smtp_server(db: Database, smtp_server: SmtpServer) -> None:
    fixture = Fixture(emails=("ops@example.com", "oncall@example.com"))
    mailer = MailerConfig(
        mail_from="Rateline <alerts@rateline.test>",
        smtp=SmtpConfig.from_url(f"smtp://127.0.0.1:{smtp_server.port}", timeout=5),
        poll_interval=0.2,
    )
    system = ActorSystem(asyncio.get_running_loop(), deps={"db": db})
    tree = SupervisorSpec(
        name="test",
        children=[
            ChildSpec(name=MAILER, factory=MailerActor, kwargs={"config": mailer}),
            ChildSpec(
                name=NAME,
                factory=AlertingActor,
                kwargs={"config": fixture.config, "registry": fixture.registry},
            ),
        ],
    )
    await asyncio.to_thread(system.start, tree)
    try:
        fixture.gauge.set(12)
        await evaluate(system)
        await eventually(lambda: len(smtp_server.handler.messages) == 2)
    finally:
        await asyncio.to_thread(system.stop, 5.0)
    message = smtp_server.handler.messages[0]
    assert message["Subject"] == "[FIRING] 1 critical alert(s): QueueTooLong"
    text = message.get_body(("plain",)).get_content()
    assert "QueueTooLong: the queue holds 12 items" in text
    assert {m["To"] for m in smtp_server.handler.messages} == {
        "ops@example.com",
        "oncall@example.com",
    }
