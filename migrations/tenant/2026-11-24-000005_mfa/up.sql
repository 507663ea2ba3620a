-- TOTP multi-factor authentication with recovery codes.

-- Sign-in with MFA hands out a short-lived challenge token between the password and the code.
ALTER TABLE one_time_tokens DROP CONSTRAINT one_time_tokens_purpose_check;
ALTER TABLE one_time_tokens ADD CONSTRAINT one_time_tokens_purpose_check
    CHECK (purpose IN ('setup', 'invite', 'reset', 'mfa'));

CREATE TABLE mfa_totp (
    account_id    uuid PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    -- nonce || XChaCha20-Poly1305 ciphertext of the shared secret, under a key derived from
    -- the server key (domain::identity::mfa::Sealer): the database alone cannot produce codes.
    secret_sealed bytea NOT NULL,
    confirmed_at  timestamptz,
    -- The last accepted time step: a code is accepted once (RFC 6238 §5.2).
    last_step     bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mfa_recovery_codes (
    code_hash  bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    used_at    timestamptz
);
CREATE INDEX mfa_recovery_codes_account ON mfa_recovery_codes (account_id);
