//! Diesel table definitions of the control schema. Control tables are schema-qualified,
//! so they are reachable from [`crate::Tenancy::control_tx`] whose search_path is empty.
//! Tenant tables are defined in `domain` and are unqualified: they resolve only inside
//! [`crate::Tenancy::tx`].

diesel::table! {
    control.shards (id) {
        id -> Text,
        description -> Text,
        status -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    control.tenants (id) {
        id -> Int8,
        slug -> Text,
        name -> Text,
        kind -> Text,
        schema_name -> Text,
        shard_id -> Text,
        status -> Text,
        schema_version -> Nullable<Text>,
        migration_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(tenants -> shards (shard_id));
diesel::allow_tables_to_appear_in_same_query!(shards, tenants);

diesel::table! {
    control.operators (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Text,
        status -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    control.operator_sessions (id) {
        id -> Uuid,
        operator_id -> Uuid,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    control.operator_events (id) {
        id -> Int8,
        occurred_at -> Timestamptz,
        operator_id -> Nullable<Uuid>,
        action -> Text,
        tenant_slug -> Nullable<Text>,
        outcome -> Text,
        request_id -> Nullable<Text>,
    }
}

diesel::joinable!(operator_sessions -> operators (operator_id));
diesel::allow_tables_to_appear_in_same_query!(operators, operator_sessions);

diesel::table! {
    control.sso_connections (id) {
        id -> Uuid,
        tenant_id -> Int8,
        name -> Text,
        protocol -> Text,
        oidc_issuer -> Nullable<Text>,
        oidc_client_id -> Nullable<Text>,
        oidc_client_secret -> Nullable<Bytea>,
        saml_idp_metadata -> Nullable<Text>,
        saml_metadata_url -> Nullable<Text>,
        password_login_allowed -> Bool,
        group_mappings -> Jsonb,
        scim_token_hash -> Nullable<Bytea>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    control.sso_domains (tenant_id, domain) {
        tenant_id -> Int8,
        domain -> Text,
        connection_id -> Uuid,
    }
}

diesel::table! {
    control.sso_pending (state_hash) {
        state_hash -> Bytea,
        connection_id -> Uuid,
        nonce -> Nullable<Text>,
        pkce_verifier -> Nullable<Bytea>,
        saml_request_id -> Nullable<Text>,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    control.sso_seen_assertions (connection_id, assertion_id) {
        connection_id -> Uuid,
        assertion_id -> Text,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    control.sso_handoffs (code_hash) {
        code_hash -> Bytea,
        tenant_id -> Int8,
        account_id -> Uuid,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(sso_domains -> sso_connections (connection_id));
diesel::joinable!(sso_connections -> tenants (tenant_id));
diesel::allow_tables_to_appear_in_same_query!(sso_connections, sso_domains, tenants);
