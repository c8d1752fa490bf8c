"""With DATABASE_URL, the database restarted under load: requests meanwhile
get 503 problems, never 500s, and the same running server serves again once
PostgreSQL is back; its pool reconnects by itself."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from aiohttp.test_utils import TestClient

from ops.config import Settings
from server.app import create_app
from storage.embedded import EmbeddedPostgres
from tests.support.cli import CALCULATE, PURCHASE, UNLIMITED, rateline
from tests.support.net import free_port


async def test_the_pool_reconnects_when_the_database_restarts_under_load(
    data_dir: Path, tmp_path: Path, aiohttp_client
) -> None:
    database = EmbeddedPostgres(data_dir)  # stands for an outside PostgreSQL
    url = await asyncio.to_thread(database.start)
    try:
        settings = Settings.from_env(
            UNLIMITED,
            database_url=url,
            data_dir=tmp_path,
            port=0,
            db_pool_min=2,
            db_pool_max=5,
            shutdown_timeout=5.0,
        )
        client: TestClient = await aiohttp_client(create_app(settings))
        statuses: Counter[int] = Counter()
        problems: list[tuple[dict[str, str], dict[str, object]]] = []
        changed = asyncio.Condition()
        stop = asyncio.Event()

        async def load() -> None:
            while not stop.is_set():
                async with client.post(CALCULATE, json=PURCHASE) as response:
                    if response.status == 503:
                        problems.append((dict(response.headers), await response.json()))
                    async with changed:
                        statuses[response.status] += 1
                        changed.notify_all()

        async def until(check: Callable[[], bool]) -> None:
            async with changed:
                await asyncio.wait_for(changed.wait_for(check), 30)

        loaders = [asyncio.create_task(load()) for _ in range(4)]
        await until(lambda: statuses[200] >= 10)

        await asyncio.to_thread(database.stop)
        await until(lambda: statuses[503] >= 5)
        ready = await client.get("/readyz")
        assert ready.status == 503
        parts = {p["part"]: p for p in (await ready.json())["parts"]}
        assert "database unavailable" in parts["database"]["detail"]

        assert await asyncio.to_thread(database.start) == url
        served_before = statuses[200]
        await until(lambda: statuses[200] >= served_before + 10)
        stop.set()
        await asyncio.gather(*loaders)

        assert set(statuses) == {200, 503}, statuses
        for headers, problem in problems:
            assert headers["Content-Type"] == "application/problem+json"
            assert headers["Retry-After"].isdigit()
            assert problem["status"] == 503
            assert "database unavailable" in str(problem["detail"])
        ready = await client.get("/readyz")
        assert ready.status == 200, await ready.text()
        await client.close()
    finally:
        await asyncio.to_thread(database.stop)


def test_serve_says_so_when_the_database_is_unreachable_at_start(tmp_path: Path) -> None:
    env = dict(os.environ, DATABASE_URL=f"postgresql://rateline@127.0.0.1:{free_port()}/rateline")
    started = subprocess.run(
        rateline("serve", "--port", str(free_port()), "--data-dir", str(tmp_path)),
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert started.returncode == 4
    assert b"the database is unavailable" in started.stderr
    assert b"Traceback" not in started.stderr
