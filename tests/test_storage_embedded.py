"""The embedded PostgreSQL: starts from nothing, and refuses to share its folder."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from storage.embedded import DataDirInUse, EmbeddedPostgres


async def test_a_second_owner_of_the_data_folder_is_refused(data_dir: Path) -> None:
    first = EmbeddedPostgres(data_dir)
    url = first.start()
    try:
        conn = await asyncpg.connect(url)
        assert await conn.fetchval("SELECT 1 + 1") == 2
        await conn.close()

        second = EmbeddedPostgres(data_dir)
        with pytest.raises(DataDirInUse, match="is in use by rateline pid"):
            second.start()
    finally:
        first.stop()

    again = EmbeddedPostgres(data_dir)
    url = again.start()
    try:
        conn = await asyncpg.connect(url)
        assert await conn.fetchval("SELECT 40 + 2") == 42
        await conn.close()
    finally:
        again.stop()
