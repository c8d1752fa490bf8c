"""WebSocket channel history: per channel an epoch, a head offset and the
last updates, so a client that reconnects (even to a restarted server) can
ask for what it missed.

`data` is stored as the exact JSON text that went out, so a replayed update
is byte for byte the frame the client would have received live.
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.database import Executor

# Every node LISTENs here; a payload names the node that wrote and the new
# head of each channel it appended to (see `announce`).
BUS = "rateline_channels"


async def ensure_channels(conn: Executor, channels: Sequence[str]) -> dict[str, tuple[str, int]]:
    """(epoch, head) of each channel, creating the channels that are new."""
    rows = await conn.fetch(
        """
        WITH new AS (
            INSERT INTO ws_channels (channel)
            SELECT unnest($1::text[])
            ON CONFLICT (channel) DO NOTHING
            RETURNING channel, epoch, head
        )
        SELECT channel, epoch, head FROM new
        UNION ALL
        SELECT channel, epoch, head FROM ws_channels WHERE channel = ANY($1::text[])
        """,
        list(channels),
    )
    return {row["channel"]: (row["epoch"], row["head"]) for row in rows}


async def append_updates(
    conn: Executor, updates: Sequence[tuple[str, str]], *, keep: int
) -> dict[str, tuple[str, int]]:
    """Append one update (channel, JSON text) to each of several distinct
    channels; returns each channel's (epoch, offset of the new update)."""
    heads = await append_in_order(conn, updates, keep=keep)
    return {channel: head for (channel, _), head in zip(updates, heads, strict=True)}


_APPEND = """
    WITH d AS (
        SELECT * FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS d(channel, data, n)
    ), counts AS (
        SELECT channel, count(*) AS k FROM d GROUP BY channel
    ), bumped AS (
        INSERT INTO ws_channels AS c (channel, head)
        SELECT channel, k FROM counts ORDER BY channel
        ON CONFLICT (channel) DO UPDATE SET head = c.head + excluded.head, updated_at = now()
        RETURNING c.channel, c.epoch, c.head
    ), numbered AS (
        SELECT d.n, d.channel, d.data, b.epoch,
               b.head - counts.k + row_number() OVER (PARTITION BY d.channel ORDER BY d.n) AS seq
        FROM d JOIN bumped b USING (channel) JOIN counts USING (channel)
    ), stored AS (
        INSERT INTO ws_channel_updates (channel, seq, data)
        SELECT channel, seq, data::json FROM numbered
    ), trimmed AS (
        DELETE FROM ws_channel_updates u USING bumped b
        WHERE u.channel = b.channel AND u.seq <= b.head - $3
    )
"""


async def append_in_order(
    conn: Executor, updates: Sequence[tuple[str, str]], *, keep: int
) -> list[tuple[str, int]]:
    """Append updates (channel, JSON text), a channel possibly more than once,
    in one statement; returns each update's (epoch, offset), in input order.

    A channel's updates take the next offsets in the order given, by bumping
    its head once by their count, so concurrent writers of one channel queue
    on its row and the history has no gaps. Heads are bumped in channel
    order, so two writers of overlapping channels cannot deadlock. Updates
    older than the last `keep` are dropped in the same statement.
    """
    if not updates:
        return []
    rows = await conn.fetch(
        _APPEND + "SELECT epoch, seq FROM numbered ORDER BY n",
        [channel for channel, _ in updates],
        [data for _, data in updates],
        keep,
    )
    return [(row["epoch"], row["seq"]) for row in rows]


async def append_and_announce(
    conn: Executor, updates: Sequence[tuple[str, str]], *, keep: int, node: str, per_notify: int
) -> list[tuple[str, int]]:
    """`append_in_order`, and in the same statement (so in one round trip and
    its own transaction when `conn` is in none) the bus announcement of the
    channels' new heads: {"node": node, "heads": {channel: head}}, split
    into NOTIFYs of at most `per_notify` channels, sent at commit."""
    if not updates:
        return []
    rows = await conn.fetch(
        _APPEND
        + """
        , heads AS (
            SELECT channel, max(seq) AS head,
                   (row_number() OVER (ORDER BY channel) - 1) / $5 AS part
            FROM numbered GROUP BY channel
        ), told AS (
            SELECT pg_notify($6, json_build_object(
                'node', $4::text, 'heads', json_object_agg(channel, head))::text)
            FROM heads GROUP BY part
        )
        SELECT epoch, seq FROM numbered, (SELECT count(*) FROM told) AS t ORDER BY n
        """,
        [channel for channel, _ in updates],
        [data for _, data in updates],
        keep,
        node,
        per_notify,
        BUS,
    )
    return [(row["epoch"], row["seq"]) for row in rows]


async def read_updates(
    conn: Executor, channel: str, after: int, upto: int
) -> list[tuple[int, str]]:
    """(offset, JSON text) of the stored updates with after < offset <= upto, in order."""
    rows = await conn.fetch(
        """
        SELECT seq, data::text AS data FROM ws_channel_updates
        WHERE channel = $1 AND seq > $2 AND seq <= $3
        ORDER BY seq
        """,
        channel,
        after,
        upto,
    )
    return [(row["seq"], row["data"]) for row in rows]


async def channel_heads(conn: Executor, channels: Sequence[str]) -> dict[str, tuple[str, int]]:
    """(epoch, head) of each of `channels` that exists."""
    rows = await conn.fetch(
        "SELECT channel, epoch, head FROM ws_channels WHERE channel = ANY($1::text[])",
        list(channels),
    )
    return {row["channel"]: (row["epoch"], row["head"]) for row in rows}


async def announce(conn: Executor, payload: str) -> None:
    """Tell every node's bus listener; inside a transaction, it is sent at commit."""
    await conn.execute("SELECT pg_notify($1, $2)", BUS, payload)
