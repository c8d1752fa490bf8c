-- Every backup taken: where it went, what it holds, and whether a real
-- restore proved it good. `slot` is the scheduled time a run was taken for;
-- its uniqueness makes two nodes that both believe they lead take one backup.

CREATE TABLE backups (
    id text PRIMARY KEY,
    trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'command')),
    slot timestamptz UNIQUE,
    node text NOT NULL,
    destination text NOT NULL,
    status text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'verified', 'failed')),
    stage text,
    detail text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    dump_seconds double precision,
    verify_seconds double precision,
    size_bytes bigint,
    sha256 text,
    manifest jsonb
);

CREATE INDEX backups_by_start ON backups (started_at DESC);
