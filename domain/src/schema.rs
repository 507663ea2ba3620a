//! Diesel definitions of the tenant-plane tables. They are unqualified on purpose: they
//! resolve only inside `Tenancy::tx`, whose search_path is the tenant's schema.

diesel::table! {
    departments (id) {
        id -> Uuid,
        parent_id -> Nullable<Uuid>,
        name -> Text,
        kind -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    people (id) {
        id -> Uuid,
        kind -> Text,
        given_name -> Text,
        family_name -> Text,
        email -> Nullable<Text>,
        department_id -> Nullable<Uuid>,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
        phone -> Nullable<Text>,
        sms_reminders -> Bool,
    }
}

diesel::table! {
    accounts (id) {
        id -> Uuid,
        person_id -> Nullable<Uuid>,
        email -> Text,
        password_hash -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    role_grants (account_id, role) {
        account_id -> Uuid,
        role -> Text,
        department_id -> Nullable<Uuid>,
        granted_at -> Timestamptz,
    }
}

diesel::table! {
    one_time_tokens (token_hash) {
        token_hash -> Bytea,
        account_id -> Uuid,
        purpose -> Text,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        account_id -> Uuid,
        token_hash -> Nullable<Bytea>,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        mfa_enrolment_required -> Bool,
    }
}

diesel::joinable!(people -> departments (department_id));
diesel::joinable!(role_grants -> accounts (account_id));
diesel::joinable!(sessions -> accounts (account_id));
diesel::joinable!(break_glass_grants -> accounts (account_id));
diesel::allow_tables_to_appear_in_same_query!(
    departments,
    people,
    accounts,
    role_grants,
    one_time_tokens,
    sessions,
    audit_log,
    audit_head,
    refresh_tokens,
    mfa_totp,
    mfa_recovery_codes,
    care_team,
    break_glass_grants,
    security_policy,
    oauth_clients,
    sso_identities,
    scim_groups,
    scim_group_members
);

diesel::define_sql_function! {
    /// PostgreSQL `lower(text)`; the unique email indexes are on `lower(email)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::table! {
    audit_log (seq) {
        seq -> Int8,
        occurred_at -> Timestamptz,
        actor_type -> Text,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        resource_type -> Nullable<Text>,
        resource_id -> Nullable<Uuid>,
        subjects -> Array<Uuid>,
        outcome -> Text,
        request_id -> Nullable<Text>,
        details -> Jsonb,
        prev_hash -> Bytea,
        hash -> Bytea,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Bool,
        seq -> Int8,
        hash -> Bytea,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Bytea,
        session_id -> Uuid,
        created_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(refresh_tokens -> sessions (session_id));

diesel::table! {
    mfa_totp (account_id) {
        account_id -> Uuid,
        secret_sealed -> Bytea,
        confirmed_at -> Nullable<Timestamptz>,
        last_step -> Int8,
        created_at -> Timestamptz,
        failed_attempts -> Int4,
        locked_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    mfa_recovery_codes (code_hash) {
        code_hash -> Bytea,
        account_id -> Uuid,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    care_team (client_person_id, provider_person_id) {
        client_person_id -> Uuid,
        provider_person_id -> Uuid,
        assigned_at -> Timestamptz,
        assigned_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    break_glass_grants (id) {
        id -> Uuid,
        account_id -> Uuid,
        client_person_id -> Uuid,
        reason_code -> Text,
        reason -> Text,
        starts_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    security_policy (id) {
        id -> Bool,
        session_idle_minutes -> Int4,
        session_max_hours -> Int4,
        mfa_required_roles -> Array<Text>,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    oauth_clients (id) {
        id -> Uuid,
        name -> Text,
        secret_hash -> Text,
        scopes -> Array<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sso_identities (connection_id, subject) {
        connection_id -> Uuid,
        subject -> Text,
        account_id -> Uuid,
        groups -> Array<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    scim_groups (id) {
        id -> Uuid,
        connection_id -> Uuid,
        display_name -> Text,
        external_id -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    scim_group_members (group_id, account_id) {
        group_id -> Uuid,
        account_id -> Uuid,
    }
}

diesel::joinable!(sso_identities -> accounts (account_id));
diesel::joinable!(scim_group_members -> scim_groups (group_id));
diesel::joinable!(scim_group_members -> accounts (account_id));
