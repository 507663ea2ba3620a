//! Appointment reminders, as jobs.
//!
//! When an appointment is booked (or approved, or moved), one `reminder.send` job per offset
//! and channel of the tenant's policy is written to the outbox in the same transaction, due at
//! start − offset. Nothing is deleted on cancellation or reschedule: the job carries the start
//! it was for, and when it runs it finds the appointment cancelled or moved and records a
//! `skipped` delivery instead of sending. So a reminder is never sent for a cancelled
//! appointment, and a moved one gets the new reminders only.
//!
//! Sending is at most once per (appointment, offset, channel, start): [`begin`] records the
//! delivery as `sending` and the job as processed in one transaction before anything leaves;
//! a crash between sending and [`finish`] leaves `sending` in the log rather than a second
//! message.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::calendar::parse_zone;
use super::model::{AppointmentRow, Policy, Status};
use super::schema::{appointments, reminder_deliveries};
use super::setup::load_policy;
use crate::error::{DomainError, DomainResult};
use crate::identity::Principal;
use crate::jobs;
use crate::schema::people;

pub const KIND: &str = "reminder.send";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReminderJob {
    pub appointment_id: Uuid,
    pub offset_minutes: i32,
    pub channel: String,
    /// The appointment start this reminder is for.
    pub starts_at: DateTime<Utc>,
}

/// Writes the reminder jobs of a booked appointment (in the booking's transaction).
pub async fn schedule(
    c: &mut AsyncPgConnection,
    tenant_id: i64,
    a: &AppointmentRow,
) -> DomainResult<usize> {
    if a.status() != Status::Booked {
        return Ok(0);
    }
    let policy = load_policy(c).await?;
    let jobs = jobs_for(&policy, a.id, a.starts_at, Utc::now())?;
    for (payload, due) in &jobs {
        jobs::enqueue(c, tenant_id, KIND, payload.clone(), *due).await?;
    }
    Ok(jobs.len())
}

/// The reminder jobs (payload, due) of a booked appointment under `policy`: one per offset and
/// channel, none already due. [`schedule`] writes them one by one; bulk placement writes a
/// chunk's with one statement (`jobs::enqueue_many`).
pub fn jobs_for(
    policy: &Policy,
    appointment_id: Uuid,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DomainResult<Vec<(serde_json::Value, DateTime<Utc>)>> {
    let mut out = Vec::new();
    if !policy.reminders_enabled {
        return Ok(out);
    }
    for offset in &policy.reminder_offsets_minutes {
        let due = starts_at - Duration::minutes((*offset).into());
        if due <= now {
            continue;
        }
        for channel in &policy.reminder_channels {
            let payload = serde_json::to_value(ReminderJob {
                appointment_id,
                offset_minutes: *offset,
                channel: channel.clone(),
                starts_at,
            })
            .map_err(|e| DomainError::Internal(e.to_string()))?;
            out.push((payload, due));
        }
    }
    Ok(out)
}

/// The tenant's SMS gateway, for an `sms` message.
#[derive(Clone)]
pub struct SmsGateway {
    pub url: String,
    /// The signing secret, sealed ([`crate::identity::mfa::Sealer::open`] opens it).
    pub sealed_secret: Vec<u8>,
}

impl std::fmt::Debug for SmsGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmsGateway(…)")
    }
}

/// What the runner must send, once.
#[derive(Clone, Debug)]
pub struct Message {
    pub delivery_id: Uuid,
    pub channel: String,
    /// E-mail address (email) or E.164 phone number (sms).
    pub to: Option<String>,
    /// Set for `sms`.
    pub gateway: Option<SmsGateway>,
    pub subject: String,
    pub text: String,
    /// A stable id (the delivery's), so a transport can deduplicate.
    pub message_id: String,
}

#[derive(Clone, Debug)]
pub enum Begin {
    /// The job was processed before (a redelivery).
    AlreadyDone,
    /// Recorded as skipped with this reason; nothing to send.
    Skipped(&'static str),
    Send(Message),
}

/// Fills the tenant's template: only `{provider}`, `{date}`, `{time}` and `{zone}`.
pub fn render(template: &str, provider: &str, start: DateTime<Utc>, zone: &str) -> String {
    let (date, time) = match parse_zone(zone) {
        Ok(tz) => {
            let local = start.with_timezone(&tz);
            (
                local.format("%A %-d %B %Y").to_string(),
                local.format("%H:%M").to_string(),
            )
        }
        Err(_) => (
            start.format("%A %-d %B %Y").to_string(),
            start.format("%H:%M UTC").to_string(),
        ),
    };
    template
        .replace("{provider}", provider)
        .replace("{date}", &date)
        .replace("{time}", &time)
        .replace("{zone}", zone)
}

async fn record(
    c: &mut AsyncPgConnection,
    job_id: Uuid,
    r: &ReminderJob,
    status: &str,
    detail: Option<&str>,
) -> QueryResult<Option<Uuid>> {
    let id = Uuid::now_v7();
    let n = diesel::insert_into(reminder_deliveries::table)
        .values((
            reminder_deliveries::id.eq(id),
            reminder_deliveries::appointment_id.eq(r.appointment_id),
            reminder_deliveries::job_id.eq(job_id),
            reminder_deliveries::offset_minutes.eq(r.offset_minutes),
            reminder_deliveries::channel.eq(&r.channel),
            reminder_deliveries::scheduled_for.eq(r.starts_at),
            reminder_deliveries::due_at
                .eq(r.starts_at - Duration::minutes(r.offset_minutes.into())),
            reminder_deliveries::status.eq(status),
            reminder_deliveries::detail.eq(detail),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await?;
    Ok((n == 1).then_some(id))
}

/// First half of running a reminder job, in one tenant transaction: decide, record, claim.
pub async fn begin(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    job_id: Uuid,
    r: &ReminderJob,
) -> DomainResult<Begin> {
    tenancy
        .tx(tenant, async |c| {
            if !jobs::claim_processed(c, job_id, KIND).await? {
                return Ok(Begin::AlreadyDone);
            }
            let a: Option<AppointmentRow> = appointments::table
                .find(r.appointment_id)
                .select(AppointmentRow::as_select())
                .first(c)
                .await
                .optional()?;
            let skip = match &a {
                None => Some("deleted"),
                Some(a) if a.status() == Status::Cancelled => Some("cancelled"),
                Some(a) if a.starts_at != r.starts_at => Some("moved"),
                Some(a) if a.status() != Status::Booked => Some("not_booked"),
                Some(_) => None,
            };
            let policy = load_policy(c).await?;
            let skip = skip.or((!policy.reminders_enabled).then_some("disabled"));
            let exists = a.is_some();
            let Some(a) = a.filter(|_| skip.is_none()) else {
                let reason = skip.unwrap_or("deleted");
                if exists {
                    record(c, job_id, r, "skipped", Some(reason)).await?;
                }
                return Ok(Begin::Skipped(reason));
            };
            let (client_email, phone, sms_ok): (Option<String>, Option<String>, bool) =
                people::table
                    .find(a.client_id)
                    .select((people::email, people::phone, people::sms_reminders))
                    .first(c)
                    .await?;
            let (g, f): (String, String) = people::table
                .find(a.provider_id)
                .select((people::given_name, people::family_name))
                .first(c)
                .await?;
            let gateway = match (&policy.sms_webhook_url, &policy.sms_webhook_secret) {
                (Some(url), Some(secret)) => Some(SmsGateway {
                    url: url.clone(),
                    sealed_secret: secret.clone(),
                }),
                _ => None,
            };
            let (to, gateway, missing) = match r.channel.as_str() {
                "email" => (client_email, None, "no_address"),
                // Texts only to clients who agreed to them (consent recorded on their entry).
                _ if !sms_ok => (None, None, "no_consent"),
                _ if gateway.is_none() => (None, None, "no_sms_gateway"),
                _ => (phone, gateway, "no_phone"),
            };
            if to.is_none() {
                record(c, job_id, r, "skipped", Some(missing)).await?;
                return Ok(Begin::Skipped(missing));
            }
            let Some(delivery_id) = record(c, job_id, r, "sending", None).await? else {
                // The same reminder (appointment, offset, channel, start) was already handled.
                return Ok(Begin::Skipped("duplicate"));
            };
            let text = render(
                &policy.reminder_template,
                &format!("{g} {f}"),
                a.starts_at,
                &a.timezone,
            );
            Ok(Begin::Send(Message {
                delivery_id,
                channel: r.channel.clone(),
                to,
                gateway,
                subject: "Appointment reminder".into(),
                text,
                message_id: format!("{delivery_id}@swiftacare"),
            }))
        })
        .await
}

/// Second half: the outcome of sending (`Err` holds a short reason code).
pub async fn finish(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    delivery_id: Uuid,
    outcome: Result<(), &str>,
) -> DomainResult<()> {
    tenancy
        .tx(tenant, async |c| {
            let (status, detail) = match outcome {
                Ok(()) => ("sent", None),
                Err(code) => ("failed", Some(code)),
            };
            diesel::update(reminder_deliveries::table.find(delivery_id))
                .set((
                    reminder_deliveries::status.eq(status),
                    reminder_deliveries::detail.eq(detail),
                    reminder_deliveries::sent_at.eq(outcome.is_ok().then(Utc::now)),
                ))
                .execute(c)
                .await?;
            Ok(())
        })
        .await
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = reminder_deliveries)]
pub struct Delivery {
    pub id: Uuid,
    pub offset_minutes: i32,
    pub channel: String,
    pub scheduled_for: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub status: String,
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The reminder log of one appointment (for those who may see it).
pub async fn deliveries(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    appointment_id: Uuid,
) -> DomainResult<Vec<Delivery>> {
    tenancy
        .tx(tenant, async |c| {
            let r = super::reach::reach(c, p).await?;
            super::booking::visible(c, &r, appointment_id, false).await?;
            Ok(reminder_deliveries::table
                .filter(reminder_deliveries::appointment_id.eq(appointment_id))
                .order(reminder_deliveries::created_at)
                .select(Delivery::as_select())
                .load(c)
                .await?)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_carries_only_date_time_zone_and_provider() {
        let start = "2027-03-15T14:00:00Z".parse().expect("instant");
        let text = render(
            "With {provider} on {date} at {time} ({zone}). {unknown}",
            "Maya Chen",
            start,
            "America/Toronto",
        );
        assert_eq!(
            text,
            "With Maya Chen on Monday 15 March 2027 at 10:00 (America/Toronto). {unknown}"
        );
    }
}
