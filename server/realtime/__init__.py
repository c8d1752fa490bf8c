"""Realtime: live rates and private channels over WebSocket.

Hub and fan-out
    hub          who is subscribed to what; every broadcast framed once and
                 written by the event loop, slow readers conflated, then 4008
    fanout       one frame to a channel's targets, checked and written in C
    connection   one client as the hub sees it; the hub's settings, metrics
                 and close codes
Sessions and frames
    conversation one client's frames read and answered: subscribe (snapshot
                 or replay with `since`), unsubscribe, ping, auth
    wire         RFC 6455 server frames as bytes
Heartbeat
    heartbeat    pings spread over time, and the peers that stopped answering
Channel logs and recovery
    channel_log  offsets and recent updates of every channel, in PostgreSQL
Private channels
    private      heads and broadcasts of `user:<id>`, `broker:<id>`, ...
    extensions   what extension code plugs in and may call
    accounts     signed-in sockets: the authenticator, who may see which
                 private channel, the sweep that ends stale authorisations
The bus between nodes
    cluster      LISTEN/NOTIFY between nodes on one PostgreSQL and the rates
                 leader
Start-up
    service      builds the hub on the rate book and closes it at shutdown
"""
