"""One alert evaluation cycle against one /metrics render, in the same run.

A registry with about 5,000 series (gauges, labelled counters, a labelled
histogram) and 200 rules over it (value, rate, ratio, quantile, age). The
evaluation cycle is what the alerting actor does every
RATELINE_ALERT_EVAL_SECONDS without I/O: collect the registry, evaluate
every rule, move alert states on. The cycle's floor, collecting the registry into a snapshot, is
shown on its own. The baseline is what a Prometheus scrape
costs the server: prometheus_client.generate_latest over the same registry.
Target: a cycle costs at most half a render.

    python -m bench.alerting [--rounds 30]

Prints a table and writes bench/results/alerting.json.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from actors.alerting.evaluate import Evaluator, Snapshot
from actors.alerting.rules import Rule, rules_from_data
from actors.alerting.state import Alert, advance_all

RESULTS = Path(__file__).parent / "results" / "alerting.json"
SHARDS = 100
TARGET = 0.5


class Workload:
    def __init__(self, seed: int = 7) -> None:
        self.random = random.Random(seed)
        self.registry = CollectorRegistry()
        self.gauges = [
            Gauge(f"bench_gauge_{i}", "g", ["shard"], registry=self.registry) for i in range(14)
        ]
        self.stamp = Gauge(
            "bench_last_success_timestamp_seconds", "t", ["shard"], registry=self.registry
        )
        self.counters = [
            Counter(f"bench_events_{i}", "c", ["shard"], registry=self.registry) for i in range(25)
        ]
        self.latency = Histogram(
            "bench_duration_seconds",
            "h",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        for shard in range(SHARDS):
            for gauge in self.gauges:
                gauge.labels(f"s{shard}").set(0)
            self.stamp.labels(f"s{shard}").set(time.time())
            for counter in self.counters:
                counter.labels(f"s{shard}").inc(0)
        for route in range(77):
            self.latency.labels(f"/r{route}").observe(0.01)

    def series(self) -> int:
        return sum(len(family.samples) for family in self.registry.collect())

    def tick(self) -> None:
        """The figures move between evaluations, as a live server's do."""
        pick = self.random.randrange
        for _ in range(500):
            self.gauges[pick(14)].labels(f"s{pick(SHARDS)}").set(pick(100))
            self.counters[pick(25)].labels(f"s{pick(SHARDS)}").inc(pick(5))
            self.latency.labels(f"/r{pick(77)}").observe(self.random.random())


def bench_rules() -> list[Rule]:
    rules: list[dict[str, Any]] = []

    def add(**rule: Any) -> None:
        rules.append({"severity": "warning", "summary": "{{ $value }}", **rule})

    for i in range(80):
        labels = {"shard": f"s{i % SHARDS}"} if i % 2 else {}
        add(
            name=f"Gauge{i}",
            metric=f"bench_gauge_{i % 14}",
            labels=labels,
            function="value",
            op=">",
            threshold=90,
            **{"for": "1m"},
        )
    for i in range(80):
        labels = {"shard": f"~s{i % 10}.*"} if i % 2 else {}
        add(
            name=f"Rate{i}",
            metric=f"bench_events_{i % 25}_total",
            labels=labels,
            function="rate",
            window="5m",
            op=">",
            threshold=0.5,
        )
    for i in range(20):
        add(
            name=f"Ratio{i}",
            metric=f"bench_events_{i % 25}_total",
            labels={"shard": "s1"},
            function="ratio",
            metric_over=f"bench_events_{(i + 1) % 25}_total",
            window="5m",
            op=">",
            threshold=0.9,
        )
    for i in range(10):
        add(
            name=f"Quantile{i}",
            metric="bench_duration_seconds",
            labels={"route": f"~/r{i}.*"},
            function="quantile",
            q=0.99,
            window="5m",
            op=">",
            threshold=0.8,
        )
    for i in range(10):
        add(
            name=f"Age{i}",
            metric="bench_last_success_timestamp_seconds",
            labels={"shard": f"s{i}"},
            function="age",
            op=">",
            threshold=3600,
        )
    return rules_from_data({"rules": rules}, "bench")


def cycle(
    evaluator: Evaluator, registry: CollectorRegistry, alerts: dict[str, Alert], now: datetime
) -> None:
    results = evaluator.evaluate(Snapshot.of(registry.collect()), now.timestamp())
    advance_all(evaluator.rules, alerts, results, now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    disable_created_metrics()  # as the server does (ops.metrics)
    work = Workload()
    rules = bench_rules()
    evaluator = Evaluator(rules)
    alerts: dict[str, Alert] = {}
    now = datetime.now(UTC)
    for _ in range(20):  # fill the windows: 20 evaluations 15 s apart = 5 minutes
        work.tick()
        now += timedelta(seconds=15)
        cycle(evaluator, work.registry, alerts, now)

    evaluations: list[float] = []
    renders: list[float] = []
    collects: list[float] = []
    for _ in range(args.rounds):
        work.tick()
        now += timedelta(seconds=15)
        started = time.perf_counter()
        cycle(evaluator, work.registry, alerts, now)
        evaluations.append(time.perf_counter() - started)
        started = time.perf_counter()
        generate_latest(work.registry)
        renders.append(time.perf_counter() - started)
        started = time.perf_counter()
        Snapshot.of(work.registry.collect())
        collects.append(time.perf_counter() - started)

    evaluation, render = statistics.median(evaluations), statistics.median(renders)
    collect = statistics.median(collects)
    ratio = evaluation / render
    series = work.series()
    print(f"{len(rules)} rules over {series} series; {args.rounds} rounds, medians")
    print(f"{'measure':<36}{'ms':>10}")
    print(f"{'baseline: render /metrics once':<36}{render * 1000:>10.2f}")
    print(f"{'one evaluation cycle':<36}{evaluation * 1000:>10.2f}")
    print(f"{'  of which collecting the registry':<36}{collect * 1000:>10.2f}")
    print(f"{'ratio (target <= 0.5)':<36}{ratio:>10.2f}")
    print(f"alerts in memory: {len(alerts)}; verdict: {'met' if ratio <= TARGET else 'missed'}")
    RESULTS.parent.mkdir(exist_ok=True)
    document = {
        "rules": len(rules),
        "series": series,
        "rounds": args.rounds,
        "render_ms": render * 1000,
        "evaluation_ms": evaluation * 1000,
        "collect_ms": collect * 1000,
        "ratio": ratio,
        "target": TARGET,
        "met": ratio <= TARGET,
        "alerts": len(alerts),
    }
    RESULTS.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")


if __name__ == "__main__":
    main()
