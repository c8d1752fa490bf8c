"""FRED (St. Louis Fed) weekly mortgage averages: MORTGAGE30US, MORTGAGE15US.

FRED mirrors Freddie Mac's survey, dated by the survey's Thursday. A value of
"." means "no observation"; it is rejected rather than read as zero. One
series failing does not hide the other: its error is reported beside the
records of the series that answered.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import msgspec

from protocols.rate_sources.base import (
    CONNECTION_ERROR,
    HTTP_ERROR,
    MALFORMED,
    MISSING_VALUE,
    TIMEOUT,
    FetchResult,
    SourceError,
    day_start,
)
from protocols.rate_sources.records import Product, RateRecord, to_decimal

SERIES: dict[str, Product] = {"MORTGAGE30US": "30y_fixed", "MORTGAGE15US": "15y_fixed"}
DEFAULT_BASE_URL = "https://api.stlouisfed.org/fred"
MAX_BODY_BYTES = 4 * 1024 * 1024


class _Observation(msgspec.Struct):
    date: date
    value: str


class _Observations(msgspec.Struct):
    observations: list[_Observation]


async def fetch_fred(
    session: aiohttp.ClientSession,
    *,
    api_key: str,
    base_url: str = DEFAULT_BASE_URL,
    time_limit: float = 10.0,
    lookback_days: int = 400,
    now: datetime | None = None,
) -> FetchResult:
    """Poll every series; a series that fails is reported in `errors`, the
    others still count."""
    now = now or datetime.now(UTC)
    start = (now - timedelta(days=lookback_days)).date()
    out = FetchResult()
    for series_id, product in SERIES.items():
        try:
            observations = await _fetch_series(
                session, base_url, series_id, api_key=api_key, start=start, time_limit=time_limit
            )
        except SourceError as exc:
            out.errors.append(exc)
            continue
        for obs in observations:
            value = obs.value.strip()
            if value in (".", ""):
                out.reject(MISSING_VALUE, f"{series_id} {obs.date} has no value")
                continue
            try:
                rate = to_decimal(value)
            except ValueError:
                out.reject(MALFORMED, f"{series_id} {obs.date} value {value!r}")
                continue
            record = RateRecord(
                product=product, rate=rate, as_of=day_start(obs.date), source="fred"
            )
            out.offer(record, now)
    out.records.sort(key=lambda r: r.as_of)
    return out


async def _fetch_series(
    session: aiohttp.ClientSession,
    base_url: str,
    series_id: str,
    *,
    api_key: str,
    start: date,
    time_limit: float,
) -> list[_Observation]:
    url = base_url.rstrip("/") + "/series/observations"
    params = {
        "series_id": series_id,
        "api_key": api_key,
        "file_type": "json",
        "observation_start": start.isoformat(),
    }
    try:
        async with session.get(
            url, params=params, timeout=aiohttp.ClientTimeout(total=time_limit)
        ) as response:
            body = await response.content.read(MAX_BODY_BYTES + 1)
            if response.status != 200:
                raise SourceError(
                    HTTP_ERROR, f"{series_id}: HTTP {response.status} {_error_message(body)}"
                )
    except TimeoutError:
        raise SourceError(TIMEOUT, f"{series_id}: no answer within {time_limit:g} s") from None
    except aiohttp.ClientError as exc:
        raise SourceError(CONNECTION_ERROR, f"{series_id}: {type(exc).__name__}") from None
    if len(body) > MAX_BODY_BYTES:
        raise SourceError(MALFORMED, f"{series_id}: response larger than {MAX_BODY_BYTES} bytes")
    try:
        return msgspec.json.decode(body, type=_Observations).observations
    except msgspec.DecodeError as exc:
        raise SourceError(MALFORMED, f"{series_id}: {exc}") from None


def _error_message(body: bytes) -> str:
    """FRED explains a 400 in `error_message`; keep it short and never echo the key."""
    try:
        data: Any = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return ""
    if isinstance(data, dict) and isinstance(data.get("error_message"), str):
        return str(data["error_message"])[:200]
    return ""
