"""The manifest beside every dump, and comparing it with what a restore gave.

Pure: no I/O. The manifest says what the dump holds (each table's row count
and content hash, taken in the dump's own snapshot), so a restore can be
checked against it table by table.
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class Table(msgspec.Struct, frozen=True):
    rows: int
    hash: str


class Verification(msgspec.Struct, frozen=True):
    status: str  # "verified" or "failed"
    at: datetime
    detail: str = ""


class Manifest(msgspec.Struct, frozen=True):
    id: str
    started_at: datetime
    finished_at: datetime
    postgres_version: str
    migrations: list[str]
    size: int
    sha256: str
    dump: str  # the dump's object name, beside this manifest
    tables: dict[str, Table]
    data_left_out: list[str] = []
    verification: Verification | None = None

    @property
    def good(self) -> bool:
        return self.verification is not None and self.verification.status == "verified"

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables.values())


MANIFEST_SUFFIX = ".manifest.json"


def manifest_name(backup_id: str) -> str:
    return f"{backup_id}{MANIFEST_SUFFIX}"


def dump_name(backup_id: str) -> str:
    return f"{backup_id}.dump"


def encode(manifest: Manifest) -> bytes:
    return msgspec.json.format(msgspec.json.encode(manifest), indent=2)


def decode(data: bytes) -> Manifest:
    return msgspec.json.decode(data, type=Manifest)


def first_difference(
    expected: dict[str, Table], actual: dict[str, Table], *, extra_allowed: bool = False
) -> str | None:
    """The first way `actual` differs from the manifest's tables, or None.

    `extra_allowed`: tables the manifest does not name are not a difference
    (a restore over a database that already had other tables)."""
    for name in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(name), actual.get(name)
        if want is None:
            if extra_allowed:
                continue
            return f"table {name} is not in the manifest"
        if got is None:
            return f"table {name} is missing"
        if want.rows != got.rows:
            return f"table {name}: {got.rows} rows, the manifest says {want.rows}"
        if want.hash != got.hash:
            return f"table {name}: content differs from the manifest ({want.rows} rows)"
    return None
