"""The streams of a backup: pg_dump to a destination, and a destination's
dump into pg_restore, each through a SHA-256 and a byte count.

Nothing here holds a dump whole: pg_dump's output is read a chunk at a time
and each chunk goes on to the destination before the next is read, so memory
stays flat whatever the database's size. The table figures are computed in
the very snapshot pg_dump reads, while it reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from actors.backup.manifest import Manifest, Table, dump_name, first_difference
from protocols.backup_store import CHUNK, Destination, DestinationError, Upload
from storage import backups as store
from storage.pg_tools import PgTools, ToolsError, find_tools, libpq_target, scratch_cluster

RESTORE_OPTIONS = "-c maintenance_work_mem=256MB"
LOCK_WAIT = "2min"  # a table locked exclusively that long fails the dump, not hangs it


class StageFailed(Exception):
    """A backup, verification or restore failed at `stage`; the message says how."""

    def __init__(self, stage: str, detail: str) -> None:
        super().__init__(detail)
        self.stage = stage
        self.detail = detail


@dataclass(frozen=True)
class Streamed:
    size: int
    sha256: str


def _tail(text: bytes, limit: int = 600) -> str:
    lines = text.decode(errors="replace").strip().splitlines()
    return " | ".join(lines)[-limit:] or "no message"


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **extra}


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


async def dump(
    conn: asyncpg.Connection,
    dsn: str,
    destination: Destination,
    backup_id: str,
    *,
    pg_bin: Path | None = None,
) -> Manifest:
    """pg_dump the database into `destination` and describe what it holds."""
    started = datetime.now(UTC)
    try:
        tools = await find_tools(conn.get_server_version().major, pg_bin)
    except ToolsError as exc:
        raise StageFailed("dump", str(exc)) from None
    name = dump_name(backup_id)
    async with store.exported_snapshot(conn) as snapshot:
        migrations = await store.applied_migrations(conn)
        try:
            upload = await destination.start_upload(name)
        except DestinationError as exc:
            raise StageFailed("upload", str(exc)) from None
        target, env = libpq_target(dsn)
        proc = await asyncio.create_subprocess_exec(
            tools.program("pg_dump"),
            "--format=custom",
            f"--snapshot={snapshot.id}",
            f"--exclude-table-data={snapshot.catalog}",
            f"--lock-wait-timeout={LOCK_WAIT}",
            "--no-password",
            f"--dbname={target}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_env(env),
        )
        assert proc.stdout is not None and proc.stderr is not None
        errors = asyncio.ensure_future(proc.stderr.read())
        figures = asyncio.ensure_future(store.table_figures(conn, skip=[snapshot.catalog]))
        try:
            streamed = await _pump(proc.stdout, upload)
            if await proc.wait() != 0:
                raise StageFailed("dump", f"pg_dump failed: {_tail(await errors)}")
            tables = await figures
            try:
                await upload.complete()
            except DestinationError as exc:
                raise StageFailed("upload", str(exc)) from None
        except BaseException:
            await _stop(proc)
            figures.cancel()
            with contextlib.suppress(BaseException):
                await figures
            await upload.abort()
            raise
        finally:
            errors.cancel()
    return Manifest(
        id=backup_id,
        started_at=started,
        finished_at=datetime.now(UTC),
        postgres_version=snapshot.server_version,
        migrations=migrations,
        size=streamed.size,
        sha256=streamed.sha256,
        dump=name,
        tables={n: Table(f.rows, f.hash) for n, f in tables.items()},
        data_left_out=[snapshot.catalog],
    )


async def _pump(source: asyncio.StreamReader, upload: Upload) -> Streamed:
    digest, size = hashlib.sha256(), 0
    write = upload.write
    while chunk := await source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        try:
            await write(chunk)
        except DestinationError as exc:
            raise StageFailed("upload", str(exc)) from None
    return Streamed(size, digest.hexdigest())


async def restore(
    destination: Destination,
    manifest: Manifest,
    dsn: str,
    tools: PgTools,
    *,
    clean: bool = False,
) -> Streamed:
    """Stream the dump from `destination` into pg_restore on `dsn`.

    The bytes read are hashed on the way; raises StageFailed("restore") when
    pg_restore fails (the returned figures still tell what was read)."""
    target, env = libpq_target(dsn)
    env["PGOPTIONS"] = RESTORE_OPTIONS
    options = ["--clean", "--if-exists"] if clean else []
    proc = await asyncio.create_subprocess_exec(
        tools.program("pg_restore"),
        "--no-owner",
        "--no-acl",
        "--exit-on-error",
        "--no-password",
        *options,
        f"--dbname={target}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=_env(env),
    )
    assert proc.stdin is not None and proc.stderr is not None
    errors = asyncio.ensure_future(proc.stderr.read())
    digest, size, feeding = hashlib.sha256(), 0, True
    try:
        async for chunk in destination.read(manifest.dump):
            digest.update(chunk)
            size += len(chunk)
            if feeding:
                try:
                    proc.stdin.write(chunk)
                    await proc.stdin.drain()
                except (BrokenPipeError, ConnectionResetError):
                    feeding = False  # pg_restore stopped; keep hashing what is stored
        proc.stdin.close()
        code = await proc.wait()
    except DestinationError as exc:
        await _stop(proc)
        raise StageFailed("verify", f"cannot read the stored dump: {exc}") from None
    except BaseException:
        await _stop(proc)
        raise
    streamed = Streamed(size, digest.hexdigest())
    if streamed.sha256 != manifest.sha256:
        raise StageFailed(
            "verify",
            f"the stored dump ({size} bytes) has SHA-256 {streamed.sha256},"
            f" the manifest says {manifest.sha256}",
        )
    if code != 0:
        raise StageFailed("restore", f"pg_restore failed: {_tail(await errors)}")
    return streamed


async def compare(dsn: str, manifest: Manifest, *, extra_allowed: bool = False) -> str | None:
    """Read every table's figures on `dsn`; the first difference from the manifest."""
    conn = await asyncpg.connect(dsn)
    try:
        actual = await store.pinned_figures(conn, skip=manifest.data_left_out)
    finally:
        await conn.close()
    tables = {n: Table(f.rows, f.hash) for n, f in actual.items()}
    return first_difference(manifest.tables, tables, extra_allowed=extra_allowed)


async def verify(
    destination: Destination, manifest: Manifest, *, pg_bin: Path | None = None
) -> None:
    """Restore the stored dump into a scratch cluster and compare it with its
    manifest; raises StageFailed("verify") with the first difference."""
    async with scratch_cluster() as url:
        conn = await asyncpg.connect(url)
        try:
            major = conn.get_server_version().major
        finally:
            await conn.close()
        tools = await find_tools(major, pg_bin)
        try:
            await restore(destination, manifest, url, tools)
        except StageFailed as exc:
            raise StageFailed("verify", exc.detail) from None
        difference = await compare(url, manifest)
    if difference is not None:
        raise StageFailed("verify", difference)
