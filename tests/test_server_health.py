"""Liveness, readiness and metrics as an operator sees them."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


async def test_healthz_and_readyz_answer_when_everything_is_up(app_client: TestClient) -> None:
    assert (await app_client.get("/healthz")).status == 200
    response = await app_client.get("/readyz")
    assert response.status == 200
    report = await response.json()
    assert report["status"] == "ready"
    assert {"database", "actors"} <= {p["part"] for p in report["parts"]}


async def test_metrics_expose_http_pool_and_process_figures(app_client: TestClient) -> None:
    await app_client.get("/healthz")
    text = await (await app_client.get("/metrics")).text()
    assert 'rateline_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "rateline_http_request_duration_seconds_bucket" in text
    assert "rateline_http_requests_in_flight" in text
    assert "rateline_db_pool_size" in text
    assert "process_resident_memory_bytes" in text
