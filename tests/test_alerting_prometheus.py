"""The Prometheus side: exported rules pass `promtool check rules`, and a
real Alertmanager receives and lists our alerts (Debian packages
`prometheus` and `prometheus-alertmanager`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from server.cli import main
from storage.database import Database
from tests.alerting_support import Fixture, alerting, evaluate, gauge_rule
from tests.test_mailer_smtp import eventually, free_port


def binary(name: str, package: str) -> str:
    """The program's path; skip without it, but fail under CI, which installs it."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is missing: apt-get install -y {package}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


EXTRA_RULES = [
    gauge_rule(name="QueueTooLong", keep_firing_for="30s", alert_labels={"team": "ops"}),
    {
        "name": "ManyDeclines",
        "metric": "rateline_payment_webhook_events_total",
        "labels": {"result": "~rejected|duplicate"},
        "function": "ratio",
        "metric_over": "rateline_payment_webhook_events_total",
        "labels_over": {"type": "invoice.paid"},
        "window": "10m",
        "op": ">=",
        "threshold": 0.25,
        "for": "90s",
        "severity": "info",
        "summary": '{{ $value }} of {{ $labels.type }} "events" declined',
    },
    {
        "name": "SlowAgents",
        "metric": "rateline_agent_request_duration_seconds",
        "labels": {"agent": "mortgage_advisor"},
        "function": "quantile",
        "q": 0.9,
        "window": "500ms",
        "op": ">",
        "threshold": 2.5,
        "severity": "warning",
        "summary": "p90 at {{ $value }}",
    },
]


def test_exported_rules_pass_promtool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    promtool = binary("promtool", "prometheus")
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"rules": EXTRA_RULES}))
    monkeypatch.setenv("RATELINE_ALERT_RULES", str(rules))
    exported = tmp_path / "rateline.rules.yml"
    assert main(["alerts", "export-prometheus", "--output", str(exported)]) == 0
    checked = subprocess.run(
        [promtool, "check", "rules", str(exported)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 16 rules found" in checked.stdout
    text = exported.read_text()
    assert "keep_firing_for: 30s" in text and "for: 1m30s" not in text
    assert (
        'sum(rate(rateline_payment_webhook_events_total{result=~\\"rejected|duplicate\\"}[10m]))'
        in text
    )


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    program = binary("prometheus-alertmanager", "prometheus-alertmanager")
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        'route:\n  receiver: "null"\n  group_wait: 1s\nreceivers:\n  - name: "null"\n'
    )
    port = free_port()
    process = subprocess.Popen(
        [
            program,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def listed(base: str) -> list[dict]:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/api/v2/alerts") as got:
        assert got.status == 200
        return await got.json()


async def test_a_real_alertmanager_receives_and_lists_the_alert(
    db: Database, alertmanager: str
) -> None:
    async def ready() -> bool:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{alertmanager}/-/ready") as response,
            ):
                return response.status == 200
        except aiohttp.ClientError:
            return False

    await eventually(ready, within=15)
    fixture = Fixture(alertmanager_url=alertmanager)
    async with alerting(db, fixture) as system:
        fixture.gauge.set(77)
        report = await evaluate(system)
        assert report.delivered == 1
        [alert] = await listed(alertmanager)
        assert alert["labels"] == {"alertname": "QueueTooLong", "severity": "critical"}
        assert alert["annotations"]["summary"] == "the queue holds 77 items"
        assert alert["status"]["state"] == "active"
        fixture.gauge.set(0)
        await evaluate(system)

        async def resolved() -> bool:
            return await listed(alertmanager) == []

        await eventually(resolved, within=10)
