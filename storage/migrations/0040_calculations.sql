-- Every mortgage calculation served: the buyer's inputs, the live rates it
-- was priced from, and the document the client received. The document is
-- kept as `json` (text, verbatim) so a later GET answers byte for byte what
-- the POST answered; inputs and rates are `jsonb` to be queried.
-- A calculation made with a session belongs to that user and goes with the
-- account; an anonymous one is reachable only by its id.

CREATE TABLE calculations (
    id uuid PRIMARY KEY,
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    inputs jsonb NOT NULL,
    rates jsonb NOT NULL,
    rates_as_of timestamptz NOT NULL,
    document json NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX calculations_by_user
    ON calculations (user_id, created_at DESC, id DESC)
    WHERE user_id IS NOT NULL;
