-- WebSocket channel history: the offset of every channel and its recent
-- updates, so a client can resume after a disconnect or a server restart.
-- The epoch changes only when a channel's history starts over (a new
-- database), which tells clients that their offsets mean nothing here.

CREATE TABLE ws_channels (
    channel text PRIMARY KEY,
    epoch text NOT NULL DEFAULT left(replace(gen_random_uuid()::text, '-', ''), 16),
    head bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ws_channel_updates (
    channel text NOT NULL REFERENCES ws_channels (channel) ON DELETE CASCADE,
    seq bigint NOT NULL,
    data json NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, seq)
);
