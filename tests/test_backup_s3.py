"""Backups to S3, against moto's S3 server (a subprocess on a local port),
reached through a small proxy that can play an S3 outage."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from actors.backup.config import BackupConfig
from actors.backup.manifest import dump_name, manifest_name
from actors.backup.recovery import choose
from protocols.backup_store import DestinationError
from protocols.backup_store.s3 import S3Destination
from storage import backups as store
from storage.database import Database
from tests.backup_support import backup_once, seed
from tests.support.net import free_port

BUCKET = "rateline-backups"
PART = 16 << 10


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "S3_UPLOAD_PART_MIN_SIZE": str(PART)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)


@dataclass
class Outage:
    """After `pass_first` part uploads, answers them with 503 while `failing`
    is above zero (-1: for good)."""

    failing: int = 0
    pass_first: int = 0
    refused: int = 0
    passed: list[str] = field(default_factory=list)


@pytest.fixture
async def s3(moto_url: str, aiohttp_server) -> AsyncIterator[tuple[str, Outage]]:
    """A fresh bucket, and the URL of a proxy to moto that can fail part uploads."""
    outage = Outage()
    session = aiohttp.ClientSession(auto_decompress=False)

    async def forward(request: web.Request) -> web.StreamResponse:
        part = request.method == "PUT" and "partNumber" in request.query
        if part and outage.pass_first:
            outage.pass_first -= 1
        elif part and outage.failing:
            outage.failing -= 1 if outage.failing > 0 else 0
            outage.refused += 1
            body = "<Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>"
            return web.Response(status=503, text=body, content_type="application/xml")
        outage.passed.append(f"{request.method} {request.rel_url}")
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with session.request(
            request.method,
            moto_url + str(request.rel_url),
            headers=headers,
            data=await request.read(),
        ) as answer:
            drop = {"content-length", "transfer-encoding", "content-encoding", "connection"}
            return web.Response(
                status=answer.status,
                body=await answer.read(),
                headers={k: v for k, v in answer.headers.items() if k.lower() not in drop},
            )

    app = web.Application(client_max_size=1 << 30)
    app.router.add_route("*", "/{tail:.*}", forward)
    server = await aiohttp_server(app)
    direct = S3Destination(f"s3://{BUCKET}", endpoint_url=moto_url)
    with contextlib.suppress(DestinationError):  # made by an earlier test
        await direct.call("create bucket", "create_bucket")
    await direct.close()
    try:
        yield f"http://127.0.0.1:{server.port}", outage
    finally:
        await session.close()


def destination(endpoint: str, prefix: str) -> S3Destination:
    return S3Destination(
        f"s3://{BUCKET}/{prefix}",
        endpoint_url=endpoint,
        part_size=PART,
        attempts=3,
        retry_base=0.05,
    )


async def test_a_backup_to_s3_is_uploaded_in_parts_and_verified(
    db: Database, s3: tuple[str, Outage], tmp_path: Path
) -> None:
    endpoint, outage = s3
    await seed(db.pool, 4000)
    target = destination(endpoint, "good")
    try:
        outcome = await backup_once(db, BackupConfig(folder=tmp_path), target)
        assert (outcome.status, outcome.detail) == ("verified", "")
        assert await target.names() == [dump_name(outcome.id), manifest_name(outcome.id)]
        parts = [p for p in outage.passed if "partNumber=" in p]
        assert len(parts) >= 2
        assert (await choose(target, None)).id == outcome.id
        assert await target.pending_uploads() == []
    finally:
        await target.close()


async def test_s3_down_for_a_moment_is_retried_with_backoff(
    db: Database, s3: tuple[str, Outage], tmp_path: Path
) -> None:
    endpoint, outage = s3
    await seed(db.pool, 1000)
    outage.failing = 2
    target = destination(endpoint, "flaky")
    retries: list[float] = []
    target.on_retry = lambda: retries.append(time.monotonic())
    try:
        outcome = await backup_once(db, BackupConfig(folder=tmp_path), target)
    finally:
        await target.close()
    assert outcome.status == "verified"
    assert outage.refused == 2
    assert len(retries) == 2
    assert retries[1] - retries[0] >= 0.05  # waited before the second retry, doubling


async def test_s3_down_mid_upload_leaves_no_good_backup_and_no_pending_upload(
    db: Database, s3: tuple[str, Outage], tmp_path: Path
) -> None:
    endpoint, outage = s3
    await seed(db.pool, 4000)
    failures = REGISTRY.get_sample_value("rateline_backup_failures_total", {"stage": "upload"})
    outage.pass_first, outage.failing = 1, -1
    target = destination(endpoint, "down")
    try:
        outcome = await backup_once(db, BackupConfig(folder=tmp_path), target)
        assert (outcome.status, outcome.stage) == ("failed", "upload")
        assert "failed 3 times" in outcome.detail and "ServiceUnavailable" in outcome.detail
        assert outage.refused == 3
        assert sum("partNumber=1" in p for p in outage.passed) == 1  # down mid-upload
        assert await target.names() == []  # nothing that looks like a dump
        assert await target.pending_uploads() == []  # the multipart upload was aborted
    finally:
        await target.close()
    row = await store.get(db.pool, outcome.id)
    assert row is not None and row.status == "failed" and row.stage == "upload"
    assert await store.last_good(db.pool) is None
    after = REGISTRY.get_sample_value("rateline_backup_failures_total", {"stage": "upload"})
    assert after == (failures or 0) + 1


async def test_uploads_a_crashed_run_left_behind_are_swept(s3: tuple[str, Outage]) -> None:
    endpoint, _ = s3
    target = destination(endpoint, "crashed")
    try:
        await target.start_upload("20261201T030000Z-abcdef.dump")  # never completed
        assert len(await target.pending_uploads()) == 1
        # (moto dates every upload 2010, so the age limit itself is not tried here)
        assert await target.abort_stale_uploads(older_than=timedelta(0)) == 1
        assert await target.pending_uploads() == []
    finally:
        await target.close()
