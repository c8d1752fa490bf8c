"""FRED and PMMS adapters against a local HTTP server speaking their formats."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web

from protocols.rate_sources.base import SourceError
from protocols.rate_sources.fred import fetch_fred
from protocols.rate_sources.pmms import fetch_pmms

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

Reply = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def outside(aiohttp_server):
    """A stand-in for api.stlouisfed.org and freddiemac.com; tests set `reply`."""
    state: dict[str, Reply] = {}
    seen: list[web.Request] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        return await state["reply"](request)

    app = web.Application()
    app.router.add_get("/fred/series/observations", handle)
    app.router.add_get("/pmms/history.csv", handle)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        yield state, seen, session, str(server.make_url(""))


def fred_body(observations: list[tuple[str, str]]) -> dict:
    return {
        "realtime_start": "2026-11-20",
        "realtime_end": "2026-11-20",
        "units": "lin",
        "file_type": "json",
        "order_by": "observation_date",
        "sort_order": "asc",
        "count": len(observations),
        "observations": [
            {"realtime_start": "2026-11-20", "realtime_end": "2026-11-20", "date": d, "value": v}
            for d, v in observations
        ],
    }


async def test_fred_reads_both_series_and_rejects_missing_values(outside):
    state, seen, session, base = outside

    async def reply(request: web.Request) -> web.Response:
        if request.query["series_id"] == "MORTGAGE30US":
            return web.json_response(
                fred_body([("2026-11-05", "6.17"), ("2026-11-12", "6.24"), ("2026-11-19", ".")])
            )
        return web.json_response(fred_body([("2026-11-12", "5.49")]))

    state["reply"] = reply
    result = await fetch_fred(session, api_key="k3y", base_url=base + "/fred", now=NOW)

    assert [(r.product, r.rate, r.as_of.date().isoformat()) for r in result.records] == [
        ("30y_fixed", Decimal("6.170"), "2026-11-05"),
        ("30y_fixed", Decimal("6.240"), "2026-11-12"),
        ("15y_fixed", Decimal("5.490"), "2026-11-12"),
    ]
    assert all(r.source == "fred" and r.as_of.tzinfo is not None for r in result.records)
    assert [r.reason for r in result.rejected] == ["missing_value"]
    assert result.errors == []
    assert {r.query["series_id"] for r in seen} == {"MORTGAGE30US", "MORTGAGE15US"}
    assert all(r.query["api_key"] == "k3y" and r.query["file_type"] == "json" for r in seen)


async def test_fred_turns_away_impossible_rates_and_future_dates(outside):
    state, _, session, base = outside
    tomorrow = (NOW + timedelta(days=1)).date().isoformat()

    async def reply(request: web.Request) -> web.Response:
        return web.json_response(
            fred_body(
                [
                    ("2026-11-05", "0"),
                    ("2026-11-06", "31.5"),
                    (tomorrow, "6.3"),
                    ("2026-11-12", "abc"),
                ]
            )
        )

    state["reply"] = reply
    result = await fetch_fred(session, api_key="k", base_url=base + "/fred", now=NOW)
    assert result.records == []
    assert sorted(r.reason for r in result.rejected) == sorted(
        ["out_of_range", "out_of_range", "future_date", "malformed"] * 2
    )


async def test_fred_reports_http_errors_with_fred_message(outside):
    state, _, session, base = outside

    async def reply(request: web.Request) -> web.Response:
        return web.json_response(
            {"error_code": 400, "error_message": "Bad Request. The api_key is not registered."},
            status=400,
        )

    state["reply"] = reply
    result = await fetch_fred(session, api_key="nope", base_url=base + "/fred", now=NOW)
    assert result.records == []
    assert [e.reason for e in result.errors] == ["http_error", "http_error"]
    assert "not registered" in result.errors[0].detail


@pytest.mark.parametrize(
    "body",
    [b"<html>maintenance</html>", b'{"observations": [{"date": "2026-11-12"}]}', b'{"x": 1}'],
)
async def test_fred_reports_malformed_bodies(outside, body):
    state, _, session, base = outside

    async def reply(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    state["reply"] = reply
    result = await fetch_fred(session, api_key="k", base_url=base + "/fred", now=NOW)
    assert result.records == []
    assert {e.reason for e in result.errors} == {"malformed"}


async def test_fred_gives_up_on_a_server_that_does_not_answer(outside):
    state, _, session, base = outside

    async def reply(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response(fred_body([]))

    state["reply"] = reply
    result = await fetch_fred(
        session, api_key="k", base_url=base + "/fred", time_limit=0.2, now=NOW
    )
    assert {e.reason for e in result.errors} == {"timeout"}


async def test_fred_reports_a_server_that_is_down():
    async with aiohttp.ClientSession() as session:
        result = await fetch_fred(
            session, api_key="k", base_url="http://127.0.0.1:9/fred", time_limit=2, now=NOW
        )
    assert {e.reason for e in result.errors} == {"connection_error"}


PMMS_CSV = """date,pmms30,pmms30p,pmms15,pmms15p,pmms51,pmms51p,pmms51m,pmms51spread
1/7/1999,6.79,1.0,6.42,1.0, , , ,
10/30/2026,6.17,0.6,5.41,0.5, , , ,
11/6/2026,6.22,0.7, , , , , ,
11/12/2026,6.24,0.6,5.49,0.5, , , ,
"""


async def test_pmms_reads_recent_rows_with_points(outside):
    state, _, session, base = outside

    async def reply(request: web.Request) -> web.Response:
        return web.Response(text=PMMS_CSV, content_type="text/csv")

    state["reply"] = reply
    result = await fetch_pmms(session, url=base + "/pmms/history.csv", now=NOW)
    got = [
        (r.product, str(r.rate), str(r.points), r.as_of.date().isoformat()) for r in result.records
    ]
    assert got == [
        ("30y_fixed", "6.170", "0.600", "2026-10-30"),
        ("15y_fixed", "5.410", "0.500", "2026-10-30"),
        ("30y_fixed", "6.220", "0.700", "2026-11-06"),
        ("30y_fixed", "6.240", "0.600", "2026-11-12"),
        ("15y_fixed", "5.490", "0.500", "2026-11-12"),
    ]
    assert all(r.source == "pmms" for r in result.records)
    # the blank 15-year cell of 11/6 is a missing value, not a zero
    assert [r.reason for r in result.rejected] == ["missing_value"]


async def test_pmms_turns_away_bad_rows_but_keeps_good_ones(outside):
    state, _, session, base = outside
    csv = (
        "date,pmms30,pmms30p,pmms15,pmms15p\n"
        "11/5/2026,66.1,0.6,5.5,0.5\n"
        "13/45/2026,6.1,0.6,5.5,0.5\n"
        "11/12/2026,6.24,0.6,n/a,0.5\n"
        "11/30/2026,6.3,0.6,5.5,0.5\n"
    )

    async def reply(request: web.Request) -> web.Response:
        return web.Response(text=csv, content_type="text/csv")

    state["reply"] = reply
    result = await fetch_pmms(session, url=base + "/pmms/history.csv", now=NOW)
    assert [(r.product, str(r.rate)) for r in result.records] == [
        ("15y_fixed", "5.500"),
        ("30y_fixed", "6.240"),
    ]
    assert sorted(r.reason for r in result.rejected) == [
        "future_date",
        "future_date",
        "malformed",
        "malformed",
        "out_of_range",
    ]


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (503, "busy", "http_error"),
        (200, "<html><body>Moved</body></html>", "malformed"),
        (200, "date,pmms30\n", "malformed"),
    ],
)
async def test_pmms_raises_when_nothing_is_usable(outside, status, body, reason):
    state, _, session, base = outside

    async def reply(request: web.Request) -> web.Response:
        return web.Response(text=body, status=status)

    state["reply"] = reply
    with pytest.raises(SourceError) as caught:
        await fetch_pmms(session, url=base + "/pmms/history.csv", now=NOW)
    assert caught.value.reason == reason


async def test_pmms_gives_up_on_a_server_that_does_not_answer(outside):
    state, _, session, base = outside

    async def reply(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text=PMMS_CSV)

    state["reply"] = reply
    with pytest.raises(SourceError) as caught:
        await fetch_pmms(session, url=base + "/pmms/history.csv", time_limit=0.2, now=NOW)
    assert caught.value.reason == "timeout"
