-- Payments and subscriptions through Stripe.
--
-- Amounts are integer cents. A payment row is written (pending) before Stripe
-- hears of it and only moves forward; the conditional UPDATE that marks it
-- succeeded is the single place its effects (subscription period, receipt)
-- happen, so a confirm call and webhooks racing each other apply them once.

CREATE TABLE payment_plans (
    code text PRIMARY KEY CHECK (code ~ '^[a-z0-9_]{1,64}$'),
    name text NOT NULL,
    amount_cents integer NOT NULL CHECK (amount_cents > 0),
    currency text NOT NULL DEFAULT 'usd' CHECK (currency = 'usd'),
    billing_interval text CHECK (billing_interval IN ('month', 'year')),  -- NULL: one-time
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO payment_plans (code, name, amount_cents, billing_interval) VALUES
    ('broker_pro_monthly', 'Broker Pro (monthly)', 4900, 'month'),
    ('broker_pro_annual', 'Broker Pro (annual)', 49000, 'year'),
    ('rate_report', 'Rate report', 1900, NULL);

CREATE TABLE stripe_customers (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    customer_id text NOT NULL UNIQUE
);

CREATE TABLE payments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id),
    plan_code text NOT NULL REFERENCES payment_plans (code),
    amount_cents integer NOT NULL CHECK (amount_cents > 0),
    currency text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN (
        'pending', 'processing', 'requires_action', 'failed', 'succeeded', 'canceled', 'refunded')),
    idempotency_key text,
    payment_intent_id text UNIQUE,
    client_secret text,
    customer_id text,
    subscription_id text,
    failure_reason text,
    card_brand text,
    card_last4 text,
    receipt_number text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    succeeded_at timestamptz,
    refunded_at timestamptz,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX payments_recent ON payments (created_at DESC);
CREATE INDEX payments_open ON payments (created_at) WHERE status IN ('pending', 'processing', 'requires_action');

CREATE TABLE subscriptions (
    user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    plan_code text NOT NULL REFERENCES payment_plans (code),
    stripe_subscription_id text UNIQUE,
    status text NOT NULL CHECK (status IN ('incomplete', 'active', 'past_due', 'canceled', 'unpaid')),
    current_period_end timestamptz,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every Stripe event seen, once: the primary key turns a replay into a no-op.
CREATE TABLE payment_events (
    id text PRIMARY KEY,
    type text NOT NULL,
    payload jsonb NOT NULL,
    source text NOT NULL CHECK (source IN ('webhook', 'reconcile')),
    received_at timestamptz NOT NULL DEFAULT now(),
    applied_at timestamptz
);
CREATE INDEX payment_events_unapplied ON payment_events (received_at) WHERE applied_at IS NULL;

-- Receipt numbers run 1, 2, 3... within each calendar year.
CREATE TABLE receipt_counters (
    year integer PRIMARY KEY,
    last_number integer NOT NULL
);
