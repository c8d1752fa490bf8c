"""HTTP and database metrics, Prometheus names `rateline_*`.

Actor and feature metrics live beside the code that owns them; all of them
register in prometheus_client's default registry, which /metrics serves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from storage.database import PoolStats

# Scrapers gain nothing from a `_created` twin of every counter; it only doubles the text.
disable_created_metrics()

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
    "Errors answered with a problem document, by kind (client, server, unavailable, internal).",
    ["kind"],
)


class PoolCollector(Collector):
    """Reads the pools' figures at scrape time, so the hot path pays nothing.

    One collector serves every pool in the process (a server has one; a test
    process may run several apps), summing their figures.
    """

    def __init__(self) -> None:
        self._sources: list[Callable[[], PoolStats]] = []

    def add(self, stats: Callable[[], PoolStats]) -> Callable[[], None]:
        self._sources.append(stats)
        return lambda: self._sources.remove(stats)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        figures = [stats() for stats in self._sources]
        for name, doc, field in (
            ("rateline_db_pool_size", "Connections open in the pool.", "size"),
            ("rateline_db_pool_idle", "Idle connections in the pool.", "idle"),
            ("rateline_db_pool_max_size", "Largest size the pool may grow to.", "max_size"),
            ("rateline_db_pool_waiting", "Callers waiting for a connection.", "waiting"),
        ):
            yield GaugeMetricFamily(name, doc, value=sum(getattr(f, field) for f in figures))


_POOLS = PoolCollector()
REGISTRY.register(_POOLS)


def watch_pool(stats: Callable[[], PoolStats]) -> Callable[[], None]:
    """Report a pool's figures; returns the function that stops reporting them."""
    return _POOLS.add(stats)
