//! Diesel queries for referrals. Every function takes a connection already inside
//! `Tenancy::tx`.

use diesel::dsl::exists;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{EventRow, NewReferralRow, ReferralFilter, ReferralRow, Status};
use super::schema::{referral_events, referrals};
use crate::page::PageRequest;
use crate::schema::{accounts, care_team, people};

pub async fn get(
    c: &mut AsyncPgConnection,
    id: Uuid,
    lock: bool,
) -> QueryResult<Option<ReferralRow>> {
    let q = referrals::table.find(id).select(ReferralRow::as_select());
    if lock {
        q.for_update().first(c).await.optional()
    } else {
        q.first(c).await.optional()
    }
}

pub async fn insert(c: &mut AsyncPgConnection, row: &NewReferralRow) -> QueryResult<ReferralRow> {
    diesel::insert_into(referrals::table)
        .values(row)
        .returning(ReferralRow::as_returning())
        .get_result(c)
        .await
}

pub async fn insert_event(c: &mut AsyncPgConnection, e: &EventRow) -> QueryResult<()> {
    diesel::insert_into(referral_events::table)
        .values(e)
        .execute(c)
        .await
        .map(|_| ())
}

pub async fn events(c: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<EventRow>> {
    referral_events::table
        .filter(referral_events::referral_id.eq(id))
        .order((referral_events::at, referral_events::id))
        .select(EventRow::as_select())
        .load(c)
        .await
}

/// Sets the status (and what goes with it) if the row is still at `expected`.
pub async fn set_status(
    c: &mut AsyncPgConnection,
    id: Uuid,
    expected: i32,
    status: Status,
    provider: Option<Uuid>,
    status_reason: Option<&str>,
) -> QueryResult<Option<ReferralRow>> {
    diesel::update(referrals::table.find(id))
        .filter(referrals::version.eq(expected))
        .set((
            referrals::status.eq(status.as_str()),
            referrals::assigned_provider_id.eq(provider),
            referrals::status_reason.eq(status_reason),
            referrals::version.eq(referrals::version + 1),
            referrals::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ReferralRow::as_returning())
        .get_result(c)
        .await
        .optional()
}

pub async fn on_care_team(
    c: &mut AsyncPgConnection,
    provider: Uuid,
    client: Uuid,
) -> QueryResult<bool> {
    diesel::select(exists(
        care_team::table
            .filter(care_team::provider_person_id.eq(provider))
            .filter(care_team::client_person_id.eq(client)),
    ))
    .get_result(c)
    .await
}

pub async fn join_care_team(
    c: &mut AsyncPgConnection,
    provider: Uuid,
    client: Uuid,
    by: Uuid,
) -> QueryResult<()> {
    diesel::insert_into(care_team::table)
        .values((
            care_team::client_person_id.eq(client),
            care_team::provider_person_id.eq(provider),
            care_team::assigned_by.eq(by),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await
        .map(|_| ())
}

/// The directory entries behind these accounts: account id → person id.
pub async fn account_people(
    c: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, Option<Uuid>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    accounts::table
        .filter(accounts::id.eq_any(ids))
        .select((accounts::id, accounts::person_id))
        .load(c)
        .await
}

/// Which referrals a caller may list (the SQL form of `service::Scope::sees`).
#[derive(Clone, Debug, Default)]
pub struct Visible {
    pub all: bool,
    /// A sub-admin's subtrees: the referral's department, its client's or its provider's.
    pub departments: Vec<Uuid>,
    /// Assigned to this provider.
    pub provider: Option<Uuid>,
    /// About this client.
    pub client: Option<Uuid>,
    /// Made by this account.
    pub account: Uuid,
}

type Cond = Box<dyn BoxableExpression<referrals::table, Pg, SqlType = diesel::sql_types::Bool>>;

fn visible_condition(v: &Visible) -> Cond {
    let mut cond: Cond = Box::new(referrals::referred_by.eq(v.account).assume_not_null());
    if !v.departments.is_empty() {
        let in_subtree = people::table
            .filter(people::department_id.eq_any(v.departments.clone()))
            .select(people::id);
        let in_subtree_nullable = people::table
            .filter(people::department_id.eq_any(v.departments.clone()))
            .select(people::id.nullable());
        cond = Box::new(
            cond.or(referrals::department_id
                .eq_any(v.departments.clone())
                .assume_not_null())
                .or(referrals::client_id.eq_any(in_subtree))
                .or(referrals::assigned_provider_id
                    .eq_any(in_subtree_nullable)
                    .assume_not_null()),
        );
    }
    if let Some(me) = v.provider {
        cond = Box::new(cond.or(referrals::assigned_provider_id.eq(me).assume_not_null()));
    }
    if let Some(me) = v.client {
        cond = Box::new(cond.or(referrals::client_id.eq(me)));
    }
    cond
}

/// Urgent first, then oldest first (ids are UUID v7), keyset paged: `after` is the last id of
/// the previous page and `after_urgency` its urgency.
pub async fn list(
    c: &mut AsyncPgConnection,
    v: &Visible,
    f: &ReferralFilter,
    page: PageRequest,
    after_urgency: Option<&str>,
) -> QueryResult<Vec<ReferralRow>> {
    let mut q = referrals::table.into_boxed();
    if !v.all {
        q = q.filter(visible_condition(v));
    }
    if !f.statuses.is_empty() {
        q = q.filter(referrals::status.eq_any(f.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(id) = f.assigned_provider_id {
        q = q.filter(referrals::assigned_provider_id.eq(id));
    }
    if let Some(id) = f.department_id {
        q = q.filter(referrals::department_id.eq(id));
    }
    if let Some(u) = f.urgency {
        q = q.filter(referrals::urgency.eq(u.as_str()));
    }
    if let (Some(after), Some(u)) = (page.after, after_urgency) {
        // 'urgent' sorts after 'routine', so descending puts it first.
        q = q.filter(
            referrals::urgency.lt(u.to_owned()).or(referrals::urgency
                .eq(u.to_owned())
                .and(referrals::id.gt(after))),
        );
    }
    q.order((referrals::urgency.desc(), referrals::id.asc()))
        .limit(page.limit + 1)
        .select(ReferralRow::as_select())
        .load(c)
        .await
}

pub async fn urgency_of(c: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<String>> {
    referrals::table
        .find(id)
        .select(referrals::urgency)
        .first(c)
        .await
        .optional()
}
