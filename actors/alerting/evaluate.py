"""Evaluating rules against a snapshot of the metrics registry.

The evaluator keeps, for each counter and histogram bucket a `rate`,
`ratio` or `quantile` rule reads, the samples its longest window needs;
`value` and `age` read the snapshot alone. Nothing here does I/O: the
caller collects the registry and passes the clock.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from actors.alerting.rules import Matcher, Rule, matches_all

Labels = Mapping[str, str]
SeriesKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Result:
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
    __slots__ = ("labels", "points")

    def __init__(self, labels: Labels) -> None:
        self.labels = labels
        self.points: deque[tuple[float, float]] = deque()


def _increase(points: deque[tuple[float, float]], since: float) -> tuple[float, float] | None:
    """(increase, seconds covered) of a counter over the points at or after `since`."""
    first_t = previous = None
    increase = 0.0
    last_t = 0.0
    for t, v in points:
        if t < since:
            continue
        if previous is None:
            first_t = t
        else:
            increase += v - previous if v >= previous else v  # a reset starts from zero
        previous, last_t = v, t
    if first_t is None or last_t <= first_t:
        return None
    return increase, last_t - first_t


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
            for labels, value in snapshot.by_name.get(name, ()):
                key = tuple(sorted(labels.items()))
                entry = series.get(key)
                if entry is None:
                    entry = series[key] = _Series(labels)
                entry.points.append((now, value))
            for key in [k for k, e in series.items() if e.points[-1][0] < oldest]:
                del series[key]  # gone from the registry for a whole window
            for entry in series.values():
                points = entry.points
                while points and points[0][0] < oldest:
                    points.popleft()

    def _rates(
        self, name: str, matchers: tuple[Matcher, ...], window: float, now: float
    ) -> list[Result]:
        found = []
        for entry in self._series.get(name, {}).values():
            if not matches_all(matchers, entry.labels):
                continue
            covered = _increase(entry.points, now - window)
            if covered is not None:
                found.append(Result(entry.labels, covered[0] / covered[1]))
        return found

    def _results(self, rule: Rule, snapshot: Snapshot, now: float) -> list[Result]:
        function = rule.function
        if function in ("value", "age"):
            offset = now if function == "age" else None
            return [
                Result(labels, offset - value if offset is not None else value)
                for labels, value in snapshot.by_name.get(rule.metric, ())
                if matches_all(rule.matchers, labels)
            ]
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
        for entry in self._series.get(rule.metric + "_bucket", {}).values():
            if not matches_all(rule.matchers, entry.labels):
                continue
            covered = _increase(entry.points, now - rule.window)
            if covered is None:
                continue
            bound = float(entry.labels.get("le", "+Inf"))
            by_bound[bound] = by_bound.get(bound, 0.0) + covered[0]
        value = bucket_quantile(rule.q or 0.0, list(by_bound.items()))
        return [] if value is None else [Result({}, value)]
