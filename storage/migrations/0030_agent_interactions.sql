-- Every question put to an agent and how it was answered. Rows with
-- cache_level = 'none' are real answers (a provider ran); they double as the
-- second-level cache shared by every node. Rows with another level record a
-- request served from a cache and point at the answer they reused.
CREATE TABLE agent_interactions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent text NOT NULL,
    input_hash text NOT NULL,
    input jsonb NOT NULL,
    output jsonb NOT NULL,
    provider text NOT NULL,
    model text,
    tokens_in integer NOT NULL DEFAULT 0 CHECK (tokens_in >= 0),
    tokens_out integer NOT NULL DEFAULT 0 CHECK (tokens_out >= 0),
    cost_usd numeric(14, 6) NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
    latency_ms numeric(12, 3) NOT NULL DEFAULT 0,
    cache_level text NOT NULL
        CHECK (cache_level IN ('none', 'memory', 'inflight', 'database')),
    source_id bigint REFERENCES agent_interactions (id) ON DELETE SET NULL,
    error text,
    user_id text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX agent_interactions_answers
    ON agent_interactions (agent, input_hash, created_at DESC)
    WHERE cache_level = 'none';

CREATE INDEX agent_interactions_created ON agent_interactions (created_at DESC, id DESC);

CREATE INDEX agent_interactions_user_tokens
    ON agent_interactions (user_id, created_at)
    WHERE user_id IS NOT NULL AND tokens_in + tokens_out > 0;

CREATE INDEX agent_interactions_tokens
    ON agent_interactions (created_at)
    WHERE tokens_in + tokens_out > 0;
