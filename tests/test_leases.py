"""The rates lease when the leader falls silent: its network to the database
is cut without either side's socket closing, as when a host or a switch dies.
The database must not go on holding the lock for the silent node."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from actors.runtime.leadership import Leadership
from storage.leases import RATES_LEASE, AdvisoryLease

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Relay:
    """A TCP relay to PostgreSQL that can go silent: once frozen it holds
    every connection open and passes nothing, in either direction."""

    def __init__(self, upstream: Callable[[], Awaitable[Streams]]) -> None:
        self.upstream = upstream
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    def freeze(self) -> None:
        self.flowing.clear()

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await self.upstream()
        self.writers += [writer, up_writer]
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pump(source, sink))
            self.tasks.add(task)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await source.read(65536):
                await self.flowing.wait()
                sink.write(data)
                await sink.drain()


@pytest.fixture
async def relay(pg_url: str) -> AsyncIterator[tuple[Relay, str]]:
    """A relay in front of the test database, and the database URL through it."""
    parts = urlsplit(pg_url)
    query = dict(parse_qsl(parts.query))
    port = parts.port or int(query.pop("port", 5432))
    folder = query.pop("host", "")
    if folder.startswith("/"):  # PostgreSQL on a Unix socket in that folder
        upstream = partial(asyncio.open_unix_connection, f"{folder}/.s.PGSQL.{port}")
    else:
        upstream = partial(asyncio.open_connection, parts.hostname or folder, port)
    relay = Relay(upstream)
    here = f"127.0.0.1:{await relay.start()}"
    userinfo, _, _ = parts.netloc.rpartition("@")
    netloc = f"{userinfo}@{here}" if userinfo else here
    try:
        yield relay, urlunsplit(parts._replace(netloc=netloc, query=urlencode(query)))
    finally:
        await relay.close()


async def test_a_silent_leaders_lock_is_freed_and_another_node_leads(relay, pg_url) -> None:
    proxy, through_relay = relay
    every, timeout = 0.2, 1.0
    silence = 2 * every + timeout
    cut_off = Leadership(
        "rates",
        AdvisoryLease(through_relay, RATES_LEASE, silence=silence, timeout=timeout),
        check_every=every,
    )
    other = Leadership(
        "rates", AdvisoryLease(pg_url, RATES_LEASE, silence=silence), check_every=every
    )
    await cut_off.start()
    await other.start()
    try:
        assert cut_off.leader and not other.leader
        await asyncio.sleep(silence * 2)  # checking in keeps the lead
        assert cut_off.leader and not other.leader

        proxy.freeze()
        began = time.monotonic()
        while not other.leader:
            now = time.monotonic() - began
            assert now < 15, "nobody took over the silent node's lead"
            assert not (cut_off.leader and other.leader), f"two leaders at {now:.2f} s"
            await asyncio.sleep(0.02)
        assert not cut_off.leader
    finally:
        await cut_off.stop()
        await other.stop()
