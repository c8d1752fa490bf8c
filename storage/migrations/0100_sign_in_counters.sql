-- Sign-in attempts counted per key ('pair:<email>|<ip>', 'address:<email>',
-- 'ip:<ip>'). An attempt is counted under a row lock before its password is
-- verified, so concurrent guesses cannot all slip past the throttle.
CREATE TABLE sign_in_counters (
    key text PRIMARY KEY,
    failures integer NOT NULL DEFAULT 0,
    last_at timestamptz
);
CREATE INDEX sign_in_counters_last_at ON sign_in_counters (last_at);
