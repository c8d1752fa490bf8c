-- Rate history: every accepted observation of every source, once.
-- (product, as_of, source) is the identity of an observation, so polling the
-- same week twice, or restarting mid-poll, stores nothing twice.

CREATE TABLE rate_observations (
    product text NOT NULL,
    as_of timestamptz NOT NULL,
    source text NOT NULL,
    rate numeric(6, 3) NOT NULL CHECK (rate > 0 AND rate < 25),
    points numeric(6, 3),
    apr numeric(6, 3),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product, as_of, source)
);
CREATE INDEX rate_observations_latest ON rate_observations (product, source, as_of DESC);
