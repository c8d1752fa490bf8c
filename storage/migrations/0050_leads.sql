-- Leads and brokers: broker profiles, leads with their consent, offers with
-- deadlines, each submission as an activity, idempotency keys, and the stored
-- notifications a broker who was offline reads later.

CREATE TABLE broker_profiles (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    nmls_id text NOT NULL,
    licenses jsonb NOT NULL DEFAULT '[]',
    capacity integer NOT NULL CHECK (capacity >= 0),
    timezone text NOT NULL,
    hours jsonb NOT NULL,
    active boolean NOT NULL DEFAULT true,
    last_offered_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX broker_profiles_licenses ON broker_profiles USING gin (licenses jsonb_path_ops);

CREATE TABLE leads (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    name text NOT NULL,
    email text NOT NULL,
    phone text NOT NULL,
    state text NOT NULL,
    purpose text NOT NULL CHECK (purpose IN ('purchase', 'refinance')),
    price numeric NOT NULL,
    down_payment numeric,
    loan_balance numeric,
    credit_score integer,
    timeline text NOT NULL,
    message text NOT NULL DEFAULT '',
    calculation_id uuid REFERENCES calculations (id) ON DELETE SET NULL,
    source text,
    utm jsonb,
    consent jsonb NOT NULL,
    consent_at timestamptz NOT NULL,
    consent_ip text,
    consent_user_agent text,
    -- Plain, not hashed: every later email to the borrower carries the
    -- opt-out link again, and the token can do nothing but stop contact.
    opt_out_token text NOT NULL,
    status text NOT NULL DEFAULT 'received' CHECK (status IN (
        'received', 'offered', 'accepted', 'contacted', 'won', 'lost', 'unassigned', 'opted_out'
    )),
    broker_id uuid REFERENCES users (id) ON DELETE SET NULL,
    score integer,
    tier text,
    reasons jsonb,
    received_at timestamptz NOT NULL DEFAULT now(),
    first_offered_at timestamptz,
    accepted_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX leads_routing ON leads (received_at) WHERE status IN ('received', 'offered', 'unassigned');
CREATE INDEX leads_broker ON leads (broker_id, status);
CREATE INDEX leads_email ON leads (lower(email), received_at);
CREATE INDEX leads_phone ON leads (phone, received_at);
CREATE INDEX leads_user ON leads (user_id);

-- One row per offer; at most one offer of a lead is open (outcome NULL).
CREATE TABLE lead_offers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    broker_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    offered_at timestamptz NOT NULL DEFAULT now(),
    deadline timestamptz NOT NULL,
    outcome text CHECK (outcome IN ('accepted', 'declined', 'expired', 'withdrawn')),
    answered_at timestamptz
);
CREATE UNIQUE INDEX lead_offers_open ON lead_offers (lead_id) WHERE outcome IS NULL;
CREATE INDEX lead_offers_broker_open ON lead_offers (broker_id) WHERE outcome IS NULL;

-- Every submission (the first and each joined duplicate) with its consent.
CREATE TABLE lead_activities (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX lead_activities_lead ON lead_activities (lead_id, at);

CREATE TABLE lead_idempotency (
    key text PRIMARY KEY,
    lead_id uuid NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notifications (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel text NOT NULL,
    kind text NOT NULL,
    data jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz
);
CREATE INDEX notifications_user ON notifications (user_id, id DESC);
