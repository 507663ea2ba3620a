-- OAuth2 client-credentials clients: integrations (an HR system, a data warehouse) that call
-- the API as themselves, with scopes, never as a person.
CREATE TABLE oauth_clients (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    -- argon2id PHC string of the client secret (shown once, at creation).
    secret_hash text NOT NULL,
    scopes      text[] NOT NULL CHECK (scopes <@ ARRAY['directory:read', 'directory:write'] AND cardinality(scopes) > 0),
    created_by  uuid REFERENCES accounts (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
