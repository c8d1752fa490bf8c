-- The audit log: security events in one append-only, hash-chained table.
-- Each row's `hash` is SHA-256(previous row's hash || the row's canonical
-- JSON) (storage.audit_chain), the first row chaining from 32 zero bytes, so
-- a changed or removed row breaks every hash after it. `seq` is dense: it is
-- taken under an advisory lock by the one appender at a time. `details` is
-- `json`, kept as the very text that was hashed.

CREATE TABLE audit_log (
    seq bigint PRIMARY KEY CHECK (seq > 0),
    at timestamptz NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target text,
    outcome text NOT NULL,
    ip text,
    request_id text,
    details json NOT NULL,
    hash bytea NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

-- What the security scanner found; a finding that stops appearing is resolved.
CREATE TABLE security_findings (
    id text PRIMARY KEY,
    check_id text NOT NULL,
    severity text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    title text NOT NULL,
    evidence text NOT NULL,
    remedy text NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    resolved_at timestamptz
);
CREATE INDEX security_findings_open ON security_findings (severity) WHERE resolved_at IS NULL;
