"""Hostile bodies are bad input: deeply nested JSON is a 400 problem, and
the agents take the same bounded numbers as the mortgage routes."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient


@pytest.mark.parametrize("depth", [1000, 5000])
@pytest.mark.parametrize("path", ["/api/mortgage/amortization", "/api/agents/lead_qualifier"])
async def test_deeply_nested_json_is_a_400_problem(
    app_client: TestClient, path: str, depth: int
) -> None:
    for body in ("[" * depth, '{"loan_amount": ' + "[" * depth + "]" * depth + "}"):
        response = await app_client.post(
            path, data=body, headers={"Content-Type": "application/json"}
        )
        assert response.status == 400, await response.text()
        assert response.content_type == "application/problem+json"
        assert (await response.json())["title"] == "Malformed JSON"


@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        ("/api/agents/lead_qualifier", {"loan_amount": "1e40"}, "/loan_amount"),
        ("/api/agents/lead_qualifier", {"loan_amount": 1e40}, "/loan_amount"),
        ("/api/agents/lead_qualifier", {"loan_amount": "300000", "rate": "45"}, "/rate"),
        (
            "/api/agents/mortgage_advisor",
            {
                "price": "450000",
                "down_payment": "45000",
                "credit_score": 700,
                "state": "CA",
                "market_rates": {"30y_fixed": "6.5", "15y_fixed": "1e9"},
            },
            "/market_rates/15y_fixed",
        ),
    ],
)
async def test_agent_inputs_have_the_mortgage_routes_bounds(
    app_client: TestClient, path: str, body: dict[str, object], pointer: str
) -> None:
    response = await app_client.post(path, json=body)
    assert response.status == 422, await response.text()
    details = {e["pointer"]: e["detail"] for e in (await response.json())["errors"]}
    assert "at most" in details[pointer]
