-- Sign-in accounts, the roles they hold, one-time tokens and sessions.
-- Secrets are never stored: passwords as argon2id PHC strings, tokens as SHA-256.

CREATE TABLE accounts (
    id            uuid PRIMARY KEY,
    person_id     uuid UNIQUE REFERENCES people (id) ON DELETE RESTRICT,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash text,
    status        text NOT NULL DEFAULT 'invited' CHECK (status IN ('invited', 'active', 'disabled')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email ON accounts (lower(email));

-- A person may hold several roles; department-scoped roles name the root of their subtree.
CREATE TABLE role_grants (
    account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role          text NOT NULL
                  CHECK (role IN ('institution_admin', 'sub_admin', 'provider', 'staff', 'client')),
    department_id uuid REFERENCES departments (id) ON DELETE RESTRICT,
    granted_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'sub_admin') = (department_id IS NOT NULL) OR role IN ('staff', 'provider', 'client'))
);
CREATE UNIQUE INDEX role_grants_unique
    ON role_grants (account_id, role, coalesce(department_id, '00000000-0000-0000-0000-000000000000'::uuid));

-- Single-use secrets sent out of band (first-admin setup, invitations, password reset).
CREATE TABLE one_time_tokens (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('setup', 'invite', 'reset')),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX one_time_tokens_account ON one_time_tokens (account_id);

CREATE TABLE sessions (
    id           uuid PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX sessions_account ON sessions (account_id);
