"""`rateline serve` on its embedded PostgreSQL, with the faults an operator
meets: the cluster killed under a running server, and the server killed with
SIGKILL while requests write. Real processes, real PostgreSQL, real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tests.support.cli import CALCULATE, PURCHASE, UNLIMITED, rateline
from tests.support.net import free_port


class Served:
    """A `rateline serve` process on a data folder, and what it logged."""

    def __init__(self, data: Path, env: dict[str, str]) -> None:
        self.data = data
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data.parent / f"serve-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            rateline("serve", "--port", str(self.port), "--data-dir", str(data)),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    def logs(self) -> list[dict[str, Any]]:
        lines = self.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def messages(self) -> list[str]:
        return [entry["message"] for entry in self.logs()]

    async def ready(self, http: aiohttp.ClientSession, limit: float = 60.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            try:
                async with http.get(self.base + "/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.base} was not ready within {limit} s")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._log.close()
        return code

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self._log.close()


@contextmanager
def serving(data: Path, **extra: str) -> Iterator[Served]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"RATELINE_SIM_INTERVAL": "0.2", **UNLIMITED, **extra})
    served = Served(data, env)
    try:
        yield served
    finally:
        if served.process.poll() is None:
            served.kill()


@pytest.fixture
def data(data_dir: Path) -> Iterator[Path]:
    """A data folder whose embedded PostgreSQL cannot outlive the test, pass or fail."""
    folder = data_dir / "data"
    yield folder
    with contextlib.suppress(OSError, ValueError):
        os.kill(postmaster_pid(folder), signal.SIGKILL)


@asynccontextmanager
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        yield http


def postmaster_pid(data: Path) -> int:
    return int((data / "postgres" / "postmaster.pid").read_text().split("\n", 1)[0])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z")


async def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def next_update(ws: aiohttp.ClientWebSocketResponse, within: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "no rate update arrived"
        message = await ws.receive(timeout=remaining)
        assert message.type == aiohttp.WSMsgType.TEXT, f"the WebSocket ended: {message}"
        frame: dict[str, Any] = orjson.loads(message.data)
        if frame["op"] == "update":
            return frame


async def test_a_killed_embedded_postgres_is_restarted_and_everything_recovers(
    data: Path,
) -> None:
    with serving(
        data, RATELINE_MAILER_POLL_SECONDS="0.3", RATELINE_DB_WATCHDOG_SECONDS="3"
    ) as server:
        async with client() as http:
            await server.ready(http)
            ws = await http.ws_connect(server.base.replace("http", "ws") + "/ws")
            await ws.send_str('{"op":"subscribe","channel":"rates"}')
            before = await next_update(ws)
            first_postmaster = postmaster_pid(data)

            os.kill(first_postmaster, signal.SIGKILL)
            assert await gone(first_postmaster)

            # While it is away: a 503 problem that says so, and readiness says so.
            deadline = time.monotonic() + 10
            while True:
                async with http.post(server.base + CALCULATE, json=PURCHASE) as response:
                    if response.status == 503:
                        problem = await response.json(content_type=None)
                        assert response.content_type == "application/problem+json"
                        assert response.headers["Retry-After"].isdigit()
                        break
                    assert response.status == 200, await response.text()
                assert time.monotonic() < deadline, "no 503 while the database was away"
                await asyncio.sleep(0.02)
            assert problem["status"] == 503
            assert "database unavailable" in problem["detail"]
            async with http.get(server.base + "/readyz") as response:
                assert response.status == 503
                report = await response.json()
            database = next(p for p in report["parts"] if p["part"] == "database")
            assert not database["ok"] and "database unavailable" in database["detail"]
            # The rate book still answers, over HTTP and to a new subscriber.
            async with http.get(server.base + "/api/rates") as response:
                assert response.status == 200
                assert len((await response.json())["rates"]) >= 1
            async with http.ws_connect(server.base.replace("http", "ws") + "/ws") as newcomer:
                await newcomer.send_str('{"op":"subscribe","channel":"rates"}')
                frames = [orjson.loads((await newcomer.receive(timeout=5)).data) for _ in "ab"]
                assert [f["op"] for f in frames] == ["subscribed", "snapshot"], frames

            # It comes back by itself: new cluster, requests answered, live rates
            # on the WebSocket that stayed open all along.
            deadline = time.monotonic() + 30
            while True:
                async with http.post(server.base + CALCULATE, json=PURCHASE) as response:
                    if response.status == 200:
                        break
                    assert response.status == 503, await response.text()
                assert time.monotonic() < deadline, "the server did not recover"
                await asyncio.sleep(0.1)
            await server.ready(http, limit=15)
            restarted = postmaster_pid(data)
            assert restarted != first_postmaster
            after = await next_update(ws)
            assert not ws.closed
            assert (after["offset"], after["channel"]) != (before["offset"], before["channel"])
            await ws.close()

        assert server.process.poll() is None, "the server exited"
        assert server.stop() == 0
    messages = server.messages()
    assert "embedded PostgreSQL is down" in messages
    assert "embedded PostgreSQL restarted" in messages
    assert "outbox unreachable; mail waits for the database" in messages
    assert not [m for m in messages if "crashed" in m or "gave up" in m]
    assert await gone(restarted), "the restarted cluster outlived the server"


async def test_after_a_kill_9_the_next_server_takes_the_cluster_over_and_keeps_every_write(
    data: Path,
) -> None:
    acknowledged: list[str] = []
    enough = asyncio.Event()
    with serving(data) as first:
        async with client() as http:
            await first.ready(http)

            async def write() -> None:
                while True:
                    try:
                        async with http.post(first.base + CALCULATE, json=PURCHASE) as response:
                            if response.status == 200:
                                acknowledged.append(response.headers["Content-Location"])
                                if len(acknowledged) >= 20:
                                    enough.set()
                    except (aiohttp.ClientError, TimeoutError):
                        return

            writers = [asyncio.create_task(write()) for _ in range(4)]
            await asyncio.wait_for(enough.wait(), 30)
            first.kill()
            await asyncio.gather(*writers)

    orphan = postmaster_pid(data)
    assert alive(orphan), "the embedded PostgreSQL died with the server"
    with serving(data) as second:
        async with client() as http:
            await second.ready(http)
            assert postmaster_pid(data) == orphan
            for location in acknowledged:
                async with http.get(second.base + location) as response:
                    assert response.status == 200, (location, await response.text())
        assert second.stop() == 0
    messages = second.messages()
    assert "taking over the embedded PostgreSQL a previous server left running" in messages
    assert "embedded PostgreSQL stopped" in messages
    assert await gone(orphan), "a clean stop left the embedded PostgreSQL running"
