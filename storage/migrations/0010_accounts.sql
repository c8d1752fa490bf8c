-- Accounts: users, single-use email tokens, sessions, and the security event log.
-- Tokens and sessions are stored only as SHA-256 digests of the client's secret.

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL,
    name text NOT NULL,
    password_hash text,
    role text NOT NULL DEFAULT 'consumer' CHECK (role IN ('consumer', 'broker', 'admin')),
    email_verified_at timestamptz,
    password_changed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE account_tokens (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);

CREATE TABLE sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash bytea NOT NULL UNIQUE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ip text,
    user_agent text
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Every sign-in attempt and account change worth auditing. `email` is the
-- normalised address as typed (also for unknown accounts): the sign-in
-- throttle counts failures by it.
CREATE TABLE security_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL,
    outcome text NOT NULL,
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    email text,
    ip text,
    user_agent text,
    detail text
);
CREATE INDEX security_events_email ON security_events (email, kind, at);
CREATE INDEX security_events_ip ON security_events (ip, kind, at);
CREATE INDEX security_events_user ON security_events (user_id, at);
