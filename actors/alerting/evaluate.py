"""Evaluating rules against a snapshot of the metrics registry.

The evaluator keeps, for each counter and histogram bucket a `rate`,
`ratio` or `quantile` rule reads, the samples its longest window needs, and
computes rates as Prometheus does (extrapolated to the window's edges);
`value` and `age` read the snapshot alone. Nothing here does I/O: the
caller collects the registry and passes the clock.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from actors.alerting.rules import COMPARE, Matcher, Rule, matches_all

Labels = Mapping[str, str]
SeriesKey = tuple[tuple[str, str], ...]


class Result(NamedTuple):
    """One alert instance's figure: the series' labels and the function's value."""

    labels: Labels
    value: float


class Snapshot:
    """Samples by name, as one collection of the registry gave them."""

    __slots__ = ("by_name",)

    def __init__(self, samples: Iterable[tuple[str, Labels, float]]) -> None:
        self.by_name: dict[str, list[tuple[Labels, float]]] = {}
        for name, labels, value in samples:
            self.by_name.setdefault(name, []).append((labels, value))

    @classmethod
    def of(cls, metric_families: Iterable[object]) -> Snapshot:
        """From prometheus_client's registry.collect()."""
        return cls(
            (s.name, s.labels, s.value)
            for family in metric_families
            for s in family.samples  # type: ignore[attr-defined]
        )


class _Series:
    """A counter's recent history as (time, running total, value): the running
    total goes on across counter resets, so an increase is one subtraction."""

    __slots__ = ("labels", "last", "points", "total")

    def __init__(self, labels: Labels, value: float) -> None:
        self.labels = labels
        self.last = value
        self.total = 0.0
        self.points: deque[tuple[float, float, float]] = deque()

    def record(self, now: float, value: float) -> None:
        self.total += value - self.last if value >= self.last else value  # a reset restarts at 0
        self.last = value
        self.points.append((now, self.total, value))

    def increase(self, now: float, window: float) -> float | None:
        """Prometheus' `increase(series[window])` at `now`: the increase between
        the window's first and last samples, extrapolated towards the window's
        edges as Prometheus does (never below a counter's zero)."""
        points = self.points
        start = now - window
        skipped = 0
        for t, _, _ in points:
            if t >= start:
                break
            skipped += 1
        count = len(points) - skipped
        if count < 2:
            return None
        first_t, first_total, first_value = points[skipped]
        last_t, last_total, _ = points[-1]
        sampled = last_t - first_t
        if sampled <= 0:
            return None
        result = last_total - first_total
        to_start, to_end = first_t - start, now - last_t
        if result > 0 and first_value >= 0:
            to_start = min(to_start, sampled * (first_value / result))
        average = sampled / (count - 1)
        threshold = average * 1.1
        covered = sampled
        covered += to_start if to_start < threshold else average / 2
        covered += to_end if to_end < threshold else average / 2
        return result * covered / sampled


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus' histogram_quantile over (upper bound, cumulative count) pairs."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][0] != math.inf:
        return None
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == math.inf:
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


class Evaluator:
    """Evaluates a fixed set of rules, cycle after cycle."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self._keep: dict[str, float] = {}  # sample name -> longest window over it
        for rule in self.rules:
            names: list[str] = []
            if rule.function in ("rate", "ratio"):
                names = [rule.metric, rule.metric_over or rule.metric]
            elif rule.function == "quantile":
                names = [rule.metric + "_bucket"]
            for name in names:
                self._keep[name] = max(self._keep.get(name, 0.0), rule.window)
        self._series: dict[str, dict[SeriesKey, _Series]] = {name: {} for name in self._keep}
        # Which series each rule's matchers pick, until that name gains or loses a series.
        self._versions: dict[str, int] = dict.fromkeys(self._keep, 0)
        self._picked: dict[tuple[str, tuple[Matcher, ...]], tuple[int, list[_Series]]] = {}

    def evaluate(self, snapshot: Snapshot, now: float) -> dict[str, list[Result]]:
        """Record this snapshot's counters, then each rule's instances that hold now."""
        self._record(snapshot, now)
        out: dict[str, list[Result]] = {}
        for rule in self.rules:
            found = [r for r in self._results(rule, snapshot, now) if rule.holds(r.value)]
            out[rule.name] = found
        return out

    def _record(self, snapshot: Snapshot, now: float) -> None:
        for name, keep in self._keep.items():
            series = self._series[name]
            oldest = now - keep
            grew = False
            seen = 0
            for labels, value in snapshot.by_name.get(name, ()):
                # prometheus_client yields a family's labels in one fixed order.
                key = tuple(labels.items())
                entry = series.get(key)
                if entry is None:
                    entry = series[key] = _Series(labels, value)
                    grew = True
                entry.record(now, value)
                points = entry.points
                while points[0][0] < oldest:
                    points.popleft()
                seen += 1
            gone = []
            if seen < len(series):  # some series were not in this snapshot
                gone = [k for k, e in series.items() if e.points[-1][0] < oldest]
                for key in gone:
                    del series[key]  # absent from the registry for a whole window
                for entry in series.values():
                    points = entry.points
                    while points[0][0] < oldest:
                        points.popleft()
            if grew or gone:
                self._versions[name] += 1

    def _pick(self, name: str, matchers: tuple[Matcher, ...]) -> list[_Series]:
        version = self._versions.get(name, 0)
        cached = self._picked.get((name, matchers))
        if cached is None or cached[0] != version:
            found = [
                e for e in self._series.get(name, {}).values() if matches_all(matchers, e.labels)
            ]
            cached = self._picked[(name, matchers)] = (version, found)
        return cached[1]

    def _rates(
        self, name: str, matchers: tuple[Matcher, ...], window: float, now: float
    ) -> list[Result]:
        found = []
        for entry in self._pick(name, matchers):
            increase = entry.increase(now, window)
            if increase is not None:
                found.append(Result(entry.labels, increase / window))
        return found

    def _results(self, rule: Rule, snapshot: Snapshot, now: float) -> list[Result]:
        function = rule.function
        if function in ("value", "age"):
            # The hottest loop: compare before building a result.
            holds, threshold, matchers = COMPARE[rule.op], rule.threshold, rule.matchers
            age = function == "age"
            found = []
            for labels, value in snapshot.by_name.get(rule.metric, ()):
                if matchers and not matches_all(matchers, labels):
                    continue
                if age:
                    value = now - value
                if holds(value, threshold):
                    found.append(Result(labels, value))
            return found
        if function == "rate":
            return self._rates(rule.metric, rule.matchers, rule.window, now)
        if function == "ratio":
            over = self._rates(rule.metric_over or "", rule.matchers_over, rule.window, now)
            denominator = sum(r.value for r in over)
            if not over or denominator == 0:
                return []
            numerator = self._rates(rule.metric, rule.matchers, rule.window, now)
            return [Result({}, sum(r.value for r in numerator) / denominator)]
        return self._quantile(rule, now)

    def _quantile(self, rule: Rule, now: float) -> list[Result]:
        by_bound: dict[float, float] = {}
        for entry in self._pick(rule.metric + "_bucket", rule.matchers):
            increase = entry.increase(now, rule.window)
            if increase is None:
                continue
            bound = float(entry.labels.get("le", "+Inf"))
            by_bound[bound] = by_bound.get(bound, 0.0) + increase
        value = bucket_quantile(rule.q or 0.0, list(by_bound.items()))
        return [] if value is None else [Result({}, value)]
