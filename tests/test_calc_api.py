"""The pure mortgage endpoints over real HTTP: amortization (JSON and CSV),
APR, affordability and refinance, with problem+json for bad input."""

from __future__ import annotations

import csv
import io

from aiohttp.test_utils import TestClient

ANCHOR = {"principal": "200000", "annual_rate": "6.5", "term_months": 360}


async def test_amortization_anchor_over_http(app_client: TestClient) -> None:
    response = await app_client.post("/api/mortgage/amortization", json=ANCHOR)
    assert response.status == 200
    assert response.content_type == "application/json"
    body = await response.json()
    assert body["payment"] == "1264.14"
    assert body["payoff_months"] == 360
    assert len(body["schedule"]) == 360
    first = body["schedule"][0]
    assert (first["n"], first["rate"], first["interest"], first["principal"], first["balance"]) == (
        1,
        "6.500",
        "1083.33",
        "180.81",
        "199819.19",
    )
    assert body["schedule"][-1]["balance"] == "0.00"


async def test_numbers_are_accepted_as_well_as_strings(app_client: TestClient) -> None:
    response = await app_client.post(
        "/api/mortgage/amortization",
        json={"principal": 200000, "annual_rate": 6.5, "term_months": 360, "extra_monthly": 100},
    )
    assert response.status == 200
    body = await response.json()
    assert body["payment"] == "1264.14"
    assert body["months_saved"] > 0
    assert float(body["interest_saved"]) > 0


async def test_schedule_as_csv(app_client: TestClient) -> None:
    response = await app_client.post(
        "/api/mortgage/amortization",
        json={**ANCHOR, "start_date": "2027-01-01"},
        headers={"Accept": "text/csv"},
    )
    assert response.status == 200
    assert response.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0] == ["n", "date", "rate", "payment", "principal", "interest", "balance"]
    assert rows[1] == ["1", "2027-01-01", "6.500", "1264.14", "180.81", "1083.33", "199819.19"]
    assert rows[-1][0] == "360"
    assert rows[-1][-1] == "0.00"


async def test_bad_amortization_input_is_a_problem_naming_each_field(
    app_client: TestClient,
) -> None:
    response = await app_client.post(
        "/api/mortgage/amortization",
        json={"principal": "-1", "annual_rate": "45", "term_months": 360},
    )
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    pointers = {e["pointer"]: e["detail"] for e in problem["errors"]}
    assert pointers["/principal"] == "must be greater than 0 and at most 100000000"
    assert pointers["/annual_rate"] == "must be at least 0 and at most 30"


async def test_term_outside_range_is_refused(app_client: TestClient) -> None:
    response = await app_client.post(
        "/api/mortgage/amortization", json={**ANCHOR, "term_months": 481}
    )
    assert response.status == 422
    problem = await response.json()
    assert [e["pointer"] for e in problem["errors"]] == ["/term_months"]


async def test_arm_without_caps_is_refused(app_client: TestClient) -> None:
    response = await app_client.post(
        "/api/mortgage/amortization",
        json={
            **ANCHOR,
            "arm": {
                "fixed_months": 60,
                "adjust_every_months": 6,
                "margin": "2.75",
                "index_path": [4],
            },
        },
    )
    assert response.status == 422
    problem = await response.json()
    assert "/arm/caps" in {e["pointer"] for e in problem["errors"]}


async def test_apr_over_http(app_client: TestClient) -> None:
    response = await app_client.post(
        "/api/mortgage/apr",
        json={
            "amount_financed": "5000.00",
            "advance_date": "1978-01-10",
            "payments": [
                {
                    "amount": "230.00",
                    "first_date": "1978-02-10",
                    "count": 24,
                    "frequency": "monthly",
                }
            ],
        },
    )
    assert response.status == 200
    body = await response.json()
    assert body["apr"] == "9.69"
    assert body["apr_exact"].startswith("9.6857")
    assert body["unit_period"] == "month"
    assert body["unit_periods_per_year"] == 12


async def test_affordability_over_http(app_client: TestClient) -> None:
    response = await app_client.post(
        "/api/mortgage/affordability",
        json={
            "annual_income": 120000,
            "monthly_debts": 500,
            "down_payment": 60000,
            "annual_rate": "6.5",
        },
    )
    assert response.status == 200
    body = await response.json()
    assert body["max_price"] == "401478.00"
    assert body["monthly"]["total"] == "2800.00"
    assert body["limited_by"] == "front_dti"


async def test_refinance_over_http(app_client: TestClient) -> None:
    response = await app_client.post(
        "/api/mortgage/refinance",
        json={
            "current_balance": 300000,
            "current_rate": "7.5",
            "remaining_months": 336,
            "new_rate": "6.0",
            "closing_costs": 6000,
        },
    )
    assert response.status == 200
    body = await response.json()
    assert body["new_payment"] == "1798.65"
    assert body["break_even_month"] == 18


async def test_endpoints_are_in_the_api_document(app_client: TestClient) -> None:
    response = await app_client.get("/api/openapi.json")
    assert response.status == 200
    paths = (await response.json())["paths"]
    for path in ("amortization", "apr", "affordability", "refinance"):
        assert "post" in paths[f"/api/mortgage/{path}"]
