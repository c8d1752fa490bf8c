"""Checkpoints of the audit log's head, kept outside its table.

A row deleted from the end of a hash chain leaves a shorter chain that is
still intact; only a record of how long it was shows the loss. Each
checkpoint (position, hash, time) is one JSON line in a file beside the
backups, and is also logged, so deleting the tail means reaching both.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

import orjson

from actors.audit.verify import Checkpoint

log = logging.getLogger("rateline.audit")

FILE_NAME = "audit-checkpoints.jsonl"


class CheckpointFile:
    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE_NAME

    def append(self, checkpoint: Checkpoint) -> None:
        line = {
            "seq": checkpoint.seq,
            "hash": checkpoint.hash.hex(),
            "at": checkpoint.at.isoformat(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as handle:
            handle.write(orjson.dumps(line) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        log.info("audit checkpoint", extra={"audit_checkpoint": line})

    def read(self) -> list[Checkpoint]:
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        checkpoints = []
        for line in lines:
            if line.strip():
                item = orjson.loads(line)
                checkpoints.append(
                    Checkpoint(
                        item["seq"], bytes.fromhex(item["hash"]), datetime.fromisoformat(item["at"])
                    )
                )
        return checkpoints
