"""Walking the audit chain: pure, fed the rows in order and the checkpoints
written outside the table, it names the first place the log was tampered
with.

- a changed row: its hash no longer follows from the previous hash and its
  own fields;
- a missing row: a gap in the dense `seq`;
- a rewritten chain (rows changed and every later hash recomputed, which
  needs the trigger disabled): a checkpoint's hash differs from the row's;
- a truncated tail: a checkpoint names a position past the last row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.audit_chain import GENESIS, canonical, link


@dataclass(frozen=True)
class Checkpoint:
    """The head of the log as it was seen at a time, kept outside the table."""

    seq: int
    hash: bytes
    at: datetime


@dataclass(frozen=True)
class Verdict:
    count: int
    head: bytes
    broken_at: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None

    def describe(self) -> str:
        if self.intact:
            return f"{self.count} events, chain intact up to {self.head.hex()}"
        return f"chain broken at position {self.broken_at}: {self.reason}"


class ChainVerifier:
    """Feed rows (seq, at, actor, action, target, outcome, ip, request_id,
    details, hash) in seq order, then ask for the verdict."""

    def __init__(self, checkpoints: Sequence[Checkpoint] = ()) -> None:
        self._checkpoints = {cp.seq: cp for cp in checkpoints}
        self._seen: dict[int, bytes] = {}
        self._count = 0
        self._previous = GENESIS
        self._broken: tuple[int, str] | None = None

    def feed(self, rows: Iterable[Sequence[Any]]) -> bool:
        """False once a break is found (later rows change nothing)."""
        if self._broken is not None:
            return False
        previous, count, checkpoints = self._previous, self._count, self._checkpoints
        for row in rows:
            seq = row[0]
            if seq != count + 1:
                self._broken = (count + 1, f"missing row (the next stored row is {seq})")
                break
            stored = row[9]
            body = canonical(*row[:9])
            if link(previous, body) != stored:
                self._broken = (seq, "changed row (its hash does not follow from its fields)")
                break
            if seq in checkpoints:
                self._seen[seq] = stored
            previous, count = stored, seq
        self._previous, self._count = previous, count
        return self._broken is None

    def verdict(self) -> Verdict:
        if self._broken is not None:
            return Verdict(self._count, self._previous, *self._broken)
        for seq in sorted(self._checkpoints):
            checkpoint = self._checkpoints[seq]
            if seq > self._count:
                stamp = checkpoint.at.isoformat(timespec="seconds")
                return Verdict(
                    self._count,
                    self._previous,
                    self._count + 1,
                    f"truncated after checkpoint: {seq} events were recorded at {stamp}, "
                    f"{self._count} remain",
                )
            if self._seen.get(seq) != checkpoint.hash:
                return Verdict(
                    self._count,
                    self._previous,
                    seq,
                    "changed row (the chain was rewritten: the hash differs from checkpoint "
                    f"{checkpoint.at.isoformat(timespec='seconds')})",
                )
        return Verdict(self._count, self._previous)
