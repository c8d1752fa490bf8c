"""Checkpoints of the audit log's head, kept outside its table.

A row deleted from the end of a hash chain leaves a shorter chain that is
still intact; only a record of how long it was shows the loss. Each
checkpoint (position, hash, time) is one JSON line in a file beside the
backups, in the backup destination (a folder or S3), and is also logged, so
deleting the tail means reaching the database, the backups and the logs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import orjson

from actors.audit.verify import Checkpoint
from protocols.backup_store import Destination

log = logging.getLogger("rateline.audit")

FILE_NAME = "audit-checkpoints.jsonl"


def checkpoint_due(
    now: datetime,
    last: datetime | None,
    every: timedelta,
    last_good_backup: datetime | None,
) -> bool:
    """Every `every`, and after each good backup."""
    if last is None or now - last >= every:
        return True
    return last_good_backup is not None and last_good_backup > last


class CheckpointStore:
    def __init__(self, open_destination: Callable[[], Destination]) -> None:
        self.open_destination = open_destination

    async def append(self, checkpoint: Checkpoint, *, restored: str | None = None) -> None:
        """`restored` names the backup the database was just restored from: the
        log legitimately went back to that backup's state, so the checkpoints
        before this one no longer describe it."""
        line: dict[str, object] = {
            "seq": checkpoint.seq,
            "hash": checkpoint.hash.hex(),
            "at": checkpoint.at.isoformat(),
        }
        if restored is not None:
            line["restored"] = restored
        destination = self.open_destination()
        try:
            kept = await self._text(destination)
            await destination.put(FILE_NAME, kept + orjson.dumps(line) + b"\n")
        finally:
            await destination.close()
        log.info("audit checkpoint", extra={"audit_checkpoint": line})

    async def read(self) -> list[Checkpoint]:
        destination = self.open_destination()
        try:
            text = await self._text(destination)
        finally:
            await destination.close()
        checkpoints: list[Checkpoint] = []
        for line in text.splitlines():
            if line.strip():
                item = orjson.loads(line)
                if "restored" in item:
                    checkpoints.clear()
                checkpoints.append(
                    Checkpoint(
                        item["seq"], bytes.fromhex(item["hash"]), datetime.fromisoformat(item["at"])
                    )
                )
        return checkpoints

    @staticmethod
    async def _text(destination: Destination) -> bytes:
        if FILE_NAME not in await destination.names():
            return b""
        return await destination.get(FILE_NAME)
