//! A client's own contact preferences: the mobile number and the consent to reminders by text
//! message on their directory entry.
//!
//! Staff and administrators change these on the entry itself (`org::service::update_person`);
//! this is the client's door to the same two fields, and only a client's: anyone else is
//! refused before any lookup (their own number, if any, is the administrators' to keep). The
//! rules are the same as the directory's: a number is a valid international number kept in
//! E.164, and consent needs a number. Reminders read the consent when they are sent
//! (`scheduling::reminders`), so a withdrawal stops every text not yet sent.
//!
//! Reads are audited as `contact.read`, changes as `contact.update` (details: whether the
//! number changed, and the consent after the change; never the number), refusals as denied.

use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::model::{Person, PersonKind, PersonPatch, Phone};
use super::repo;
use crate::audit::{self, Actor, Event, Outcome};
use crate::error::{DomainError, DomainResult};
use crate::identity::{Principal, Role};

/// A change to one's own contact preferences; `phone: Some(None)` removes the number.
#[derive(Clone, Debug, Default)]
pub struct ContactPatch {
    pub phone: Option<Option<Phone>>,
    pub sms_reminders: Option<bool>,
}

/// The caller's own client entry id, or 403 for anyone who is not a client (checked without
/// touching the database).
fn own_client_id(p: &Principal) -> DomainResult<Uuid> {
    if p.is_integration() || !p.has(Role::Client) {
        return Err(DomainError::Forbidden(
            "contact preferences here are a client's own; staff change them in the directory",
        ));
    }
    p.person_id.ok_or(DomainError::NotFound("person"))
}

async fn denied<T>(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    action: &'static str,
    result: &DomainResult<T>,
) -> DomainResult<()> {
    if let Err(DomainError::NotFound(_) | DomainError::Forbidden(_)) = result {
        let mut event = Event::new(action).outcome(Outcome::Denied);
        if let Some(me) = p.person_id {
            event = event.on("person", me);
        }
        audit::record_alone(tenancy, tenant, &Actor::from(p), event).await?;
    }
    Ok(())
}

/// The caller's own entry (a client's), whose `phone`, `sms_reminders` and `version` are the
/// contact preferences.
pub async fn get_own(tenancy: &Tenancy, tenant: &TenantRef, p: &Principal) -> DomainResult<Person> {
    let result = async {
        let me = own_client_id(p)?;
        tenancy
            .tx(tenant, async |c| {
                let person = repo::get_person(c, me)
                    .await?
                    .filter(|x| x.kind == PersonKind::Client)
                    .ok_or(DomainError::NotFound("person"))?;
                let event = Event::new("contact.read").on("person", me).subjects([me]);
                audit::record(c, &Actor::from(p), event).await?;
                Ok(person)
            })
            .await
    }
    .await;
    denied(tenancy, tenant, p, "contact.read", &result).await?;
    result
}

/// Changes the caller's own number and consent (`If-Match`: the entry's version).
pub async fn update_own(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    expected_version: i32,
    patch: ContactPatch,
) -> DomainResult<Person> {
    let result = async {
        let me = own_client_id(p)?;
        tenancy
            .tx(tenant, async |c| {
                let current = repo::get_person(c, me)
                    .await?
                    .filter(|x| x.kind == PersonKind::Client)
                    .ok_or(DomainError::NotFound("person"))?;
                let phone_after = match &patch.phone {
                    Some(n) => n.is_some(),
                    None => current.phone.is_some(),
                };
                let consent_after = patch.sms_reminders.unwrap_or(current.sms_reminders);
                if consent_after && !phone_after {
                    return Err(DomainError::invalid(
                        "/sms_reminders",
                        "text-message reminders need a phone number",
                    ));
                }
                let changes = PersonPatch {
                    phone: patch.phone.clone(),
                    sms_reminders: patch.sms_reminders,
                    ..PersonPatch::default()
                };
                let person = repo::update_person(c, me, expected_version, &changes)
                    .await?
                    .ok_or(DomainError::PreconditionFailed {
                        expected: expected_version,
                        current: current.version,
                    })?;
                let event = Event::new("contact.update")
                    .on("person", me)
                    .subjects([me])
                    .detail("phone_changed", person.phone != current.phone)
                    .detail("sms_reminders", person.sms_reminders);
                audit::record(c, &Actor::from(p), event).await?;
                Ok(person)
            })
            .await
    }
    .await;
    denied(tenancy, tenant, p, "contact.update", &result).await?;
    result
}
