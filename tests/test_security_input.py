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
