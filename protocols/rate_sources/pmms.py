"""Freddie Mac's Primary Mortgage Market Survey, from its history CSV.

The file holds every week since 1971 (dates M/D/YYYY, newest last); only the
rows inside the look-back window are read, so a poll costs the same every
week. Blank cells (sometimes a single space) mean "not surveyed". The 5/1 ARM
column is not mapped: that survey ended in 2022 and is not the 5/6 ARM this
platform quotes.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import aiohttp

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

DEFAULT_URL = "https://www.freddiemac.com/pmms/docs/PMMS_history.csv"
MAX_BODY_BYTES = 16 * 1024 * 1024
# column of the rate -> (product, column of its fees and points)
COLUMNS: dict[str, tuple[Product, str]] = {
    "pmms30": ("30y_fixed", "pmms30p"),
    "pmms15": ("15y_fixed", "pmms15p"),
}


async def fetch_pmms(
    session: aiohttp.ClientSession,
    *,
    url: str = DEFAULT_URL,
    time_limit: float = 10.0,
    lookback_days: int = 400,
    now: datetime | None = None,
) -> FetchResult:
    now = now or datetime.now(UTC)
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=time_limit)) as response:
            if response.status != 200:
                raise SourceError(HTTP_ERROR, f"HTTP {response.status}")
            body = await response.content.read(MAX_BODY_BYTES + 1)
    except TimeoutError:
        raise SourceError(TIMEOUT, f"no answer within {time_limit:g} s") from None
    except aiohttp.ClientError as exc:
        raise SourceError(CONNECTION_ERROR, type(exc).__name__) from None
    if len(body) > MAX_BODY_BYTES:
        raise SourceError(MALFORMED, f"response larger than {MAX_BODY_BYTES} bytes")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError(MALFORMED, "the body is not UTF-8 text") from None
    return parse_pmms(text, since=(now - timedelta(days=lookback_days)).date(), now=now)


def parse_pmms(text: str, *, since: date, now: datetime) -> FetchResult:
    """Records from the CSV rows dated on or after `since`; raises if the file
    is not the PMMS history at all."""
    reader = csv.reader(io.StringIO(text))
    header = [name.strip().lower() for name in next(reader, [])]
    if "date" not in header or not any(column in header for column in COLUMNS):
        raise SourceError(MALFORMED, "the CSV has no date and pmms30/pmms15 columns")
    index = {name: i for i, name in enumerate(header)}
    out = FetchResult()
    rows = 0
    for line, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        rows += 1
        try:
            day = _parse_date(row[index["date"]])
        except (ValueError, IndexError):
            out.reject(MALFORMED, f"line {line}: date {row[0]!r}")
            continue
        if day < since:
            continue
        for column, (product, points_column) in COLUMNS.items():
            if column not in index:
                continue
            raw = _cell(row, index[column])
            if not raw:
                out.reject(MISSING_VALUE, f"line {line}: {column} is blank")
                continue
            try:
                rate = to_decimal(raw)
                points_raw = _cell(row, index.get(points_column, -1))
                points = to_decimal(points_raw) if points_raw else None
            except ValueError:
                out.reject(MALFORMED, f"line {line}: {column} {raw!r}")
                continue
            record = RateRecord(
                product=product, rate=rate, points=points, as_of=day_start(day), source="pmms"
            )
            out.offer(record, now)
    if rows == 0:
        raise SourceError(MALFORMED, "the CSV has no rows")
    out.records.sort(key=lambda r: r.as_of)
    return out


def _cell(row: list[str], i: int) -> str:
    return row[i].strip() if 0 <= i < len(row) else ""


def _parse_date(raw: str) -> date:
    month, day, year = (int(part) for part in raw.strip().split("/"))
    return date(year, month, day)
