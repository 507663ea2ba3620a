-- Accounts that came from an identity provider (SSO sign-in or SCIM), and SCIM groups.
CREATE TABLE sso_identities (
    connection_id uuid NOT NULL,               -- control.sso_connections.id (another schema)
    subject       text NOT NULL CHECK (length(subject) BETWEEN 1 AND 512),
    account_id    uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- The IdP's groups at the last sign-in or SCIM change (drive the role mapping).
    groups        text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, subject)
);
CREATE UNIQUE INDEX sso_identities_account ON sso_identities (connection_id, account_id);

CREATE TABLE scim_groups (
    id            uuid PRIMARY KEY,
    connection_id uuid NOT NULL,
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256),
    external_id   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX scim_groups_name ON scim_groups (connection_id, lower(display_name));

CREATE TABLE scim_group_members (
    group_id   uuid NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, account_id)
);
