//! Waitlist: a client waits for a type (optionally with one provider) inside a time window.
//! When a matching appointment is cancelled or moved, the first waiting clients (the tenant's
//! batch size, in joining order) are offered the freed slot. An offer expires; the first to
//! accept books it — the exclusion constraint decides a race — and the others' offers for that
//! slot are marked taken. Expired offers pass the slot to the next clients in line: making
//! offers writes a `waitlist.expire` job due when they expire, which runs [`sweep`] for the
//! tenant (nothing scans tenants that have no offers). Each offer also writes a
//! `waitlist.notify` job, which e-mails the client (see [`notify`]).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::booking::{self, Booker};
use super::model::{AppointmentType, Status};
use super::reach::{self, reach};
use super::schema::{appointments, provider_schedules, waitlist_entries, waitlist_offers};
use super::setup::{get_type_row, load_policy};
use crate::audit::{self, Actor, Event};
use crate::error::{DomainError, DomainResult};
use crate::identity::Principal;

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = waitlist_entries)]
pub struct Entry {
    pub id: Uuid,
    pub client_id: Uuid,
    pub provider_id: Option<Uuid>,
    pub type_id: Uuid,
    pub window_from: DateTime<Utc>,
    pub window_until: DateTime<Utc>,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = waitlist_offers)]
pub struct Offer {
    pub id: Uuid,
    pub entry_id: Uuid,
    pub provider_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub status: String,
    pub appointment_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl Offer {
    /// `open` turns `expired` at its deadline even before the sweep records it.
    pub fn effective_status(&self, now: DateTime<Utc>) -> &str {
        if self.status == "open" && self.expires_at <= now {
            "expired"
        } else {
            &self.status
        }
    }
}

impl Entry {
    pub fn effective_status(&self, now: DateTime<Utc>) -> &str {
        if self.status == "waiting" && self.window_until <= now {
            "expired"
        } else {
            &self.status
        }
    }
}

#[derive(Clone, Debug)]
pub struct EntryWithOffers {
    pub entry: Entry,
    pub offers: Vec<Offer>,
}

#[derive(Clone, Debug)]
pub struct NewEntry {
    /// Omitted by a client joining for themselves.
    pub client_id: Option<Uuid>,
    pub provider_id: Option<Uuid>,
    pub type_id: Uuid,
    pub window_from: DateTime<Utc>,
    pub window_until: DateTime<Utc>,
}

/// The job that passes expired offers on (see [`sweep`]).
pub const EXPIRE_KIND: &str = "waitlist.expire";

/// Offers a freed slot (`provider`, `starts_at`, the type's duration) to the next waiting
/// clients who have not been offered it yet, and schedules the job that passes it on when the
/// offers expire. Runs inside the transaction that freed it.
pub async fn offer_freed(
    c: &mut AsyncPgConnection,
    tenant_id: i64,
    t: &AppointmentType,
    provider: Uuid,
    starts_at: DateTime<Utc>,
) -> DomainResult<usize> {
    let now = Utc::now();
    let ends_at = starts_at + t.duration();
    // Still free? (Another appointment may already cover it, e.g. a reschedule into it.)
    let taken: i64 = appointments::table
        .filter(appointments::provider_id.eq(provider))
        .filter(appointments::status.ne("cancelled"))
        .filter(appointments::busy_from.lt(ends_at + t.buffer_after()))
        .filter(appointments::busy_until.gt(starts_at - t.buffer_before()))
        .count()
        .get_result(c)
        .await?;
    if taken > 0 || starts_at <= now {
        return Ok(0);
    }
    let open: i64 = waitlist_offers::table
        .filter(waitlist_offers::provider_id.eq(provider))
        .filter(waitlist_offers::starts_at.eq(starts_at))
        .filter(waitlist_offers::status.eq("open"))
        .filter(waitlist_offers::expires_at.gt(now))
        .count()
        .get_result(c)
        .await?;
    if open > 0 {
        return Ok(0);
    }
    let policy = load_policy(c).await?;
    let already: Vec<Uuid> = waitlist_offers::table
        .filter(waitlist_offers::provider_id.eq(provider))
        .filter(waitlist_offers::starts_at.eq(starts_at))
        .select(waitlist_offers::entry_id)
        .load(c)
        .await?;
    let next: Vec<Uuid> = waitlist_entries::table
        .filter(waitlist_entries::status.eq("waiting"))
        .filter(waitlist_entries::type_id.eq(t.id))
        .filter(
            waitlist_entries::provider_id
                .is_null()
                .or(waitlist_entries::provider_id.eq(provider)),
        )
        .filter(waitlist_entries::window_from.le(starts_at))
        .filter(waitlist_entries::window_until.ge(ends_at))
        .filter(waitlist_entries::id.ne_all(already))
        .order((waitlist_entries::created_at, waitlist_entries::id))
        .limit(policy.waitlist_offer_batch.into())
        .select(waitlist_entries::id)
        .load(c)
        .await?;
    let expires_at = (now + Duration::minutes(policy.waitlist_offer_minutes.into())).min(starts_at);
    if !next.is_empty() {
        crate::jobs::enqueue(
            c,
            tenant_id,
            EXPIRE_KIND,
            serde_json::json!({}),
            expires_at + Duration::seconds(1),
        )
        .await?;
    }
    for entry in &next {
        let id = Uuid::now_v7();
        crate::jobs::enqueue(
            c,
            tenant_id,
            NOTIFY_KIND,
            serde_json::json!({ "offer_id": id }),
            now,
        )
        .await?;
        diesel::insert_into(waitlist_offers::table)
            .values((
                waitlist_offers::id.eq(id),
                waitlist_offers::entry_id.eq(entry),
                waitlist_offers::provider_id.eq(provider),
                waitlist_offers::starts_at.eq(starts_at),
                waitlist_offers::ends_at.eq(ends_at),
                waitlist_offers::expires_at.eq(expires_at),
            ))
            .execute(c)
            .await?;
    }
    Ok(next.len())
}

/// The job that tells a client about their offer.
pub const NOTIFY_KIND: &str = "waitlist.notify";

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct NotifyJob {
    pub offer_id: Uuid,
}

/// What [`notify`] decided.
#[derive(Clone, Debug)]
pub enum Notify {
    /// The job was processed before (a redelivery).
    AlreadyDone,
    /// Nothing to send (the offer was taken, accepted, expired, or the client has no e-mail).
    Skipped(&'static str),
    Send {
        to: String,
        subject: String,
        text: String,
        /// Stable per offer, so a transport can deduplicate.
        message_id: String,
    },
}

/// Decides, once per job, whether to e-mail the client about an open offer. The text names the
/// provider, the time in the provider's zone and when the hold ends — nothing about the
/// service or the client's care. At most once: the job is marked processed before the mail
/// leaves, as reminders are.
pub async fn notify(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    job_id: Uuid,
    job: &NotifyJob,
) -> DomainResult<Notify> {
    tenancy
        .tx(tenant, async |c| {
            if !crate::jobs::claim_processed(c, job_id, NOTIFY_KIND).await? {
                return Ok(Notify::AlreadyDone);
            }
            let Some(offer) = waitlist_offers::table
                .find(job.offer_id)
                .select(Offer::as_select())
                .first(c)
                .await
                .optional()?
            else {
                return Ok(Notify::Skipped("gone"));
            };
            if offer.effective_status(Utc::now()) != "open" {
                return Ok(Notify::Skipped("not_open"));
            }
            let client: Uuid = waitlist_entries::table
                .find(offer.entry_id)
                .select(waitlist_entries::client_id)
                .first(c)
                .await?;
            let (email,): (Option<String>,) = crate::schema::people::table
                .find(client)
                .select((crate::schema::people::email,))
                .first(c)
                .await?;
            let Some(to) = email else {
                return Ok(Notify::Skipped("no_address"));
            };
            let (g, f): (String, String) = crate::schema::people::table
                .find(offer.provider_id)
                .select((
                    crate::schema::people::given_name,
                    crate::schema::people::family_name,
                ))
                .first(c)
                .await?;
            let zone: String = provider_schedules::table
                .find(offer.provider_id)
                .select(provider_schedules::timezone)
                .first(c)
                .await
                .optional()?
                .unwrap_or_else(|| "UTC".to_owned());
            let tz = super::calendar::parse_zone(&zone).unwrap_or(chrono_tz::UTC);
            let until = offer.expires_at.with_timezone(&tz);
            let text = format!(
                "{}\n\nThis time is held for you until {} on {} ({}). Sign in and open your \
                 waitlist to accept it; if someone else accepts first, you stay on the waitlist.",
                super::reminders::render(
                    "A time has opened up with {provider} on {date} at {time} ({zone}).",
                    &format!("{g} {f}"),
                    offer.starts_at,
                    &zone,
                ),
                until.format("%H:%M"),
                until.format("%A %-d %B"),
                zone,
            );
            Ok(Notify::Send {
                to,
                subject: "A time has opened up".into(),
                text,
                message_id: format!("{}@swiftacare", offer.id),
            })
        })
        .await
}

pub async fn join(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    new: NewEntry,
) -> DomainResult<EntryWithOffers> {
    if new.window_until <= new.window_from {
        return Err(DomainError::invalid(
            "/window_until",
            "must be after window_from",
        ));
    }
    if new.window_until <= Utc::now() {
        return Err(DomainError::invalid("/window_until", "is in the past"));
    }
    if new.window_until - new.window_from > Duration::days(180) {
        return Err(DomainError::invalid(
            "/window_until",
            "a window covers at most 180 days",
        ));
    }
    tenancy
        .tx(tenant, async |c| {
            let r = reach(c, p).await?;
            let client_id = match (new.client_id, r.own_bookings) {
                (None, Some(me)) => me,
                (Some(id), Some(me)) if id == me => me,
                (Some(id), _) if r.all || !r.departments.is_empty() || r.own_calendar.is_some() => {
                    id
                }
                (Some(_), _) => {
                    return Err(DomainError::Forbidden(
                        "you may join the waitlist only for yourself",
                    ));
                }
                (None, None) => return Err(DomainError::invalid("/client_id", "name the client")),
            };
            let client = reach::client(c, client_id, "/client_id").await?;
            let self_service = r.own_bookings == Some(client_id);
            let t = get_type_row(c, new.type_id)
                .await?
                .filter(|t| t.active && (!self_service || t.client_bookable))
                .ok_or_else(|| {
                    DomainError::invalid("/type_id", "no such bookable appointment type")
                })?;
            if let Some(pid) = new.provider_id {
                reach::provider(c, pid, "/provider_id").await?;
                super::setup::check_offered(c, &t, pid, "/provider_id").await?;
            }
            let policy = load_policy(c).await?;
            // Serialise one client's joins so the limit holds under concurrency.
            crate::schema::people::table
                .find(client.id)
                .select(crate::schema::people::id)
                .for_update()
                .first::<Uuid>(c)
                .await?;
            let waiting: i64 = waitlist_entries::table
                .filter(waitlist_entries::client_id.eq(client.id))
                .filter(waitlist_entries::status.eq("waiting"))
                .filter(waitlist_entries::window_until.gt(Utc::now()))
                .count()
                .get_result(c)
                .await?;
            if waiting >= policy.max_waitlist_entries_per_client.into() {
                return Err(DomainError::Conflict(format!(
                    "already waiting in {waiting} places, the most this organisation allows"
                )));
            }
            let entry = diesel::insert_into(waitlist_entries::table)
                .values((
                    waitlist_entries::id.eq(Uuid::now_v7()),
                    waitlist_entries::client_id.eq(client.id),
                    waitlist_entries::provider_id.eq(new.provider_id),
                    waitlist_entries::type_id.eq(t.id),
                    waitlist_entries::window_from.eq(new.window_from),
                    waitlist_entries::window_until.eq(new.window_until),
                ))
                .returning(Entry::as_returning())
                .get_result(c)
                .await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("waitlist.join")
                    .on("waitlist_entry", entry.id)
                    .subjects([client.id]),
            )
            .await?;
            Ok(EntryWithOffers {
                entry,
                offers: Vec::new(),
            })
        })
        .await
}

/// Waitlist entries the caller may see: a client's own; staff see those of the calendars
/// they manage (entries for any provider are visible to tenant-wide schedulers).
pub async fn list(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
) -> DomainResult<Vec<EntryWithOffers>> {
    tenancy
        .tx(tenant, async |c| {
            let r = reach(c, p).await?;
            let mut q = waitlist_entries::table.into_boxed();
            if !r.all {
                let managed = reach::managed_providers(c, &r).await?.unwrap_or_default();
                let me = r.own_bookings.unwrap_or(Uuid::nil());
                q = q.filter(
                    waitlist_entries::client_id
                        .eq(me)
                        .or(waitlist_entries::provider_id.eq_any(managed)),
                );
            }
            let entries: Vec<Entry> = q
                .order(waitlist_entries::created_at.desc())
                .limit(200)
                .select(Entry::as_select())
                .load(c)
                .await?;
            let ids: Vec<Uuid> = entries.iter().map(|e| e.id).collect();
            let offers: Vec<Offer> = waitlist_offers::table
                .filter(waitlist_offers::entry_id.eq_any(&ids))
                .order(waitlist_offers::created_at)
                .select(Offer::as_select())
                .load(c)
                .await?;
            let mut subjects: Vec<Uuid> = entries.iter().map(|e| e.client_id).collect();
            subjects.sort_unstable();
            subjects.dedup();
            if !subjects.is_empty() {
                audit::record(
                    c,
                    &Actor::from(p),
                    Event::new("waitlist.list").subjects(subjects),
                )
                .await?;
            }
            Ok(entries
                .into_iter()
                .map(|entry| EntryWithOffers {
                    offers: offers
                        .iter()
                        .filter(|o| o.entry_id == entry.id)
                        .cloned()
                        .collect(),
                    entry,
                })
                .collect())
        })
        .await
}

async fn visible_entry(c: &mut AsyncPgConnection, p: &Principal, id: Uuid) -> DomainResult<Entry> {
    let r = reach(c, p).await?;
    let e: Entry = waitlist_entries::table
        .find(id)
        .select(Entry::as_select())
        .for_update()
        .first(c)
        .await
        .optional()?
        .ok_or(DomainError::NotFound("waitlist entry"))?;
    let managed = reach::managed_providers(c, &r).await?;
    let sees = r.own_bookings == Some(e.client_id)
        || managed.is_none()
        || e.provider_id
            .is_some_and(|pid| managed.is_some_and(|m| m.contains(&pid)));
    if !sees {
        return Err(DomainError::NotFound("waitlist entry"));
    }
    Ok(e)
}

pub async fn leave(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<()> {
    tenancy
        .tx(tenant, async |c| {
            let e = visible_entry(c, p, id).await?;
            if e.status != "waiting" {
                return Err(DomainError::Conflict(format!(
                    "the entry is already {}",
                    e.status
                )));
            }
            diesel::update(waitlist_entries::table.find(id))
                .set(waitlist_entries::status.eq("cancelled"))
                .execute(c)
                .await?;
            diesel::update(
                waitlist_offers::table
                    .filter(waitlist_offers::entry_id.eq(id))
                    .filter(waitlist_offers::status.eq("open")),
            )
            .set(waitlist_offers::status.eq("withdrawn"))
            .execute(c)
            .await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("waitlist.leave")
                    .on("waitlist_entry", id)
                    .subjects([e.client_id]),
            )
            .await?;
            Ok(())
        })
        .await
}

/// The client accepts an offer: books the slot if it is still free and the offer still open.
pub async fn accept(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    offer_id: Uuid,
) -> DomainResult<super::model::Appointment> {
    tenancy
        .tx(tenant, async |c| {
            let r = reach(c, p).await?;
            let slot: (Uuid, DateTime<Utc>) = waitlist_offers::table
                .find(offer_id)
                .select((waitlist_offers::provider_id, waitlist_offers::starts_at))
                .first(c)
                .await
                .optional()?
                .ok_or(DomainError::NotFound("offer"))?;
            // Every offer of this slot is locked first, in one order: concurrent accepts queue
            // here, and the later ones then find their offer taken (no lock cycle with the
            // winner marking them taken).
            waitlist_offers::table
                .filter(waitlist_offers::provider_id.eq(slot.0))
                .filter(waitlist_offers::starts_at.eq(slot.1))
                .order(waitlist_offers::id)
                .select(waitlist_offers::id)
                .for_update()
                .load::<Uuid>(c)
                .await?;
            let offer: Offer = waitlist_offers::table
                .find(offer_id)
                .select(Offer::as_select())
                .first(c)
                .await?;
            let entry: Entry = waitlist_entries::table
                .find(offer.entry_id)
                .select(Entry::as_select())
                .for_update()
                .first(c)
                .await?;
            if r.own_bookings != Some(entry.client_id) {
                return Err(DomainError::NotFound("offer"));
            }
            let now = Utc::now();
            match offer.effective_status(now) {
                "open" => {}
                "expired" => return Err(DomainError::Conflict("the offer has expired".into())),
                "taken" => {
                    return Err(DomainError::Conflict(
                        "another client accepted this slot first".into(),
                    ));
                }
                other => return Err(DomainError::Conflict(format!("the offer is {other}"))),
            }
            let t = get_type_row(c, entry.type_id)
                .await?
                .ok_or(DomainError::NotFound("appointment type"))?;
            let b: Booker = booking::booker(c, p, offer.provider_id, Some(entry.client_id)).await?;
            let tz = booking::check_time(c, &b, &t, offer.starts_at, "/starts_at").await?;
            booking::check_limits(c, &b.client, offer.starts_at, tz, None).await?;
            let row = booking::insert(
                c,
                p,
                &t,
                offer.provider_id,
                entry.client_id,
                offer.starts_at,
                tz.name(),
                Status::Booked,
                None,
            )
            .await
            .map_err(|e| match e {
                DomainError::Conflict(m) if m.starts_with("the provider is not free") => {
                    DomainError::Conflict("another client accepted this slot first".into())
                }
                e => e,
            })?;
            super::reminders::schedule(c, tenant.id, &row).await?;
            diesel::update(waitlist_offers::table.find(offer_id))
                .set((
                    waitlist_offers::status.eq("accepted"),
                    waitlist_offers::appointment_id.eq(row.id),
                ))
                .execute(c)
                .await?;
            diesel::update(
                waitlist_offers::table
                    .filter(waitlist_offers::provider_id.eq(offer.provider_id))
                    .filter(waitlist_offers::starts_at.eq(offer.starts_at))
                    .filter(waitlist_offers::status.eq("open")),
            )
            .set(waitlist_offers::status.eq("taken"))
            .execute(c)
            .await?;
            diesel::update(waitlist_entries::table.find(entry.id))
                .set(waitlist_entries::status.eq("booked"))
                .execute(c)
                .await?;
            audit::record(
                c,
                &Actor::from(p),
                Event::new("waitlist.accept")
                    .on("appointment", row.id)
                    .subjects([entry.client_id]),
            )
            .await?;
            Ok(booking::present(c, &r, vec![row]).await?.remove(0))
        })
        .await
}

/// Records expired offers and passes each still-free slot to the next clients in line.
/// Returns how many new offers were made.
pub async fn sweep(tenancy: &Tenancy, tenant: &TenantRef) -> DomainResult<usize> {
    tenancy
        .tx(tenant, async |c| {
            let now = Utc::now();
            let expired: Vec<(Uuid, DateTime<Utc>, Uuid)> = diesel::update(
                waitlist_offers::table
                    .filter(waitlist_offers::status.eq("open"))
                    .filter(waitlist_offers::expires_at.le(now)),
            )
            .set(waitlist_offers::status.eq("expired"))
            .returning((
                waitlist_offers::provider_id,
                waitlist_offers::starts_at,
                waitlist_offers::entry_id,
            ))
            .get_results(c)
            .await?;
            let mut made = 0;
            let mut seen: Vec<(Uuid, DateTime<Utc>)> = Vec::new();
            for (provider, starts_at, entry) in expired {
                if seen.contains(&(provider, starts_at)) {
                    continue;
                }
                seen.push((provider, starts_at));
                let type_id: Uuid = waitlist_entries::table
                    .find(entry)
                    .select(waitlist_entries::type_id)
                    .first(c)
                    .await?;
                if let Some(t) = get_type_row(c, type_id).await? {
                    made += offer_freed(c, tenant.id, &t, provider, starts_at).await?;
                }
            }
            if made > 0 {
                audit::record(
                    c,
                    &Actor::system(),
                    Event::new("waitlist.sweep").detail("offers", made as i64),
                )
                .await?;
            }
            Ok(made)
        })
        .await
}
