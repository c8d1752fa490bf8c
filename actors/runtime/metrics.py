"""Per-actor Prometheus metrics, cheap enough for every message.

Handled-message counts and handling times are plain attributes written only
by the actor's own thread (one writer, so no lock) and turned into metric
families when Prometheus scrapes. Restarts and dead letters are rare and
written from several threads, so they use ordinary locked counters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from collections.abc import Sized

# Upper bounds in seconds; actor handlers run from microseconds (a book lookup)
# to seconds (an outbound call waited on through run_io).
BOUNDS: tuple[float, ...] = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    float("inf"),
)

RESTARTS = Counter(
    "rateline_actor_restarts_total",
    "Times a supervisor restarted the actor.",
    ["actor"],
)
DEAD_LETTERS = Counter(
    "rateline_actor_dead_letters_total",
    "Messages sent to an actor name that is not registered or stopped for good.",
    ["actor"],
)


class ActorStats:
    """Figures of one actor name, kept across its incarnations."""

    __slots__ = ("buckets", "mailbox", "seconds")

    def __init__(self) -> None:
        self.buckets = [0] * len(BOUNDS)
        self.seconds = 0.0
        self.mailbox: Sized | None = None


_stats: dict[str, ActorStats] = {}
_stats_lock = threading.Lock()


def stats_for(name: str) -> ActorStats:
    with _stats_lock:
        stats = _stats.get(name)
        if stats is None:
            stats = _stats[name] = ActorStats()
        return stats


class _ActorCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "rateline_actor_mailbox_depth",
            "Messages waiting in the actor's mailbox.",
            labels=["actor"],
        )
        handled = CounterMetricFamily(
            "rateline_actor_messages", "Messages the actor handled.", labels=["actor"]
        )
        seconds = HistogramMetricFamily(
            "rateline_actor_message_seconds",
            "Time the actor spent handling a message.",
            labels=["actor"],
        )
        with _stats_lock:
            items = list(_stats.items())
        for name, stats in items:
            mailbox = stats.mailbox
            depth.add_metric([name], len(mailbox) if mailbox is not None else 0)
            cumulative: list[tuple[str, float]] = []
            running = 0
            for bound, count in zip(BOUNDS, list(stats.buckets), strict=True):
                running += count
                cumulative.append(("+Inf" if bound == float("inf") else repr(bound), running))
            handled.add_metric([name], running)
            seconds.add_metric([name], cumulative, stats.seconds)
        return iter((depth, handled, seconds))

    def describe(self) -> Iterable[Metric]:
        return (
            GaugeMetricFamily("rateline_actor_mailbox_depth", ""),
            CounterMetricFamily("rateline_actor_messages", ""),
            HistogramMetricFamily("rateline_actor_message_seconds", ""),
        )


REGISTRY.register(_ActorCollector())
