"""A folder as a backup destination.

An object is written under a `.part` name and renamed once flushed to disk,
so a crash mid-write never leaves a complete-looking dump. File writes run in
a worker thread: a slow disk must not stall the event loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from protocols.backup_store import CHUNK, DestinationError

PART = ".part"


class FolderUpload:
    def __init__(self, final: Path, handle: BinaryIO) -> None:
        self.final = final
        self.partial = final.with_name(final.name + PART)
        self.handle = handle

    async def write(self, chunk: bytes) -> None:
        await asyncio.to_thread(self.handle.write, chunk)

    async def complete(self) -> None:
        def finish() -> None:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            self.partial.replace(self.final)

        await asyncio.to_thread(finish)

    async def abort(self) -> None:
        self.handle.close()
        self.partial.unlink(missing_ok=True)


class FolderDestination:
    def __init__(self, folder: Path) -> None:
        self.folder = folder.expanduser().resolve()
        self.description = f"folder:{self.folder}"

    def _path(self, name: str) -> Path:
        if "/" in name or name.startswith("."):
            raise DestinationError(f"not an object name: {name!r}")
        return self.folder / name

    async def start_upload(self, name: str) -> FolderUpload:
        final = self._path(name)
        try:
            await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)
            handle = await asyncio.to_thread(open, final.with_name(final.name + PART), "wb")
        except OSError as exc:
            raise DestinationError(f"cannot write in {self.folder}: {exc.strerror}") from exc
        return FolderUpload(final, handle)

    async def read(self, name: str) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(open, self._path(name), "rb")
        except OSError as exc:
            raise DestinationError(f"cannot read {name}: {exc.strerror}") from exc
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def put(self, name: str, data: bytes) -> None:
        upload = await self.start_upload(name)
        await upload.write(data)
        await upload.complete()

    async def get(self, name: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(name).read_bytes)
        except OSError as exc:
            raise DestinationError(f"cannot read {name}: {exc.strerror}") from exc

    async def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if not p.name.endswith(PART))

    async def delete(self, name: str) -> None:
        path = self._path(name)
        path.unlink(missing_ok=True)
        path.with_name(path.name + PART).unlink(missing_ok=True)

    async def close(self) -> None:
        pass
