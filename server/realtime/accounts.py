"""Signed-in WebSockets: the hub's authenticator and the private channels.

A connection proves its session with the first frame {"op": "auth",
"token": "..."}, or simply by carrying the session cookie (or a bearer
header) on the upgrade request, which is checked the first time it asks for
a private channel. The cookie counts only from the platform's own origins
(server.realtime.origins). `user:<id>` is open only to that user and
`broker:<id>` only to that broker.

While a socket is open its session counts as in use (the idle deadline moves
on), but the absolute lifetime still ends it: every `check_every` seconds the
sessions behind open sockets are checked, and a socket whose session has
ended (expired, signed out, ended by a password reset) is closed with 4001.
The user's role is read again at each authorisation and in that check: a
socket loses the private channels its user may no longer see (a demoted
broker its `broker:<id>`) and is told with `unsubscribed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace

from aiohttp import web

from protocols.frames import unsubscribed_frame
from server import keys
from server.auth import User, accounts_of, session_token, user_for_token
from server.realtime.connection import Connection
from server.realtime.extensions import SnapshotSource
from server.realtime.hub import Hub
from server.realtime.origins import allowed_origins, cookie_may_sign_in
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
        settings = app[keys.CONFIG]
        self.origins = allowed_origins(settings.public_url, settings.allowed_origins)

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
            token = self.upgrade_token(conn.request)
            if token:
                conn.identity = await self.authenticate(conn, token)
                return may_subscribe(conn.identity, channel)
        if not isinstance(conn.identity, WsIdentity):
            return False
        roles = await self._live_roles([conn.identity.session_id])
        self._apply(conn, roles.get(conn.identity.session_id))
        identity = conn.identity
        return isinstance(identity, WsIdentity) and may_subscribe(identity, channel)

    def upgrade_token(self, request: web.Request) -> str | None:
        """The upgrade request's bearer token, else its session cookie when
        it came from one of the platform's origins."""
        token = session_token(request)
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if token is None or (scheme.lower() == "bearer" and value.strip()):
            return token
        origin = request.headers.get("Origin")
        if cookie_may_sign_in(origin, self.origins):
            return token
        log.info("WebSocket session cookie refused from origin %r", origin[:200] if origin else "")
        return None

    async def check_sessions(self) -> int:
        """Close the sockets whose session has ended, and take from the
        others the private channels their user's role no longer opens;
        returns how many sockets were closed."""
        signed_in: dict[uuid.UUID, list[Connection]] = {}
        for conn in list(self.hub.connections):
            if isinstance(conn.identity, WsIdentity) and not conn.closing:
                signed_in.setdefault(conn.identity.session_id, []).append(conn)
        if not signed_in:
            return 0
        roles = await self._live_roles(list(signed_in))
        closed = 0
        for session_id, conns in signed_in.items():
            for conn in conns:
                closed += not self._apply(conn, roles.get(session_id))
        return closed

    async def _live_roles(self, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        accounts = accounts_of(self.app)
        return await store.keep_sessions_alive(
            self.app[keys.DB].pool, session_ids, idle=accounts.sessions.idle, now=accounts.clock()
        )

    def _apply(self, conn: Connection, role: str | None) -> bool:
        """Bring a signed-in socket in line with its session as it is now:
        closed with 4001 if the session ended (False), else with its user's
        current role and only the private channels that role opens."""
        identity = conn.identity
        assert isinstance(identity, WsIdentity)
        if role is None:
            self.hub.close_connection(conn, SESSION_ENDED, "session expired")
            return False
        if role == identity.role:
            return True
        conn.identity = identity = replace(identity, role=role)
        for channel in list(conn.subs):
            kind = channel.partition(":")[0]
            if kind in PRIVATE_KINDS and not may_subscribe(identity, channel):
                self.hub.unsubscribe(conn, channel)
                conn.send(unsubscribed_frame(channel))
        return True

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
