"""Where backups are kept: a folder, or an S3 bucket (or an S3-compatible store).

A destination stores named objects. Large ones are written through an
`Upload` that is either completed (then the object exists whole) or aborted
(then nothing of it is left that looks complete); small ones (manifests) are
put whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

CHUNK = 1 << 20


class DestinationError(Exception):
    """The destination refused or could not be reached; `str()` says what."""


class Upload(Protocol):
    async def write(self, chunk: bytes) -> None: ...

    async def complete(self) -> None: ...

    async def abort(self) -> None: ...


class Destination(Protocol):
    description: str

    async def start_upload(self, name: str) -> Upload: ...

    def read(self, name: str) -> AsyncIterator[bytes]: ...

    async def put(self, name: str, data: bytes) -> None: ...

    async def get(self, name: str) -> bytes: ...

    async def names(self) -> list[str]: ...

    async def delete(self, name: str) -> None: ...

    async def close(self) -> None: ...
