"""Rules, their evaluation and their states, driven by a real registry and a
test clock (no I/O: these are the pure parts of alerting)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from actors.alerting import load_rules
from actors.alerting.evaluate import Evaluator, Snapshot
from actors.alerting.rules import RulesError, load_rules_file, parse_matchers, rules_from_data
from actors.alerting.state import (
    FIRING,
    PENDING,
    RESOLVED,
    Silence,
    advance,
    mark_notified,
    plan_notifications,
)
from ops.config import Settings

ISSUE_EXAMPLE = {
    "rules": [
        {
            "name": "ManyWebSockets",
            "metric": "rateline_ws_connections",
            "labels": {},
            "function": "value",
            "window": "1m",
            "op": ">=",
            "threshold": 1,
            "for": "2s",
            "keep_firing_for": "0s",
            "severity": "warning",
            "summary": "{{ $value }} WebSocket connections",
        }
    ]
}
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Run:
    """Evaluates rules over a registry at chosen times, keeping the alerts."""

    def __init__(self, registry: CollectorRegistry, rules: dict) -> None:
        self.registry = registry
        self.rules = rules_from_data(rules, "test")
        self.evaluator = Evaluator(self.rules)
        self.alerts: dict = {}

    def at(self, seconds: float) -> list:
        now = T0 + timedelta(seconds=seconds)
        results = self.evaluator.evaluate(Snapshot.of(self.registry.collect()), now.timestamp())
        for rule in self.rules:
            advance(rule, self.alerts, results[rule.name], now)
        return sorted(self.alerts.values(), key=lambda a: a.fingerprint)

    def states(self, seconds: float) -> list[str]:
        return [a.state for a in self.at(seconds)]


def gauge_run(**rule: object) -> tuple[Gauge, Run]:
    registry = CollectorRegistry()
    gauge = Gauge("rateline_ws_connections", "test", registry=registry)
    spec = {**ISSUE_EXAMPLE["rules"][0], **rule}
    return gauge, Run(registry, {"rules": [spec]})


def test_a_gauge_over_its_threshold_goes_pending_then_fires_then_resolves() -> None:
    gauge, run = gauge_run()
    assert run.states(0) == []
    gauge.set(3)
    [alert] = run.at(1)
    assert alert.state == PENDING and alert.summary == "3 WebSocket connections"
    assert run.states(2) == [PENDING]  # held 1 s of the 2 s `for`
    [alert] = run.at(3)
    assert alert.state == FIRING
    assert alert.started_at == T0 + timedelta(seconds=3)
    assert alert.active_at == T0 + timedelta(seconds=1)
    assert alert.labels == {"alertname": "ManyWebSockets", "severity": "warning"}
    gauge.set(0)
    [alert] = run.at(4)
    assert alert.state == RESOLVED and alert.resolved_at == T0 + timedelta(seconds=4)


def test_a_flap_shorter_than_for_never_fires() -> None:
    gauge, run = gauge_run(**{"for": "5s"})
    seen = set()
    for second in range(20):
        gauge.set(2 if second % 4 < 2 else 0)  # over for 2 s, under for 2 s
        seen.update(run.states(second))
    assert seen == {PENDING}


def test_keep_firing_for_holds_a_firing_alert_through_a_short_dip() -> None:
    gauge, run = gauge_run(**{"for": "0s", "keep_firing_for": "10s"})
    gauge.set(5)
    assert run.states(0) == [FIRING]
    gauge.set(0)
    assert run.states(5) == [FIRING]
    assert run.states(9) == [FIRING]
    assert run.states(10) == [RESOLVED]


def test_rate_per_series_over_its_window() -> None:
    registry = CollectorRegistry()
    restarts = Counter("rateline_actor_restarts", "t", ["actor"], registry=registry)
    rule = {
        "name": "ActorRestarting",
        "metric": "rateline_actor_restarts_total",
        "function": "rate",
        "window": "60s",
        "op": ">",
        "threshold": 0.05,
        "severity": "critical",
        "summary": "{{ $labels.actor }} restarts at {{ $value }}/s",
    }
    run = Run(registry, {"rules": [rule]})
    restarts.labels("mailer").inc(0)
    restarts.labels("rates").inc(0)
    run.at(0)
    restarts.labels("mailer").inc(6)  # 6 in the 60 s window, as Prometheus counts: 0.1/s
    restarts.labels("rates").inc(1)
    [alert] = run.at(10)
    assert alert.labels["actor"] == "mailer" and alert.state == FIRING
    assert alert.summary == "mailer restarts at 0.1/s"
    assert alert.value == pytest.approx(0.1)
    # Outside the window the old increase no longer counts.
    assert run.states(200) == [RESOLVED]


def test_a_counter_reset_counts_from_zero_and_rates_extrapolate_as_prometheus_does() -> None:
    registry = CollectorRegistry()
    jobs = Gauge("rateline_jobs_total", "a counter that restarts", registry=registry)
    rule = {
        "name": "Jobs",
        "metric": "rateline_jobs_total",
        "function": "rate",
        "window": "1m",
        "op": ">",
        "threshold": 0,
        "severity": "info",
        "summary": "{{ $value }}",
    }
    run = Run(registry, {"rules": [rule]})
    for second, value in ((0, 10), (20, 20), (40, 5)):  # the process restarted before 40 s
        jobs.set(value)
        alerts = run.at(second)
    # 15 counted over 40 s, stretched by 20 s to the window's start: 22.5 in 60 s.
    [alert] = alerts
    assert alert.value == pytest.approx(0.375)


def test_ratio_of_5xx_and_p99_of_a_histogram() -> None:
    registry = CollectorRegistry()
    requests = Counter("rateline_http_requests", "t", ["status"], registry=registry)
    latency = Histogram(
        "rateline_http_request_duration_seconds", "t", buckets=(0.1, 1, 5), registry=registry
    )
    for status in ("200", "503"):
        requests.labels(status).inc(0)
    builtin = {r["name"]: r for r in json.loads(json.dumps(_builtin()))}
    ratio = {**builtin["HighServerErrorRatio"], "for": "0s"}
    p99 = {**builtin["SlowRequestsP99"], "for": "0s"}
    run = Run(registry, {"rules": [ratio, p99]})
    run.at(0)
    requests.labels("200").inc(90)
    requests.labels("503").inc(10)
    for _ in range(98):
        latency.observe(0.05)
    latency.observe(3)
    latency.observe(4)
    alerts = {a.name: a for a in run.at(30)}
    assert alerts["HighServerErrorRatio"].value == pytest.approx(0.1)
    # 100 new observations, 2 of them in (1, 5]: p99 lies halfway into that bucket.
    assert alerts["SlowRequestsP99"].value == pytest.approx(3.0)
    assert alerts["SlowRequestsP99"].summary == "p99 request time is 3 s"


def test_age_of_a_timestamp_gauge_and_an_absent_metric_stays_quiet() -> None:
    registry = CollectorRegistry()
    rules = {"rules": [r for r in _builtin() if r["name"] in ("BackupMissing", "LeadsUnassigned")]}
    run = Run(registry, rules)
    assert run.at(0) == []  # neither metric exists: no data, nothing fires
    backup = Gauge("rateline_backup_last_good_timestamp_seconds", "t", registry=registry)
    backup.set((T0 - timedelta(hours=27)).timestamp())
    [alert] = run.at(0)
    assert alert.name == "BackupMissing" and alert.state == FIRING
    assert alert.value == pytest.approx(27 * 3600)


def _builtin() -> list[dict]:
    from actors.alerting.builtin import BUILTIN_RULES

    return BUILTIN_RULES


def test_an_ack_stops_repeats_and_a_silence_suppresses() -> None:
    gauge, run = gauge_run(**{"for": "0s"})
    gauge.set(4)
    [alert] = run.at(0)
    repeat = timedelta(minutes=240)
    plan = plan_notifications(run.alerts, [], T0, repeat)
    assert [n.kind for n in plan.notices] == ["firing"]
    run.alerts[alert.fingerprint] = mark_notified(alert, T0)
    later = T0 + repeat
    assert plan_notifications(run.alerts, [], later - timedelta(seconds=1), repeat).notices == []
    assert [n.kind for n in plan_notifications(run.alerts, [], later, repeat).notices] == ["repeat"]
    run.alerts[alert.fingerprint] = replace(
        run.alerts[alert.fingerprint], acknowledged_at=T0, acknowledged_by="ops@example.com"
    )
    assert plan_notifications(run.alerts, [], later, repeat).notices == []

    other, fresh = gauge_run(**{"for": "0s"})
    other.set(9)
    fresh.at(0)
    hush = Silence("s1", parse_matchers({"alertname": "ManyWebSockets"}), T0 + timedelta(hours=1))
    assert plan_notifications(fresh.alerts, [hush], T0, repeat).notices == []
    after = T0 + timedelta(hours=1)
    assert [n.kind for n in plan_notifications(fresh.alerts, [hush], after, repeat).notices] == [
        "firing"
    ]


def test_the_issue_example_file_is_read_exactly(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(ISSUE_EXAMPLE))
    [rule] = load_rules_file(path)
    assert (rule.name, rule.for_, rule.window, rule.op, rule.threshold) == (
        "ManyWebSockets",
        2.0,
        60.0,
        ">=",
        1,
    )
    rules = load_rules(Settings.from_env({"RATELINE_ALERT_RULES": str(path)}))
    assert "ManyWebSockets" in {r.name for r in rules} and "EventLoopLag" in {r.name for r in rules}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"for": "2 minutes"}, "for: '2 minutes' is not a duration"),
        ({"function": "median"}, "function"),
        ({"op": "=>"}, "op"),
        ({"function": "quantile"}, "q: quantile needs q"),
        ({"function": "ratio"}, "metric_over: ratio needs"),
        ({"summary": "{{ .Value }}"}, "summary: {{ .Value }} is not supported"),
        ({"colour": "red"}, "colour"),
        ({"labels": {"status": "~5(("}}, "labels.status: bad regular expression"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_rule_and_the_field(change: dict, named: str) -> None:
    spec = {**ISSUE_EXAMPLE["rules"][0], **change}
    with pytest.raises(RulesError) as caught:
        rules_from_data({"rules": [spec]}, "rules.json")
    message = str(caught.value)
    assert "rule 'ManyWebSockets' (rules[0])" in message and named in message
