//! iCalendar (RFC 5545) feeds of a person's appointments at an unguessable, revocable URL.
//!
//! The token is 32 random bytes (base64url); only its SHA-256 is stored, so a database read
//! does not reveal working feed URLs. Events carry no health information: the title is
//! "Appointment"; a provider's feed names the client only when the tenant allows it
//! (`ical_show_client_names`). Cancelled appointments stay in the feed as `STATUS:CANCELLED`
//! so subscribed calendars remove them.

use base64::Engine;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use icalendar::{Calendar, Component, EventLike, EventStatus};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::model::{AppointmentRow, Status};
use super::schema::{appointments, calendar_feeds};
use super::setup::load_policy;
use crate::audit::{self, Actor, Event};
use crate::error::{DomainError, DomainResult};
use crate::identity::{Principal, Role};
use crate::schema::people;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = calendar_feeds)]
pub struct Feed {
    pub id: Uuid,
    pub person_id: Uuid,
    pub created_at: chrono::DateTime<Utc>,
    pub revoked_at: Option<chrono::DateTime<Utc>>,
}

/// A new feed with its secret token (shown once).
#[derive(Clone, Debug)]
pub struct NewFeed {
    pub feed: Feed,
    pub token: String,
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn own_person(p: &Principal) -> DomainResult<Uuid> {
    if p.is_integration() || !(p.has(Role::Provider) || p.has(Role::Client)) {
        return Err(DomainError::Forbidden(
            "calendar feeds are for providers and clients, of their own appointments",
        ));
    }
    p.person_id.ok_or(DomainError::Forbidden(
        "this account has no directory entry",
    ))
}

pub async fn create(tenancy: &Tenancy, tenant: &TenantRef, p: &Principal) -> DomainResult<NewFeed> {
    let person = own_person(p)?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    tenancy
        .tx(tenant, async |c| {
            let active: i64 = calendar_feeds::table
                .filter(calendar_feeds::person_id.eq(person))
                .filter(calendar_feeds::revoked_at.is_null())
                .count()
                .get_result(c)
                .await?;
            if active >= 5 {
                return Err(DomainError::Conflict(
                    "at most 5 active feeds; revoke one first".into(),
                ));
            }
            let feed = diesel::insert_into(calendar_feeds::table)
                .values((
                    calendar_feeds::id.eq(Uuid::now_v7()),
                    calendar_feeds::person_id.eq(person),
                    calendar_feeds::token_hash.eq(digest(&token)),
                    calendar_feeds::created_by.eq(p.account_id),
                ))
                .returning(Feed::as_returning())
                .get_result(c)
                .await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("calendar_feed.create").on("calendar_feed", feed.id),
            )
            .await?;
            Ok(NewFeed {
                feed,
                token: token.clone(),
            })
        })
        .await
}

pub async fn list(tenancy: &Tenancy, tenant: &TenantRef, p: &Principal) -> DomainResult<Vec<Feed>> {
    let person = own_person(p)?;
    tenancy
        .tx(tenant, async |c| {
            Ok(calendar_feeds::table
                .filter(calendar_feeds::person_id.eq(person))
                .order(calendar_feeds::created_at.desc())
                .select(Feed::as_select())
                .load(c)
                .await?)
        })
        .await
}

pub async fn revoke(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<()> {
    let person = own_person(p).map_err(|_| DomainError::NotFound("calendar feed"))?;
    tenancy
        .tx(tenant, async |c| {
            let n = diesel::update(
                calendar_feeds::table
                    .filter(calendar_feeds::id.eq(id))
                    .filter(calendar_feeds::person_id.eq(person))
                    .filter(calendar_feeds::revoked_at.is_null()),
            )
            .set(calendar_feeds::revoked_at.eq(diesel::dsl::now))
            .execute(c)
            .await?;
            if n == 0 {
                return Err(DomainError::NotFound("calendar feed"));
            }
            audit::record(
                c,
                &Actor::from(p),
                Event::new("calendar_feed.revoke").on("calendar_feed", id),
            )
            .await?;
            Ok(())
        })
        .await
}

/// The feed's calendar text, or not found for an unknown or revoked token.
pub async fn render(tenancy: &Tenancy, tenant: &TenantRef, token: &str) -> DomainResult<String> {
    if token.len() > 100 {
        return Err(DomainError::NotFound("calendar feed"));
    }
    let hash = digest(token);
    tenancy
        .tx(tenant, async |c| {
            let (feed_id, person): (Uuid, Uuid) = calendar_feeds::table
                .filter(calendar_feeds::token_hash.eq(&hash))
                .filter(calendar_feeds::revoked_at.is_null())
                .select((calendar_feeds::id, calendar_feeds::person_id))
                .first(c)
                .await
                .optional()?
                .ok_or(DomainError::NotFound("calendar feed"))?;
            let kind: String = people::table
                .find(person)
                .select(people::kind)
                .first(c)
                .await?;
            let is_provider = kind == "provider";
            let now = Utc::now();
            let mut q = appointments::table
                .filter(appointments::starts_at.ge(now - Duration::days(30)))
                .filter(appointments::starts_at.lt(now + Duration::days(400)))
                .into_boxed();
            q = if is_provider {
                q.filter(appointments::provider_id.eq(person))
            } else {
                q.filter(appointments::client_id.eq(person))
            };
            let rows: Vec<AppointmentRow> = q
                .order(appointments::starts_at)
                .limit(2000)
                .select(AppointmentRow::as_select())
                .load(c)
                .await?;
            let show_names = is_provider && load_policy(c).await?.ical_show_client_names;
            let names: std::collections::HashMap<Uuid, String> = if show_names {
                let ids: Vec<Uuid> = rows.iter().map(|a| a.client_id).collect();
                people::table
                    .filter(people::id.eq_any(ids))
                    .select((people::id, people::given_name, people::family_name))
                    .load::<(Uuid, String, String)>(c)
                    .await?
                    .into_iter()
                    .map(|(id, g, f)| (id, format!("{g} {f}")))
                    .collect()
            } else {
                Default::default()
            };
            let mut cal = Calendar::new();
            cal.name("Swiftacare appointments");
            for a in &rows {
                let summary = match names.get(&a.client_id) {
                    Some(n) => format!("Appointment – {n}"),
                    None => "Appointment".to_owned(),
                };
                let mut e = icalendar::Event::new();
                e.uid(&format!("{}@swiftacare", a.id))
                    .summary(&summary)
                    .starts(a.starts_at)
                    .ends(a.ends_at)
                    .timestamp(a.updated_at)
                    .sequence(a.version.max(0) as u32);
                e.status(match a.status() {
                    Status::Cancelled => EventStatus::Cancelled,
                    Status::Requested => EventStatus::Tentative,
                    _ => EventStatus::Confirmed,
                });
                cal.push(e.done());
            }
            let mut subjects: Vec<Uuid> = rows.iter().map(|a| a.client_id).collect();
            subjects.sort_unstable();
            subjects.dedup();
            audit::record(
                c,
                &Actor::system(),
                Event::new("calendar_feed.read")
                    .on("calendar_feed", feed_id)
                    .subjects(subjects),
            )
            .await?;
            Ok(cal.done().to_string())
        })
        .await
}
