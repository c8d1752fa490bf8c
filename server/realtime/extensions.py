"""What extension code plugs into the WebSocket hub (private channels,
authentication), and the calls the hub offers it.

hub.set_authenticator(fn)
    fn(connection, token) -> Awaitable[identity | None]. Enables the
    client frame {"op": "auth", "token": "..."}; a non-None identity is
    kept as `connection.identity` and answered with {"op":
    "authenticated"}, None is answered with error `unauthorized`.
hub.add_channel_kind(prefix, authorize, snapshot=None)
    Makes channels "<prefix>:<id>" subscribable. authorize(connection,
    channel) -> Awaitable[bool] decides (False: error `forbidden`);
    snapshot(connection, channel) -> Awaitable[data | None], if given,
    is sent as the `snapshot` frame after `subscribed`.
await hub.publish(channel, data) -> offset
    Stores `data` (any JSON-encodable value) as the channel's next update
    and sends it to the channel's subscribers. Offsets, epochs and replay
    with `since` work as on the rate channels; there is no conflation:
    a client that falls `max_queued_frames` behind is closed with 4008.
    With several nodes, the update reaches the channel's subscribers on
    every node (server.realtime.private).
Also for extension code: `connection.identity`, `.subs` (its channels),
`.request` (the upgrade request: cookies, headers), `.closing`;
`hub.connections`, `hub.unsubscribe(connection, channel)` and
`hub.close_connection(connection, code, reason)`. Handlers find the hub
at app[server.keys.HUB], actors at ctx.deps["ws_hub"] (an actor runs
`publish` on the server loop: asyncio.run_coroutine_threadsafe).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from server.realtime.connection import Connection

Authenticator = Callable[[Connection, str], Awaitable[Any]]
Authorizer = Callable[[Connection, str], Awaitable[bool]]
SnapshotSource = Callable[[Connection, str], Awaitable[Any]]


@dataclass(frozen=True)
class ChannelKind:
    prefix: str
    authorize: Authorizer
    snapshot: SnapshotSource | None = None
