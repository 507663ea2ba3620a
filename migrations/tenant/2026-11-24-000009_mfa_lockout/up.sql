-- Wrong second factors are counted per account; five in a row lock code entry for 15 minutes
-- (kept in the database, so every server enforces it and it survives a Redis outage).
ALTER TABLE mfa_totp ADD COLUMN failed_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE mfa_totp ADD COLUMN locked_until timestamptz;
