//! Referral rules: who may create, see, triage, accept, decline and withdraw, and the
//! transaction around each. See `docs/REFERRALS.md`.
//!
//! Visibility follows the calendars ([`crate::scheduling::reach`]): institution admins and
//! front-desk staff see every referral; a sub-admin those whose department, client or assigned
//! provider is inside their subtrees; a provider those assigned to them and those they made; a
//! client their own. Anyone sees the referrals they made. What a caller may not see is not
//! found. A client's view leaves out what others wrote about them (the reason of a referral
//! they did not write, decline and withdrawal reasons, who referred them and who acted).

use crate::idempotency::{IdempotencyKey, claim_key, settle_key};
use std::collections::HashMap;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::model::{
    EventRow, NewReferral, NewReferralRow, REASON_MAX, REFERRER_NAME_MAX, Referral, ReferralEvent,
    ReferralFilter, ReferralRow, ReferralView, STATUS_REASON_MAX, Source, Status, Transition,
    Urgency, text,
};
use super::repo::{self, Visible};
use crate::audit::{self, Actor, Event, Outcome};
use crate::error::{DomainError, DomainResult, FieldError};
use crate::identity::Principal;
use crate::org::model::Person;
use crate::org::repo as org_repo;
use crate::page::{Page, PageRequest};
use crate::scheduling::reach::{self, Reach};
use crate::scheduling::setup::get_type_row;

/// The caller, as the referral rules see them.
struct Scope {
    reach: Reach,
    account: Uuid,
}

type People = HashMap<Uuid, Person>;

impl Scope {
    async fn of(c: &mut AsyncPgConnection, p: &Principal) -> DomainResult<Scope> {
        Ok(Scope {
            reach: reach::reach(c, p).await?,
            account: p.account_id,
        })
    }

    /// Triage staff: institution admins, front desk, sub-admins.
    fn triage(&self) -> bool {
        self.reach.all || !self.reach.departments.is_empty()
    }

    fn in_subtree(&self, department: Option<Uuid>) -> bool {
        department.is_some_and(|d| self.reach.departments.contains(&d))
    }

    /// May triage this referral: assign it, withdraw it.
    fn manages(&self, row: &ReferralRow, people: &People) -> bool {
        let dept_of = |id: Option<Uuid>| id.and_then(|id| people.get(&id)?.department_id);
        self.reach.all
            || self.in_subtree(row.department_id)
            || self.in_subtree(dept_of(Some(row.client_id)))
            || self.in_subtree(dept_of(row.assigned_provider_id))
    }

    fn is_assignee(&self, row: &ReferralRow) -> bool {
        self.reach.own_calendar.is_some() && row.assigned_provider_id == self.reach.own_calendar
    }

    fn is_referrer(&self, row: &ReferralRow) -> bool {
        row.referred_by == Some(self.account)
    }

    fn sees(&self, row: &ReferralRow, people: &People) -> bool {
        self.manages(row, people)
            || self.is_assignee(row)
            || self.is_referrer(row)
            || self.reach.own_bookings == Some(row.client_id)
    }

    /// Sees the referral as the staff side does; otherwise as its client.
    fn staff_view(&self, row: &ReferralRow, people: &People) -> bool {
        self.manages(row, people)
            || self.is_assignee(row)
            || (self.is_referrer(row) && row.source() != Source::OwnSelf)
    }

    fn visible(&self) -> Visible {
        Visible {
            all: self.reach.all,
            departments: self.reach.departments.clone(),
            provider: self.reach.own_calendar,
            client: self.reach.own_bookings,
            account: self.account,
        }
    }
}

/// The clients and providers these rows name.
async fn people_of(c: &mut AsyncPgConnection, rows: &[ReferralRow]) -> DomainResult<People> {
    let mut ids: Vec<Uuid> = rows
        .iter()
        .flat_map(|r| [Some(r.client_id), r.assigned_provider_id])
        .flatten()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(org_repo::get_people(c, &ids)
        .await?
        .into_iter()
        .map(|x| (x.id, x))
        .collect())
}

fn name(people: &People, id: Option<Uuid>) -> Option<String> {
    id.and_then(|id| people.get(&id)).map(reach::display_name)
}

/// `staff`: the caller sees it as the staff side does ([`Scope::staff_view`]).
fn present_one(row: ReferralRow, people: &People, staff: bool) -> Referral {
    let source = row.source();
    Referral {
        id: row.id,
        client_id: row.client_id,
        client_name: name(people, Some(row.client_id)),
        source,
        referred_by: row.referred_by.filter(|_| staff),
        referrer_name: row.referrer_name.clone().filter(|_| staff),
        reason: (staff || source == Source::OwnSelf).then(|| row.reason.clone()),
        urgency: row.urgency(),
        department_id: row.department_id,
        type_id: row.type_id,
        assigned_provider_id: row.assigned_provider_id,
        assigned_provider_name: name(people, row.assigned_provider_id),
        status: row.status(),
        status_reason: row.status_reason.clone().filter(|_| staff),
        created_at: row.created_at,
        updated_at: row.updated_at,
        version: row.version,
    }
}

/// The referral with its history, as this caller may see them.
async fn view(
    c: &mut AsyncPgConnection,
    row: ReferralRow,
    people: &People,
    staff: bool,
) -> DomainResult<ReferralView> {
    let events = repo::events(c, row.id).await?;
    let mut accounts: Vec<Uuid> = events.iter().filter_map(|e| e.actor_account).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let account_people = repo::account_people(c, &accounts).await?;
    let mut ids: Vec<Uuid> = account_people.iter().filter_map(|(_, p)| *p).collect();
    ids.extend(events.iter().filter_map(|e| e.provider_id));
    ids.sort_unstable();
    ids.dedup();
    let named: People = org_repo::get_people(c, &ids)
        .await?
        .into_iter()
        .map(|x| (x.id, x))
        .collect();
    let person_of: HashMap<Uuid, Uuid> = account_people
        .into_iter()
        .filter_map(|(a, p)| Some((a, p?)))
        .collect();
    let history = events
        .into_iter()
        .map(|e| ReferralEvent {
            id: e.id,
            at: e.at,
            actor_account: e.actor_account.filter(|_| staff),
            actor_name: e
                .actor_account
                .and_then(|a| person_of.get(&a).copied())
                .and_then(|p| name(&named, Some(p)))
                .filter(|_| staff),
            from_status: e.from_status.as_deref().and_then(Status::parse),
            to_status: Status::parse(&e.to_status).unwrap_or(Status::New),
            provider_id: e.provider_id,
            provider_name: name(&named, e.provider_id),
            reason: e.reason.filter(|_| staff),
        })
        .collect();
    Ok(ReferralView {
        referral: present_one(row, people, staff),
        history,
    })
}

async fn record_event(
    c: &mut AsyncPgConnection,
    p: &Principal,
    referral: Uuid,
    from: Option<Status>,
    to: Status,
    provider: Option<Uuid>,
    reason: Option<String>,
) -> DomainResult<()> {
    repo::insert_event(
        c,
        &EventRow {
            id: Uuid::now_v7(),
            referral_id: referral,
            at: Utc::now(),
            actor_account: Some(p.account_id),
            from_status: from.map(|s| s.as_str().to_owned()),
            to_status: to.as_str().to_owned(),
            provider_id: provider,
            reason,
        },
    )
    .await?;
    Ok(())
}

/// Records a refused call (whose transaction rolled back) in a transaction of its own.
async fn audit_denied<T>(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    action: &'static str,
    id: Uuid,
    result: &DomainResult<T>,
) -> DomainResult<()> {
    if let Err(DomainError::NotFound(_) | DomainError::Forbidden(_)) = result {
        let event = Event::new(action)
            .on("referral", id)
            .outcome(Outcome::Denied);
        audit::record_alone(tenancy, tenant, &Actor::from(p), event).await?;
    }
    Ok(())
}

fn field(errors: &mut Vec<FieldError>, name: &str, r: Result<String, String>) -> Option<String> {
    match r {
        Ok(v) => Some(v),
        Err(message) => {
            errors.push(FieldError {
                field: name.to_owned(),
                message,
            });
            None
        }
    }
}

/// Creates a referral. Triage staff refer any client they reach (source `organisation`), and
/// may assign a provider at once; a provider refers a client on their care team onward
/// (`provider`); a client refers themselves (`self`).
/// What [`create`] answers.
#[derive(Debug)]
pub struct Made {
    pub referral: ReferralView,
    /// True when an `Idempotency-Key` replayed an earlier request (nothing new was made).
    pub replayed: bool,
}

pub async fn create(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    new: NewReferral,
    key: Option<IdempotencyKey>,
) -> DomainResult<Made> {
    if p.is_integration() {
        return Err(DomainError::Forbidden("integrations cannot make referrals"));
    }
    let result = tenancy
        .tx(tenant, async |c| {
            let s = Scope::of(c, p).await?;
            if let Some(k) = &key
                && let Some(existing) = claim_key(c, p.account_id, "createReferral", k).await?
            {
                // The first request made it; this one answers with it as it is now (a read).
                let (row, people) = visible(c, &s, existing, false).await?;
                let client = row.client_id;
                let staff = s.staff_view(&row, &people);
                let referral = view(c, row, &people, staff).await?;
                audit::record(
                    c,
                    &Actor::from(p),
                    Event::new("referral.read")
                        .on("referral", existing)
                        .subjects([client])
                        .detail("replayed", true),
                )
                .await?;
                return Ok(Made {
                    referral,
                    replayed: true,
                });
            }
            let mut errors = Vec::new();
            let source = if s.triage() {
                Source::Organisation
            } else if s.reach.own_calendar.is_some() {
                Source::Provider
            } else if s.reach.own_bookings.is_some() {
                Source::OwnSelf
            } else {
                return Err(DomainError::Forbidden(
                    "referrals are made by staff, providers and clients",
                ));
            };
            let reason = field(&mut errors, "/reason", text(&new.reason, REASON_MAX));
            let referrer_name = match &new.referrer_name {
                Some(n) => field(&mut errors, "/referrer_name", text(n, REFERRER_NAME_MAX)),
                None => None,
            };
            let client_id = match (source, new.client_id) {
                (Source::OwnSelf, None) => s.reach.own_bookings,
                (Source::OwnSelf, Some(id)) if Some(id) == s.reach.own_bookings => Some(id),
                (Source::OwnSelf, Some(_)) => {
                    errors.push(FieldError {
                        field: "/client_id".into(),
                        message: "a client may refer only themselves".into(),
                    });
                    None
                }
                (_, None) => {
                    errors.push(FieldError {
                        field: "/client_id".into(),
                        message: "is required".into(),
                    });
                    None
                }
                (_, Some(id)) => match reach::client(c, id, "/client_id").await {
                    Ok(_) => Some(id),
                    Err(DomainError::Invalid(mut e)) => {
                        errors.append(&mut e);
                        None
                    }
                    Err(e) => return Err(e),
                },
            };
            if let (Source::Provider, Some(client), Some(me)) =
                (source, client_id, s.reach.own_calendar)
                && !repo::on_care_team(c, me, client).await?
            {
                errors.push(FieldError {
                    field: "/client_id".into(),
                    message: "is not on your care team".into(),
                });
            }
            if let Some(d) = new.department_id
                && org_repo::get_department(c, d).await?.is_none()
            {
                errors.push(FieldError {
                    field: "/department_id".into(),
                    message: "no such department".into(),
                });
            }
            if let Some(t) = new.type_id
                && get_type_row(c, t).await?.is_none()
            {
                errors.push(FieldError {
                    field: "/type_id".into(),
                    message: "no such appointment type".into(),
                });
            }
            if let Some(pr) = new.assigned_provider_id {
                if source != Source::Organisation {
                    errors.push(FieldError {
                        field: "/assigned_provider_id".into(),
                        message: "only triage staff assign a provider".into(),
                    });
                } else if let Err(DomainError::Invalid(mut e)) =
                    reach::provider(c, pr, "/assigned_provider_id").await
                {
                    errors.append(&mut e);
                }
            }
            let (Some(reason), Some(client_id), true) = (reason, client_id, errors.is_empty())
            else {
                return Err(DomainError::Invalid(errors));
            };
            let status = if new.assigned_provider_id.is_some() {
                Status::Assigned
            } else {
                Status::New
            };
            let row = NewReferralRow {
                id: Uuid::now_v7(),
                client_id,
                source: source.as_str(),
                referred_by: Some(p.account_id),
                referrer_name,
                reason,
                urgency: new.urgency.unwrap_or(Urgency::Routine).as_str(),
                department_id: new.department_id,
                type_id: new.type_id,
                assigned_provider_id: new.assigned_provider_id,
                status: status.as_str(),
            };
            let row = repo::insert(c, &row).await?;
            let people = people_of(c, std::slice::from_ref(&row)).await?;
            if source == Source::Organisation && !s.manages(&row, &people) {
                return Err(DomainError::Forbidden(
                    "a sub-admin refers only within the departments they manage",
                ));
            }
            record_event(c, p, row.id, None, status, row.assigned_provider_id, None).await?;
            if let Some(k) = &key {
                settle_key(c, p.account_id, &k.key, row.id).await?;
            }
            let id = row.id;
            let client = row.client_id;
            let staff = s.staff_view(&row, &people);
            let v = view(c, row, &people, staff).await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("referral.create")
                    .on("referral", id)
                    .subjects([client])
                    .detail("source", source.as_str())
                    .detail("status", status.as_str()),
            )
            .await?;
            Ok(Made {
                referral: v,
                replayed: false,
            })
        })
        .await;
    if let Err(DomainError::Forbidden(_)) = &result {
        let event = Event::new("referral.create").outcome(Outcome::Denied);
        audit::record_alone(tenancy, tenant, &Actor::from(p), event).await?;
    }
    result
}

pub async fn get(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<ReferralView> {
    let result = tenancy
        .tx(tenant, async |c| {
            let s = Scope::of(c, p).await?;
            let (row, people) = visible(c, &s, id, false).await?;
            let client = row.client_id;
            let staff = s.staff_view(&row, &people);
            let v = view(c, row, &people, staff).await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("referral.read")
                    .on("referral", id)
                    .subjects([client]),
            )
            .await?;
            Ok(v)
        })
        .await;
    audit_denied(tenancy, tenant, p, "referral.read", id, &result).await?;
    result
}

/// The referral and the people it names, if the caller may see it (404 otherwise).
async fn visible(
    c: &mut AsyncPgConnection,
    s: &Scope,
    id: Uuid,
    lock: bool,
) -> DomainResult<(ReferralRow, People)> {
    let row = repo::get(c, id, lock)
        .await?
        .ok_or(DomainError::NotFound("referral"))?;
    let people = people_of(c, std::slice::from_ref(&row)).await?;
    if !s.sees(&row, &people) {
        return Err(DomainError::NotFound("referral"));
    }
    Ok((row, people))
}

/// Referrals the caller may see, urgent first, then oldest first.
pub async fn list(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    f: ReferralFilter,
    page: PageRequest,
) -> DomainResult<Page<Referral>> {
    if p.is_integration() {
        return Err(DomainError::Forbidden("integrations cannot read referrals"));
    }
    tenancy
        .tx(tenant, async |c| {
            let s = Scope::of(c, p).await?;
            let after_urgency = match page.after {
                Some(after) => Some(
                    repo::urgency_of(c, after)
                        .await?
                        .ok_or_else(|| DomainError::invalid("after", "is not a referral"))?,
                ),
                None => None,
            };
            let rows = repo::list(c, &s.visible(), &f, page, after_urgency.as_deref()).await?;
            let rows = Page::from_overfetch(rows, page.limit, |r| r.id);
            let people = people_of(c, &rows.items).await?;
            let mut subjects: Vec<Uuid> = rows.items.iter().map(|r| r.client_id).collect();
            subjects.sort_unstable();
            subjects.dedup();
            if !subjects.is_empty() {
                audit::record(
                    c,
                    &Actor::from(p),
                    Event::new("referral.list").subjects(subjects),
                )
                .await?;
            }
            Ok(Page {
                items: rows
                    .items
                    .into_iter()
                    .map(|r| {
                        let staff = s.staff_view(&r, &people);
                        present_one(r, &people, staff)
                    })
                    .collect(),
                next_after: rows.next_after,
            })
        })
        .await
}

/// Moves a referral along its lifecycle (see [`Transition`]); `expected_version` is the
/// caller's `If-Match`. Checks in order: visible (404), allowed (403), current (412), input
/// (422), legal from the current status (409).
pub async fn transition(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
    expected_version: i32,
    t: Transition,
) -> DomainResult<ReferralView> {
    let (action, verb) = t.verb();
    let result = tenancy
        .tx(tenant, async |c| {
            let s = Scope::of(c, p).await?;
            let (row, people) = visible(c, &s, id, true).await?;
            let allowed = match t {
                Transition::Assign { .. } => s.manages(&row, &people),
                Transition::Accept | Transition::Decline { .. } => s.reach.own_calendar.is_some(),
                Transition::Withdraw { .. } => s.manages(&row, &people) || s.is_referrer(&row),
            };
            if !allowed {
                return Err(DomainError::Forbidden(match t {
                    Transition::Assign { .. } => "only triage staff assign referrals",
                    Transition::Accept | Transition::Decline { .. } => {
                        "only the assigned provider accepts or declines a referral"
                    }
                    Transition::Withdraw { .. } => {
                        "only triage staff or the referrer withdraw a referral"
                    }
                }));
            }
            if row.version != expected_version {
                return Err(DomainError::PreconditionFailed {
                    expected: expected_version,
                    current: row.version,
                });
            }
            // Inputs.
            let reason = match &t {
                Transition::Decline { reason } | Transition::Withdraw { reason } => Some(
                    text(reason, STATUS_REASON_MAX)
                        .map_err(|m| DomainError::invalid("/reason", m))?,
                ),
                _ => None,
            };
            if let Transition::Assign { provider_id } = t {
                reach::provider(c, provider_id, "/provider_id").await?;
            }
            // The lifecycle.
            let from = row.status();
            let legal = match t {
                Transition::Assign { .. } => matches!(from, Status::New | Status::Declined),
                Transition::Accept | Transition::Decline { .. } => from == Status::Assigned,
                Transition::Withdraw { .. } => from.is_open(),
            };
            if !legal {
                return Err(DomainError::Conflict(format!(
                    "a referral that is {} cannot be {verb}",
                    from.as_str()
                )));
            }
            if matches!(t, Transition::Accept | Transition::Decline { .. }) && !s.is_assignee(&row)
            {
                return Err(DomainError::Forbidden(
                    "only the assigned provider accepts or declines a referral",
                ));
            }
            let (to, provider, event_provider) = match t {
                Transition::Assign { provider_id } => {
                    (Status::Assigned, Some(provider_id), Some(provider_id))
                }
                Transition::Accept => (
                    Status::Accepted,
                    row.assigned_provider_id,
                    row.assigned_provider_id,
                ),
                Transition::Decline { .. } => (Status::Declined, None, row.assigned_provider_id),
                Transition::Withdraw { .. } => (Status::Withdrawn, None, row.assigned_provider_id),
            };
            let updated =
                repo::set_status(c, id, expected_version, to, provider, reason.as_deref())
                    .await?
                    .ok_or(DomainError::PreconditionFailed {
                        expected: expected_version,
                        current: row.version,
                    })?;
            if let (Status::Accepted, Some(provider)) = (to, provider) {
                repo::join_care_team(c, provider, row.client_id, p.account_id).await?;
            }
            record_event(c, p, id, Some(from), to, event_provider, reason).await?;
            // The caller is answered with the view they had before the change (a declining
            // provider is no longer the assignee).
            let staff = s.staff_view(&row, &people);
            let people = people_of(c, std::slice::from_ref(&updated)).await?;
            let v = view(c, updated, &people, staff).await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new(action)
                    .on("referral", id)
                    .subjects([row.client_id])
                    .detail("from", from.as_str())
                    .detail("to", to.as_str()),
            )
            .await?;
            Ok(v)
        })
        .await;
    audit_denied(tenancy, tenant, p, action, id, &result).await?;
    result
}
