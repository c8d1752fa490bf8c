"""HTTP and database metrics, Prometheus names `rateline_*`.

Actor and feature metrics live beside the code that owns them; all of them
register in prometheus_client's default registry, which /metrics serves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from storage.database import PoolStats

HTTP_REQUESTS = Counter(
    "rateline_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "rateline_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HTTP_IN_FLIGHT = Gauge("rateline_http_requests_in_flight", "HTTP requests being handled now.")
ERRORS = Counter(
    "rateline_errors_total",
    "Errors answered with a problem document, by kind (client or server).",
    ["kind"],
)


class PoolCollector(Collector):
    """Reads the pool's figures at scrape time, so the hot path pays nothing."""

    def __init__(self, stats: Callable[[], PoolStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        stats = self._stats()
        for name, doc, value in (
            ("rateline_db_pool_size", "Connections open in the pool.", stats.size),
            ("rateline_db_pool_idle", "Idle connections in the pool.", stats.idle),
            ("rateline_db_pool_max_size", "Largest size the pool may grow to.", stats.max_size),
            ("rateline_db_pool_waiting", "Callers waiting for a connection.", stats.waiting),
        ):
            yield GaugeMetricFamily(name, doc, value=value)


def watch_pool(stats: Callable[[], PoolStats]) -> Callable[[], None]:
    """Register the pool's gauges; returns the function that unregisters them."""
    collector = PoolCollector(stats)
    REGISTRY.register(collector)
    return lambda: REGISTRY.unregister(collector)
