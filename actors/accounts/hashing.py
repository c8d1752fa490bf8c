"""Password hashing with argon2id.

Every sign-in verifies exactly one hash, whether or not the account exists:
an unknown address is checked against a dummy hash made with the same
parameters, so the answer takes the same work and reveals nothing. The
`verifications` counter (and its Prometheus twin) lets tests and operators see
that this holds.

The work is CPU-bound for tens of milliseconds and takes `memory_kib` each;
callers on the event loop use the async methods, which run it in a worker
thread, at most `max_concurrent` at a time: a burst of registrations or
sign-ins queues here instead of taking every core and a block of memory
per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from prometheus_client import Counter, Gauge

PASSWORD_VERIFICATIONS = Counter(
    "rateline_password_verifications_total",
    "Password hashes verified, including the dummy checks for unknown accounts.",
)

PASSWORD_HASHING = Gauge(
    "rateline_password_hashing_in_progress",
    "Password hashes being computed or verified right now.",
)


@dataclass(frozen=True)
class Argon2Params:
    """OWASP's argon2id baseline by default; tests pass cheap values."""

    time_cost: int = 3
    memory_kib: int = 65_536
    parallelism: int = 4


class PasswordHasher:
    def __init__(self, params: Argon2Params | None = None, *, max_concurrent: int = 2) -> None:
        self.params = params or Argon2Params()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._busy = 0
        self.peak_concurrency = 0
        self._hasher = argon2.PasswordHasher(
            time_cost=self.params.time_cost,
            memory_cost=self.params.memory_kib,
            parallelism=self.params.parallelism,
            type=argon2.Type.ID,
        )
        self._dummy = self._hasher.hash(secrets.token_urlsafe(32))
        self._lock = threading.Lock()
        self._verifications = 0

    @property
    def verifications(self) -> int:
        with self._lock:
            return self._verifications

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`; `None` (no account, or an
        account without a password) burns the same work and is False."""
        with self._lock:
            self._verifications += 1
        PASSWORD_VERIFICATIONS.inc()
        try:
            if stored is None:
                self._hasher.verify(self._dummy, password)
                return False
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """After parameters change, hashes are upgraded at the next sign-in."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    async def hash_async(self, password: str) -> str:
        async with self._slot():
            return await asyncio.to_thread(self.hash, password)

    async def verify_async(self, stored: str | None, password: str) -> bool:
        async with self._slot():
            return await asyncio.to_thread(self.verify, stored, password)

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        async with self._slots:
            self._busy += 1
            self.peak_concurrency = max(self.peak_concurrency, self._busy)
            PASSWORD_HASHING.inc()
            try:
                yield
            finally:
                self._busy -= 1
                PASSWORD_HASHING.dec()
