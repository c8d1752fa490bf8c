"""The Prometheus side: exported rules pass `promtool check rules`, and a
real Alertmanager receives and lists our alerts (Debian packages
`prometheus` and `prometheus-alertmanager`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import CollectorRegistry, Gauge

from actors.alerting.evaluate import Evaluator, Snapshot
from actors.alerting.rules import rules_from_data
from actors.alerting.state import FIRING, advance_all
from server.cli import main
from storage.database import Database
from tests.alerting_support import Fixture, alerting, evaluate, gauge_rule
from tests.support.net import eventually, free_port


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


def test_prometheus_fires_the_exported_rules_when_rateline_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same series through our evaluator and through promtool's rule tests."""
    promtool = binary("promtool", "prometheus")
    rules = [
        gauge_rule(name="Busy", metric="rateline_test_busy", severity="warning", **{"for": "2m"}),
        {
            "name": "Churn",
            "metric": "rateline_test_churn_total",
            "function": "rate",
            "window": "5m",
            "op": ">",
            "threshold": 0.5,
            "severity": "info",
            "summary": "churn is high",
        },
    ]
    source = tmp_path / "rules.json"
    source.write_text(json.dumps({"rules": rules}))
    monkeypatch.setenv("RATELINE_ALERT_RULES", str(source))
    exported = tmp_path / "rateline.rules.yml"
    assert main(["alerts", "export-prometheus", "--output", str(exported)]) == 0

    busy = [0, 0, 25, 25, 25, 25, 0]  # a sample a minute
    churn = [60 * i for i in range(7)]  # one a second
    ours = our_firing(rules, busy, churn)
    assert [sorted(ours[m]) for m in (1, 3, 4)] == [[], ["Churn"], ["Busy", "Churn"]]

    severity = {"Busy": "warning", "Churn": "info"}
    summary = {"Busy": "the queue holds 25 items", "Churn": "churn is high"}
    checks = []
    for minute in range(7):
        for name in ("Busy", "Churn"):
            expected = "        exp_alerts: []\n"
            if name in ours[minute]:
                expected = (
                    "        exp_alerts:\n"
                    f"          - exp_labels: {{severity: {severity[name]}}}\n"
                    f"            exp_annotations: {{summary: {json.dumps(summary[name])}}}\n"
                )
            checks.append(f"      - eval_time: {minute}m\n        alertname: {name}\n{expected}")
    tests = tmp_path / "tests.yml"
    tests.write_text(
        f"rule_files: [{json.dumps(str(exported))}]\n"
        "evaluation_interval: 1m\n"
        "tests:\n"
        "  - interval: 1m\n"
        "    input_series:\n"
        f'      - series: rateline_test_busy\n        values: "{spaced(busy)}"\n'
        f'      - series: rateline_test_churn_total\n        values: "{spaced(churn)}"\n'
        "    alert_rule_test:\n" + "".join(checks)
    )
    checked = subprocess.run(
        [promtool, "test", "rules", str(tests)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def spaced(values: list[int]) -> str:
    return " ".join(map(str, values))


def our_firing(rules: list[dict], busy: list[int], churn: list[int]) -> list[set[str]]:
    """What fires each minute by our evaluator, fed the same samples."""
    registry = CollectorRegistry()
    gauge = Gauge("rateline_test_busy", "t", registry=registry)
    counter = Gauge("rateline_test_churn_total", "t", registry=registry)
    parsed = rules_from_data({"rules": rules}, "test")
    evaluator = Evaluator(parsed)
    alerts: dict = {}
    start = datetime(2026, 1, 5, tzinfo=UTC)
    firing = []
    for minute, (value, total) in enumerate(zip(busy, churn, strict=True)):
        gauge.set(value)
        counter.set(total)
        now = start + timedelta(minutes=minute)
        results = evaluator.evaluate(Snapshot.of(registry.collect()), now.timestamp())
        advance_all(parsed, alerts, results, now)
        firing.append({a.name for a in alerts.values() if a.state == FIRING})
    return firing
