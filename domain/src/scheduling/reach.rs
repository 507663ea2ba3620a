//! Who may see and manage which calendars and appointments.
//!
//! * institution admin and front-desk staff: every provider's calendar;
//! * sub-admin: providers whose department is inside their subtrees;
//! * provider: their own calendar;
//! * client: their own appointments (and booking for themselves, per tenant policy).
//!
//! Integrations (OAuth clients) have no scheduling scope yet and reach nothing. What a caller
//! may not see is reported as not found.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::{DomainError, DomainResult};
use crate::identity::{Principal, Role};
use crate::org::model::{Person, PersonKind, PersonStatus};
use crate::org::repo as org_repo;
use crate::schema::people;

#[derive(Clone, Debug, Default)]
pub struct Reach {
    /// Every calendar in the tenant.
    pub all: bool,
    /// Calendars of providers in these departments (a sub-admin's subtrees).
    pub departments: Vec<Uuid>,
    /// The caller's own calendar, as a provider.
    pub own_calendar: Option<Uuid>,
    /// The caller's own bookings, as a client.
    pub own_bookings: Option<Uuid>,
}

impl Reach {
    pub fn staff_side(&self) -> bool {
        self.all || !self.departments.is_empty() || self.own_calendar.is_some()
    }

    /// May manage (approve, check in, complete, move) appointments on this provider's calendar.
    pub fn manages(&self, provider: &Person) -> bool {
        self.all
            || provider
                .department_id
                .is_some_and(|d| self.departments.contains(&d))
            || self.own_calendar == Some(provider.id)
    }

    /// May see this appointment at all.
    pub fn sees(&self, provider: &Person, client_id: Uuid) -> bool {
        self.manages(provider) || self.own_bookings == Some(client_id)
    }
}

pub async fn reach(c: &mut AsyncPgConnection, p: &Principal) -> DomainResult<Reach> {
    let mut r = Reach::default();
    if p.is_integration() {
        return Ok(r);
    }
    r.all = p.has(Role::InstitutionAdmin) || p.has(Role::Staff);
    if !r.all && p.has(Role::SubAdmin) {
        r.departments = org_repo::subtree_ids(c, &p.sub_admin_roots()).await?;
    }
    if p.has(Role::Provider) {
        r.own_calendar = p.person_id;
    }
    if p.has(Role::Client) {
        r.own_bookings = p.person_id;
    }
    Ok(r)
}

/// An active provider of this tenant, or an invalid-field error naming `field`.
pub async fn provider(c: &mut AsyncPgConnection, id: Uuid, field: &str) -> DomainResult<Person> {
    org_repo::get_person(c, id)
        .await?
        .filter(|x| x.kind == PersonKind::Provider && x.status == PersonStatus::Active)
        .ok_or_else(|| {
            DomainError::invalid(field, "is not an active provider of this organisation")
        })
}

/// An active client of this tenant, or an invalid-field error naming `field`.
pub async fn client(c: &mut AsyncPgConnection, id: Uuid, field: &str) -> DomainResult<Person> {
    org_repo::get_person(c, id)
        .await?
        .filter(|x| x.kind == PersonKind::Client && x.status == PersonStatus::Active)
        .ok_or_else(|| DomainError::invalid(field, "is not an active client of this organisation"))
}

/// Providers whose calendars this reach manages (for list filters). `None` = all.
pub async fn managed_providers(
    c: &mut AsyncPgConnection,
    r: &Reach,
) -> DomainResult<Option<Vec<Uuid>>> {
    if r.all {
        return Ok(None);
    }
    let mut ids: Vec<Uuid> = if r.departments.is_empty() {
        Vec::new()
    } else {
        people::table
            .filter(people::kind.eq("provider"))
            .filter(people::department_id.eq_any(&r.departments))
            .select(people::id)
            .load(c)
            .await?
    };
    ids.extend(r.own_calendar);
    Ok(Some(ids))
}

/// "Given Family" for display.
pub fn display_name(p: &Person) -> String {
    format!("{} {}", p.given_name, p.family_name)
}
