//! Identity queries. Every function takes a connection already inside `Tenancy::tx`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{Role, RoleGrant};
use crate::schema::{accounts, lower, one_time_tokens, refresh_tokens, role_grants, sessions};

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: Uuid,
    pub person_id: Option<Uuid>,
    pub email: String,
    pub password_hash: Option<String>,
    pub status: String,
}

pub async fn find_account_by_email(
    c: &mut AsyncPgConnection,
    email: &str,
) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .filter(lower(accounts::email).eq(lower(email)))
        .select(AccountRow::as_select())
        .first(c)
        .await
        .optional()
}

pub async fn find_account(c: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .first(c)
        .await
        .optional()
}

pub async fn insert_account(
    c: &mut AsyncPgConnection,
    id: Uuid,
    person_id: Option<Uuid>,
    email: &str,
) -> QueryResult<()> {
    diesel::insert_into(accounts::table)
        .values((
            accounts::id.eq(id),
            accounts::person_id.eq(person_id),
            accounts::email.eq(email),
            accounts::status.eq("invited"),
        ))
        .execute(c)
        .await
        .map(|_| ())
}

pub async fn activate_with_password(
    c: &mut AsyncPgConnection,
    id: Uuid,
    phc: &str,
) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::password_hash.eq(phc),
            accounts::status.eq("active"),
            accounts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(c)
        .await
        .map(|_| ())
}

pub async fn grant(c: &mut AsyncPgConnection, account_id: Uuid, g: &RoleGrant) -> QueryResult<()> {
    diesel::insert_into(role_grants::table)
        .values((
            role_grants::account_id.eq(account_id),
            role_grants::role.eq(g.role.as_str()),
            role_grants::department_id.eq(g.department_id),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await
        .map(|_| ())
}

pub async fn grants_of(c: &mut AsyncPgConnection, account_id: Uuid) -> QueryResult<Vec<RoleGrant>> {
    let rows: Vec<(String, Option<Uuid>)> = role_grants::table
        .filter(role_grants::account_id.eq(account_id))
        .select((role_grants::role, role_grants::department_id))
        .order((role_grants::role, role_grants::department_id))
        .load(c)
        .await?;
    // An unknown role string cannot pass the table's CHECK; skip rather than grant anything.
    Ok(rows
        .into_iter()
        .filter_map(|(r, d)| {
            Role::parse(&r).map(|role| RoleGrant {
                role,
                department_id: d,
            })
        })
        .collect())
}

pub async fn insert_one_time_token(
    c: &mut AsyncPgConnection,
    digest: &[u8],
    account_id: Uuid,
    purpose: &str,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(one_time_tokens::table)
        .values((
            one_time_tokens::token_hash.eq(digest),
            one_time_tokens::account_id.eq(account_id),
            one_time_tokens::purpose.eq(purpose),
            one_time_tokens::expires_at.eq(expires_at),
        ))
        .execute(c)
        .await
        .map(|_| ())
}

/// Marks an unused, unexpired token of one of `purposes` used and returns its account.
/// The UPDATE … WHERE used_at IS NULL makes concurrent redemptions race-free: one wins.
pub async fn redeem_one_time_token(
    c: &mut AsyncPgConnection,
    digest: &[u8],
    purposes: &[&str],
) -> QueryResult<Option<Uuid>> {
    diesel::update(
        one_time_tokens::table
            .filter(one_time_tokens::token_hash.eq(digest))
            .filter(one_time_tokens::purpose.eq_any(purposes))
            .filter(one_time_tokens::used_at.is_null())
            .filter(one_time_tokens::expires_at.gt(diesel::dsl::now)),
    )
    .set(one_time_tokens::used_at.eq(diesel::dsl::now))
    .returning(one_time_tokens::account_id)
    .get_result(c)
    .await
    .optional()
}

/// Invalidates every outstanding token of this account and purpose (a new one replaces them).
pub async fn expire_tokens(
    c: &mut AsyncPgConnection,
    account_id: Uuid,
    purpose: &str,
) -> QueryResult<()> {
    diesel::update(
        one_time_tokens::table
            .filter(one_time_tokens::account_id.eq(account_id))
            .filter(one_time_tokens::purpose.eq(purpose))
            .filter(one_time_tokens::used_at.is_null()),
    )
    .set(one_time_tokens::expires_at.eq(diesel::dsl::now))
    .execute(c)
    .await
    .map(|_| ())
}

pub async fn insert_session(
    c: &mut AsyncPgConnection,
    id: Uuid,
    account_id: Uuid,
    expires_at: DateTime<Utc>,
    mfa_enrolment_required: bool,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::account_id.eq(account_id),
            sessions::expires_at.eq(expires_at),
            sessions::mfa_enrolment_required.eq(mfa_enrolment_required),
        ))
        .execute(c)
        .await
        .map(|_| ())
}

pub async fn insert_refresh(
    c: &mut AsyncPgConnection,
    digest: &[u8],
    session_id: Uuid,
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(digest),
            refresh_tokens::session_id.eq(session_id),
        ))
        .execute(c)
        .await
        .map(|_| ())
}

/// The session a refresh token belongs to, whether or not the token was used already.
pub async fn find_refresh(c: &mut AsyncPgConnection, digest: &[u8]) -> QueryResult<Option<Uuid>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(digest))
        .select(refresh_tokens::session_id)
        .first(c)
        .await
        .optional()
}

/// Marks an unused refresh token used; false when it was used already (a replay, or a race
/// with a concurrent refresh — both treated as reuse).
pub async fn use_refresh(c: &mut AsyncPgConnection, digest: &[u8]) -> QueryResult<bool> {
    let n = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(digest))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(diesel::dsl::now))
    .execute(c)
    .await?;
    Ok(n == 1)
}

#[derive(Queryable, Debug, Clone)]
pub struct SessionInfo {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An account's sessions that are unrevoked, unexpired and not idle past `idle_cutoff`.
pub async fn live_sessions(
    c: &mut AsyncPgConnection,
    account_id: Uuid,
    idle_cutoff: DateTime<Utc>,
) -> QueryResult<Vec<SessionInfo>> {
    sessions::table
        .filter(sessions::account_id.eq(account_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(diesel::dsl::now))
        .filter(sessions::last_seen_at.gt(idle_cutoff))
        .order(sessions::created_at.desc())
        .select((
            sessions::id,
            sessions::created_at,
            sessions::last_seen_at,
            sessions::expires_at,
        ))
        .load(c)
        .await
}

/// Revokes one of an account's sessions; false when it is not theirs or already ended.
pub async fn revoke_session_of(
    c: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
) -> QueryResult<bool> {
    let n = diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::account_id.eq(account_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(diesel::dsl::now))
    .execute(c)
    .await?;
    Ok(n == 1)
}

#[derive(Queryable, Debug)]
pub struct LiveSession {
    pub session_id: Uuid,
    pub account_id: Uuid,
    pub person_id: Option<Uuid>,
    pub email: String,
    pub expires_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub mfa_enrolment_required: bool,
}

/// A session that is unrevoked, unexpired, not idle for longer than `idle_cutoff`, and whose
/// account is active.
pub async fn find_live_session(
    c: &mut AsyncPgConnection,
    session_id: Uuid,
    idle_cutoff: DateTime<Utc>,
) -> QueryResult<Option<LiveSession>> {
    sessions::table
        .inner_join(accounts::table)
        .filter(sessions::id.eq(session_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(diesel::dsl::now))
        .filter(sessions::last_seen_at.gt(idle_cutoff))
        .filter(accounts::status.eq("active"))
        .select((
            sessions::id,
            sessions::account_id,
            accounts::person_id,
            accounts::email,
            sessions::expires_at,
            sessions::last_seen_at,
            sessions::mfa_enrolment_required,
        ))
        .first(c)
        .await
        .optional()
}

pub async fn touch_session(c: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::last_seen_at.eq(diesel::dsl::now))
        .execute(c)
        .await
        .map(|_| ())
}

pub async fn revoke_session(c: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(diesel::dsl::now))
    .execute(c)
    .await
    .map(|_| ())
}

pub async fn set_password(c: &mut AsyncPgConnection, id: Uuid, phc: &str) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::password_hash.eq(phc),
            accounts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(c)
        .await
        .map(|_| ())
}

/// Ends every session of an account (password reset, "sign out everywhere").
pub async fn revoke_all_sessions(
    c: &mut AsyncPgConnection,
    account_id: Uuid,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::account_id.eq(account_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(diesel::dsl::now))
    .execute(c)
    .await
}

pub async fn find_account_by_person(
    c: &mut AsyncPgConnection,
    person_id: Uuid,
) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .filter(accounts::person_id.eq(person_id))
        .select(AccountRow::as_select())
        .first(c)
        .await
        .optional()
}

/// The account enrolled an authenticator: its sessions are no longer restricted.
pub async fn clear_mfa_enrolment_required(
    c: &mut AsyncPgConnection,
    account_id: Uuid,
) -> QueryResult<()> {
    diesel::update(sessions::table.filter(sessions::account_id.eq(account_id)))
        .set(sessions::mfa_enrolment_required.eq(false))
        .execute(c)
        .await
        .map(|_| ())
}
