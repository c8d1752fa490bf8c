"""An S3 bucket (or an S3-compatible store) as a backup destination, through aioboto3.

A dump goes up as a multipart upload of `part_size` parts, so no more than
one part is ever held in memory. Each request is retried with doubling
delays while the store is down or overloaded; when a part still cannot be
sent, the upload is aborted, so the bucket never holds a complete-looking
object made of half a dump. Uploads that could not even be aborted (the
store was gone) are swept later by `abort_stale_uploads`.

Credentials come the standard AWS way (environment, shared files, roles).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aioboto3
import aiohttp
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from protocols.backup_store import CHUNK, DestinationError

log = logging.getLogger("rateline.backup.s3")

PART_SIZE = 8 << 20  # S3 wants parts of at least 5 MiB, the last one excepted
_TRANSIENT = (BotoCoreError, aiohttp.ClientError, asyncio.TimeoutError, OSError)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        meta = exc.response.get("ResponseMetadata", {})
        code = exc.response.get("Error", {}).get("Code", "")
        return int(meta.get("HTTPStatusCode", 0)) >= 500 or code in {
            "SlowDown",
            "Throttling",
            "RequestTimeout",
        }
    return isinstance(exc, _TRANSIENT)


def _say(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


class S3Destination:
    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        part_size: int = PART_SIZE,
        attempts: int = 5,
        retry_base: float = 1.0,
        on_retry: Callable[[], None] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.description = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        self.endpoint_url = endpoint_url
        self.part_size = part_size
        self.attempts = attempts
        self.retry_base = retry_base
        self.on_retry = on_retry
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def _s3(self) -> Any:
        if self._client is None:
            config = Config(
                retries={"total_max_attempts": 1, "mode": "standard"},  # we retry, with backoff
                connect_timeout=10,
                read_timeout=60,
            )
            session = aioboto3.Session()
            self._client = await self._stack.enter_async_context(
                session.client("s3", endpoint_url=self.endpoint_url, config=config)
            )
        return self._client

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    async def call(self, what: str, operation: str, **params: Any) -> Any:
        """One S3 request, retried with doubling delays while that may help."""
        client = await self._s3()
        for attempt in range(1, self.attempts + 1):
            try:
                return await getattr(client, operation)(Bucket=self.bucket, **params)
            except Exception as exc:
                if not _retryable(exc):
                    raise DestinationError(f"S3 {what}: {_say(exc)}") from exc
                if attempt == self.attempts:
                    raise DestinationError(
                        f"S3 {what} failed {attempt} times: {_say(exc)}"
                    ) from exc
                delay = self.retry_base * 2 ** (attempt - 1)
                log.warning("S3 %s failed (%s); retrying in %.1f s", what, _say(exc), delay)
                if self.on_retry is not None:
                    self.on_retry()
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def start_upload(self, name: str) -> S3Upload:
        key = self.key(name)
        answer = await self.call(f"start upload of {name}", "create_multipart_upload", Key=key)
        return S3Upload(self, name, key, answer["UploadId"])

    async def read(self, name: str) -> AsyncIterator[bytes]:
        key = self.key(name)
        answer = await self.call(f"read {name}", "get_object", Key=key)
        body = answer["Body"]
        try:
            while chunk := await body.read(CHUNK):
                yield chunk
        except _TRANSIENT as exc:
            raise DestinationError(f"S3 read of {name} broke off: {_say(exc)}") from exc
        finally:
            body.close()

    async def put(self, name: str, data: bytes) -> None:
        key = self.key(name)
        await self.call(f"put {name}", "put_object", Key=key, Body=data)

    async def get(self, name: str) -> bytes:
        chunks = [chunk async for chunk in self.read(name)]
        return b"".join(chunks)

    async def names(self) -> list[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        found: list[str] = []
        token: dict[str, str] = {}
        while True:
            page = await self.call("list", "list_objects_v2", Prefix=start, **token)
            found += [item["Key"][len(start) :] for item in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return sorted(n for n in found if "/" not in n)
            token = {"ContinuationToken": page["NextContinuationToken"]}

    async def delete(self, name: str) -> None:
        key = self.key(name)
        await self.call(f"delete {name}", "delete_object", Key=key)

    async def pending_uploads(self) -> list[tuple[str, str, datetime]]:
        """Multipart uploads begun under the prefix and neither completed nor
        aborted: (key, upload id, when it began)."""
        start = f"{self.prefix}/" if self.prefix else ""
        page = await self.call("list uploads", "list_multipart_uploads", Prefix=start)
        return [(u["Key"], u["UploadId"], u["Initiated"]) for u in page.get("Uploads", [])]

    async def abort_stale_uploads(self, older_than: timedelta = timedelta(hours=24)) -> int:
        """Abort uploads left behind by a run that could not abort its own."""
        cutoff = datetime.now(UTC) - older_than
        stale = [(k, u) for k, u, began in await self.pending_uploads() if began < cutoff]
        for key, upload_id in stale:
            await self.call(
                f"abort upload of {key}", "abort_multipart_upload", Key=key, UploadId=upload_id
            )
        return len(stale)

    async def close(self) -> None:
        self._client = None
        await self._stack.aclose()


class S3Upload:
    def __init__(self, destination: S3Destination, name: str, key: str, upload_id: str) -> None:
        self.destination = destination
        self.name = name
        self.key = key
        self.upload_id = upload_id
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []

    async def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        if len(self._buffer) >= self.destination.part_size:
            await self._send()

    async def _send(self) -> None:
        body, number = bytes(self._buffer), len(self._parts) + 1
        self._buffer.clear()
        d = self.destination
        answer = await d.call(
            f"upload of part {number} of {self.name}",
            "upload_part",
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=body,
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    async def complete(self) -> None:
        if self._buffer or not self._parts:
            await self._send()
        d = self.destination
        await d.call(
            f"completion of {self.name}",
            "complete_multipart_upload",
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    async def abort(self) -> None:
        self._buffer.clear()
        d = self.destination
        try:
            await d.call(
                f"abort of {self.name}",
                "abort_multipart_upload",
                Key=self.key,
                UploadId=self.upload_id,
            )
        except DestinationError as exc:
            log.error("could not abort the upload of %s; a later run sweeps it: %s", self.name, exc)
