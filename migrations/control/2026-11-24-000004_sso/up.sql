-- Enterprise SSO per tenant (docs/SSO.md). The configuration lives in the control plane because
-- a browser coming back from an identity provider names only the connection (its id is in the
-- callback URL) and the tenant is found from it; everything here is keyed by tenant.

CREATE TABLE control.sso_connections (
    id                     uuid PRIMARY KEY,
    tenant_id              bigint NOT NULL REFERENCES control.tenants (id) ON DELETE CASCADE,
    name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    protocol               text NOT NULL CHECK (protocol IN ('oidc', 'saml')),
    -- OIDC: issuer (discovery at <issuer>/.well-known/openid-configuration) and client.
    oidc_issuer            text,
    oidc_client_id         text,
    -- XChaCha20-Poly1305 under a key derived from the server key; never stored in clear.
    oidc_client_secret     bytea,
    -- SAML: the IdP's metadata XML (uploaded or fetched once from saml_metadata_url).
    saml_idp_metadata      text,
    saml_metadata_url      text,
    password_login_allowed boolean NOT NULL DEFAULT true,
    -- [{"group": "...", "role": "provider", "department_id": null}]
    group_mappings         jsonb NOT NULL DEFAULT '[]',
    -- SHA-256 of the connection's SCIM bearer token.
    scim_token_hash        bytea UNIQUE,
    created_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (protocol <> 'oidc' OR (oidc_issuer IS NOT NULL AND oidc_client_id IS NOT NULL
                                  AND oidc_client_secret IS NOT NULL)),
    CHECK (protocol <> 'saml' OR saml_idp_metadata IS NOT NULL)
);
CREATE INDEX sso_connections_tenant ON control.sso_connections (tenant_id);

-- Home-realm discovery: an email domain routes to one connection within a tenant.
CREATE TABLE control.sso_domains (
    tenant_id     bigint NOT NULL REFERENCES control.tenants (id) ON DELETE CASCADE,
    domain        text NOT NULL CHECK (domain = lower(domain) AND length(domain) BETWEEN 3 AND 253),
    connection_id uuid NOT NULL REFERENCES control.sso_connections (id) ON DELETE CASCADE,
    PRIMARY KEY (tenant_id, domain)
);

-- A sign-in in flight: the state (OIDC) or RelayState (SAML) is the key, stored as SHA-256;
-- single use, minutes long.
CREATE TABLE control.sso_pending (
    state_hash      bytea PRIMARY KEY,
    connection_id   uuid NOT NULL REFERENCES control.sso_connections (id) ON DELETE CASCADE,
    nonce           text,
    pkce_verifier   bytea,
    saml_request_id text,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);

-- SAML assertion ids already accepted, kept until the assertion would have expired anyway.
CREATE TABLE control.sso_seen_assertions (
    connection_id uuid NOT NULL REFERENCES control.sso_connections (id) ON DELETE CASCADE,
    assertion_id  text NOT NULL,
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);

-- The browser's hand-off from a finished SSO sign-in to the web app: a single-use code, one
-- minute long, exchanged for the session's tokens (POST /api/v1/auth/sso/exchange).
CREATE TABLE control.sso_handoffs (
    code_hash  bytea PRIMARY KEY,
    tenant_id  bigint NOT NULL REFERENCES control.tenants (id) ON DELETE CASCADE,
    account_id uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

GRANT SELECT, INSERT, UPDATE, DELETE ON control.sso_connections, control.sso_domains,
    control.sso_pending, control.sso_seen_assertions, control.sso_handoffs TO swiftacare_app;
