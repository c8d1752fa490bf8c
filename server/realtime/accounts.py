"""Signed-in WebSockets: the hub's authenticator and the private channels.

A connection proves its session with the first frame {"op": "auth",
"token": "..."}, or simply by carrying the session cookie (or a bearer
header) on the upgrade request, which is checked the first time it asks for
a private channel. `user:<id>` is open only to that user and `broker:<id>`
only to that broker.

While a socket is open its session counts as in use (the idle deadline moves
on), but the absolute lifetime still ends it: every `check_every` seconds the
sessions behind open sockets are checked, and a socket whose session has
ended (expired, signed out, ended by a password reset) is closed with 4001.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from aiohttp import web

from server import keys
from server.auth import User, accounts_of, session_token, user_for_token
from server.realtime.connection import Connection
from server.realtime.extensions import SnapshotSource
from server.realtime.hub import Hub
from storage import sessions as store

log = logging.getLogger("rateline.ws")

SESSION_ENDED = 4001
PRIVATE_KINDS = ("user", "broker")


@dataclass(frozen=True)
class WsIdentity:
    """What `connection.identity` holds once a socket is signed in."""

    user_id: uuid.UUID
    role: str
    session_id: uuid.UUID

    @classmethod
    def of(cls, user: User) -> WsIdentity:
        return cls(user_id=user.id, role=user.role, session_id=user.session_id)


def may_subscribe(identity: WsIdentity | None, channel: str) -> bool:
    """The channel rule, on its own: own user channel; own broker channel."""
    if identity is None:
        return False
    kind, _, owner = channel.partition(":")
    if owner != str(identity.user_id):
        return False
    if kind == "user":
        return True
    return kind == "broker" and identity.role == "broker"


class WsAuth:
    """Plugs session checks into a hub and closes sockets whose session ended."""

    def __init__(self, app: web.Application, hub: Hub, *, check_every: float = 30.0) -> None:
        self.app = app
        self.hub = hub
        self.check_every = check_every

    def install(self, snapshots: Mapping[str, SnapshotSource] | None = None) -> None:
        """Register the authenticator and the private channel kinds; a flow that
        owns a kind (leads for `broker`, say) may pass the snapshot its
        subscribers get first."""
        snapshots = snapshots or {}
        unknown = set(snapshots) - set(PRIVATE_KINDS)
        if unknown:
            raise ValueError(f"no private channel kind {sorted(unknown)}")
        self.hub.set_authenticator(self.authenticate)
        for kind in PRIVATE_KINDS:
            self.hub.add_channel_kind(kind, self.authorize, snapshots.get(kind))

    async def authenticate(self, conn: Connection, token: str) -> WsIdentity | None:
        user = await user_for_token(self.app, token)
        if user is None:
            return None
        identity = WsIdentity.of(user)
        previous = conn.identity
        if isinstance(previous, WsIdentity) and previous.user_id != identity.user_id:
            for channel in list(conn.subs):
                if channel.partition(":")[0] in PRIVATE_KINDS:
                    self.hub.unsubscribe(conn, channel)
        return identity

    async def authorize(self, conn: Connection, channel: str) -> bool:
        if conn.identity is None:
            token = session_token(conn.request)
            if token:
                conn.identity = await self.authenticate(conn, token)
        identity = conn.identity
        return may_subscribe(identity if isinstance(identity, WsIdentity) else None, channel)

    async def check_sessions(self) -> int:
        """Close the sockets whose session has ended; returns how many."""
        signed_in: dict[uuid.UUID, list[Connection]] = {}
        for conn in list(self.hub.connections):
            if isinstance(conn.identity, WsIdentity) and not conn.closing:
                signed_in.setdefault(conn.identity.session_id, []).append(conn)
        if not signed_in:
            return 0
        alive = await store.keep_sessions_alive(
            self.app[keys.DB].pool,
            list(signed_in),
            idle=accounts_of(self.app).sessions.idle,
        )
        closed = 0
        for session_id, conns in signed_in.items():
            if session_id in alive:
                continue
            for conn in conns:
                self.hub.close_connection(conn, SESSION_ENDED, "session expired")
                closed += 1
        return closed

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.check_every)
            try:
                await self.check_sessions()
            except Exception:
                log.exception("checking WebSocket sessions failed")


async def accounts_service(
    app: web.Application, *, check_every: float = 30.0
) -> AsyncIterator[None]:
    """Start-up service; runs after the hub's service, which provides app[HUB]."""
    auth = WsAuth(app, app[keys.HUB], check_every=check_every)
    auth.install()
    checker = asyncio.create_task(auth.run())
    try:
        yield
    finally:
        checker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checker
