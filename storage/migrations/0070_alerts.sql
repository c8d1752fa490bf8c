-- Alerting: alert instances (one row per fingerprint, the latest episode),
-- silences, and the queue of notifications to outside receivers.
--
-- alerts.state: pending, firing, resolved. notified_state is what the team
-- was last told (firing or resolved), so a restart neither repeats nor
-- loses a notification.

CREATE TABLE alerts (
    fingerprint text PRIMARY KEY,
    name text NOT NULL,
    severity text NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
    labels jsonb NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    value double precision NOT NULL,
    summary text NOT NULL,
    description text NOT NULL DEFAULT '',
    active_at timestamptz NOT NULL,
    last_true_at timestamptz NOT NULL,
    started_at timestamptz,
    resolved_at timestamptz,
    notified_state text,
    last_notified_at timestamptz,
    acknowledged_by text,
    acknowledged_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_recent ON alerts (updated_at DESC);

CREATE TABLE alert_silences (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    matchers jsonb NOT NULL,
    ends_at timestamptz NOT NULL,
    comment text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expired_at timestamptz
);

-- Webhook and Alertmanager deliveries: written in the evaluation's
-- transaction, retried until the receiver takes them.
CREATE TABLE alert_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target text NOT NULL CHECK (target IN ('webhook', 'alertmanager')),
    payload jsonb NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL;
