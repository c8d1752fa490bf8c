"""Every error a client can meet comes back as RFC 9457 problem+json."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from actors.runtime import ActorUnavailable
from ops.config import Settings
from protocols.problems import FieldError, Problem
from server import keys
from server.app import create_app
from server.routing import ApiRoutes
from storage.database import Database

PROBLEM = "application/problem+json"


class Order(msgspec.Struct, forbid_unknown_fields=True):
    amount: Decimal
    months: Annotated[int, msgspec.Meta(ge=1, le=480)]
    note: str = ""


class Receipt(msgspec.Struct):
    amount: Decimal
    months: int


probe = ApiRoutes(tag="probe")


@probe.post("/probe/orders", body=Order, response=Receipt, status=201)
async def place_order(request: web.Request, order: Order) -> Receipt:
    """Echo a typed order back."""
    return Receipt(amount=order.amount, months=order.months)


def at_most_a_year_per_dollar(order: Order) -> None:
    if order.amount < 0:
        raise Problem(
            422, "Invalid input", errors=[FieldError(pointer="/amount", detail="must be positive")]
        )


@probe.post("/probe/checked", body=Order, check=at_most_a_year_per_dollar)
async def checked_order(request: web.Request, order: Order) -> dict[str, str]:
    """Accept an order that passed its rules."""
    return {"status": "accepted"}


@probe.get("/probe/crash")
async def crash(request: web.Request) -> None:
    """Fail the way a bug would."""
    raise RuntimeError("secret internal detail")


@probe.get("/probe/busy")
async def busy(request: web.Request) -> None:
    """Ask a worker that is restarting."""
    raise ActorUnavailable("calc.1 is restarting; gave up after 0.2 s")


@pytest.fixture
async def client(db: Database, settings: Settings, aiohttp_client) -> TestClient:
    app = create_app(settings.replace(max_body_bytes=1024))
    probe.install(app)
    app[keys.ENDPOINTS].extend(probe.endpoints)
    return await aiohttp_client(app)


async def problem_of(response) -> dict:
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = await response.json(content_type=None)
    assert body["status"] == response.status
    assert body["instance"] == response.headers["X-Request-Id"]
    assert body["title"] and body["type"]
    return body


async def test_a_valid_body_is_decoded_and_answered(client: TestClient) -> None:
    response = await client.post("/probe/orders", json={"amount": 12.5, "months": 360.0})
    assert response.status == 201
    assert await response.json() == {"amount": "12.5", "months": 360}


async def test_a_quoted_whole_number_is_not_a_whole_number(client: TestClient) -> None:
    response = await client.post("/probe/orders", json={"amount": "12.5", "months": "360"})
    assert response.status == 422, "the document says integer, as JSON Schema means it"
    body = await problem_of(response)
    assert [e["pointer"] for e in body["errors"]] == ["/months"]


async def test_missing_route_is_a_404_problem(client: TestClient) -> None:
    response = await client.get("/no/such/thing")
    assert response.status == 404
    body = await problem_of(response)
    assert "/no/such/thing" in body["detail"]


async def test_wrong_method_is_a_405_problem_with_allow(client: TestClient) -> None:
    response = await client.delete("/probe/orders")
    assert response.status == 405
    assert "POST" in response.headers["Allow"]
    await problem_of(response)


async def test_malformed_json_is_a_400_problem(client: TestClient) -> None:
    response = await client.post(
        "/probe/orders", data=b'{"amount": 1,', headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    body = await problem_of(response)
    assert body["title"] == "Malformed JSON"


async def test_wrong_content_type_is_a_415_problem(client: TestClient) -> None:
    response = await client.post("/probe/orders", data="amount=1")
    assert response.status == 415
    body = await problem_of(response)
    assert "application/json" in body["detail"]


async def test_a_body_over_the_limit_is_a_413_problem(client: TestClient) -> None:
    big = {"amount": 1, "months": 1, "note": "x" * 4096}
    response = await client.post("/probe/orders", json=big)
    assert response.status == 413
    body = await problem_of(response)
    assert "1024" in body["detail"]


async def test_invalid_fields_are_each_named_by_pointer(client: TestClient) -> None:
    response = await client.post(
        "/probe/orders", json={"amount": "lots", "months": 999, "colour": "red"}
    )
    assert response.status == 422
    body = await problem_of(response)
    pointers = {e["pointer"]: e["detail"] for e in body["errors"]}
    assert set(pointers) == {"/amount", "/months", "/colour"}
    assert pointers["/months"] == "must be a whole number from 1 to 480"


async def test_missing_field_is_named(client: TestClient) -> None:
    response = await client.post("/probe/orders", json={"amount": "1"})
    body = await problem_of(response)
    assert body["errors"] == [{"pointer": "/months", "detail": "is required"}]


async def test_a_crash_is_a_generic_500_with_the_request_id(client: TestClient) -> None:
    response = await client.get("/probe/crash", headers={"X-Request-Id": "req-crash-1"})
    assert response.status == 500
    body = await problem_of(response)
    assert body["instance"] == "req-crash-1"
    assert "req-crash-1" in body["detail"]
    assert "secret" not in body["detail"]

    metrics = await (await client.get("/metrics")).text()
    assert 'rateline_errors_total{kind="internal"}' in metrics


async def test_request_id_is_made_when_absent_and_insane_ids_are_replaced(
    client: TestClient,
) -> None:
    made = await client.get("/healthz")
    assert len(made.headers["X-Request-Id"]) == 32
    replaced = await client.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert replaced.headers["X-Request-Id"] != "bad id\twith spaces"


async def test_openapi_describes_the_declared_types(client: TestClient) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    operation = document["paths"]["/probe/orders"]["post"]
    body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    order = document["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert order["properties"]["months"]["maximum"] == 480
    assert set(order["required"]) == {"amount", "months"}
    assert "201" in operation["responses"]
    assert "/healthz" in document["paths"]


async def test_an_unavailable_worker_is_a_503_asking_to_retry(client: TestClient) -> None:
    response = await client.get("/probe/busy")
    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    body = await problem_of(response)
    assert "retry" in body["detail"]
    assert "calc.1" not in body["detail"]


async def test_rules_and_type_errors_are_reported_together(client: TestClient) -> None:
    both = await client.post("/probe/checked", json={"amount": "-5", "months": 999})
    assert both.status == 422
    pointers = {e["pointer"] for e in (await problem_of(both))["errors"]}
    assert pointers == {"/amount", "/months"}

    rule_only = await client.post("/probe/checked", json={"amount": "-5", "months": 12})
    assert [e["pointer"] for e in (await problem_of(rule_only))["errors"]] == ["/amount"]

    fine = await client.post("/probe/checked", json={"amount": "5", "months": 12})
    assert await fine.json() == {"status": "accepted"}
