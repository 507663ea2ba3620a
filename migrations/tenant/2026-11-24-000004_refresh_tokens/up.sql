-- Access tokens are now short-lived signed JWTs naming their session; a session is continued
-- with single-use refresh tokens. Each refresh marks its token used and issues the next, so a
-- used token presented again means it was stolen: the whole session (the family) is revoked.

-- Sessions are no longer looked up by a bearer token (expand: the column stays for old rows).
ALTER TABLE sessions ALTER COLUMN token_hash DROP NOT NULL;

CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
