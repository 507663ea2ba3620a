//! A provider's caseload ("My clients"): the clients on the provider's care team, each with
//! their next and their last appointment with that provider.
//!
//! Who may read it follows the calendars ([`super::reach`]): the provider for their own
//! caseload, and those who manage the provider's calendar (institution admins, front-desk
//! staff, sub-admins of the provider's department). A client is refused before any lookup; a
//! provider the caller does not manage reads as not found. The read is audited as
//! `care_team.list`, naming the clients on the page.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::booking::present;
use super::model::{Appointment, AppointmentRow, Status};
use super::reach::{Reach, reach};
use super::schema::appointments;
use crate::audit::{self, Actor, Event};
use crate::error::{DomainError, DomainResult};
use crate::identity::Principal;
use crate::org::model::{Person, PersonKind};
use crate::org::repo as org_repo;
use crate::page::{Page, PageRequest};
use crate::schema::care_team;

/// One client of the caseload.
#[derive(Clone, Debug)]
pub struct CaseloadClient {
    pub client: Person,
    /// The earliest appointment with the provider that has not started (requested, booked or
    /// already checked in).
    pub next: Option<Appointment>,
    /// The latest appointment with the provider that has started (not cancelled or still
    /// awaiting approval).
    pub last: Option<Appointment>,
}

/// The provider's care-team clients, in id order (keyset paged by client id).
pub async fn list(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    provider_id: Uuid,
    page: PageRequest,
) -> DomainResult<Page<CaseloadClient>> {
    tenancy
        .tx(tenant, async |c| {
            let r = reach(c, p).await?;
            if !r.staff_side() {
                return Err(DomainError::Forbidden(
                    "caseloads are for providers and those who manage their calendars",
                ));
            }
            org_repo::get_person(c, provider_id)
                .await?
                .filter(|x| x.kind == PersonKind::Provider && r.manages(x))
                .ok_or(DomainError::NotFound("provider"))?;
            let mut q = care_team::table
                .filter(care_team::provider_person_id.eq(provider_id))
                .select(care_team::client_person_id)
                .order(care_team::client_person_id)
                .limit(page.limit + 1)
                .into_boxed();
            if let Some(after) = page.after {
                q = q.filter(care_team::client_person_id.gt(after));
            }
            let ids: Vec<Uuid> = q.load(c).await?;
            let ids = Page::from_overfetch(ids, page.limit, |id| *id);
            let people = org_repo::get_people(c, &ids.items).await?;
            let (mut next, mut last) = next_and_last(c, &r, provider_id, &ids.items).await?;
            let subjects: Vec<Uuid> = people.iter().map(|x| x.id).collect();
            if !subjects.is_empty() {
                audit::record(
                    c,
                    &Actor::from(p),
                    Event::new("care_team.list")
                        .on("person", provider_id)
                        .subjects(subjects),
                )
                .await?;
            }
            Ok(Page {
                items: people
                    .into_iter()
                    .map(|client| CaseloadClient {
                        next: next.remove(&client.id),
                        last: last.remove(&client.id),
                        client,
                    })
                    .collect(),
                next_after: ids.next_after,
            })
        })
        .await
}

type ByClient = HashMap<Uuid, Appointment>;

/// Each client's next and last appointment with the provider: two `DISTINCT ON` queries.
async fn next_and_last(
    c: &mut AsyncPgConnection,
    r: &Reach,
    provider_id: Uuid,
    clients: &[Uuid],
) -> DomainResult<(ByClient, ByClient)> {
    if clients.is_empty() {
        return Ok((HashMap::new(), HashMap::new()));
    }
    let now = Utc::now();
    let upcoming = [Status::Requested, Status::Booked, Status::CheckedIn].map(Status::as_str);
    let happened = [
        Status::Booked,
        Status::CheckedIn,
        Status::Completed,
        Status::NoShow,
    ]
    .map(Status::as_str);
    let next: Vec<AppointmentRow> = appointments::table
        .filter(appointments::provider_id.eq(provider_id))
        .filter(appointments::client_id.eq_any(clients))
        .filter(appointments::starts_at.ge(now))
        .filter(appointments::status.eq_any(upcoming))
        .distinct_on(appointments::client_id)
        .order((appointments::client_id, appointments::starts_at.asc()))
        .select(AppointmentRow::as_select())
        .load(c)
        .await?;
    let last: Vec<AppointmentRow> = appointments::table
        .filter(appointments::provider_id.eq(provider_id))
        .filter(appointments::client_id.eq_any(clients))
        .filter(appointments::starts_at.lt(now))
        .filter(appointments::status.eq_any(happened))
        .distinct_on(appointments::client_id)
        .order((appointments::client_id, appointments::starts_at.desc()))
        .select(AppointmentRow::as_select())
        .load(c)
        .await?;
    let by_client = |v: Vec<Appointment>| v.into_iter().map(|a| (a.row.client_id, a)).collect();
    Ok((
        by_client(present(c, r, next).await?),
        by_client(present(c, r, last).await?),
    ))
}
