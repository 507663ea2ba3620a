//! Referral types. Free text is checked here (parse, don't validate); rows map into these.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::{referral_events, referrals};

text_enum! {
    /// Who asked for the referral: a provider referring their client onward, the
    /// organisation (triage staff, often on behalf of an outside referrer), or the client.
    Source { Provider => "provider", Organisation => "organisation", OwnSelf => "self" }
}

text_enum! {
    Urgency { Routine => "routine", Urgent => "urgent" }
}

text_enum! {
    /// new → assigned → accepted; assigned → declined → (triage) assigned …;
    /// new | assigned | declined → withdrawn.
    Status {
        New => "new",
        Assigned => "assigned",
        Accepted => "accepted",
        Declined => "declined",
        Withdrawn => "withdrawn",
    }
}

impl Status {
    /// Still waiting for someone to act: may be withdrawn.
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Assigned | Status::Declined)
    }
}

/// The longest referral reason (the clinical question), in characters.
pub const REASON_MAX: usize = 4000;
/// The longest decline or withdrawal reason, in characters.
pub const STATUS_REASON_MAX: usize = 1000;
/// The longest outside referrer's name, in characters.
pub const REFERRER_NAME_MAX: usize = 200;

/// Trimmed free text of 1..=`max` characters, without control characters other than line
/// breaks and tabs. The message is what the API shows next to the field.
pub fn text(raw: &str, max: usize) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("must not be empty".into());
    }
    if t.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if t.chars()
        .any(|ch| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters".into());
    }
    Ok(t.to_owned())
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = referrals)]
pub struct ReferralRow {
    pub id: Uuid,
    pub client_id: Uuid,
    pub source: String,
    pub referred_by: Option<Uuid>,
    pub referrer_name: Option<String>,
    pub reason: String,
    pub urgency: String,
    pub department_id: Option<Uuid>,
    pub type_id: Option<Uuid>,
    pub assigned_provider_id: Option<Uuid>,
    pub status: String,
    pub status_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl ReferralRow {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::New)
    }
    pub fn source(&self) -> Source {
        Source::parse(&self.source).unwrap_or(Source::Organisation)
    }
    pub fn urgency(&self) -> Urgency {
        Urgency::parse(&self.urgency).unwrap_or(Urgency::Routine)
    }
}

#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = referrals)]
pub struct NewReferralRow {
    pub id: Uuid,
    pub client_id: Uuid,
    pub source: &'static str,
    pub referred_by: Option<Uuid>,
    pub referrer_name: Option<String>,
    pub reason: String,
    pub urgency: &'static str,
    pub department_id: Option<Uuid>,
    pub type_id: Option<Uuid>,
    pub assigned_provider_id: Option<Uuid>,
    pub status: &'static str,
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = referral_events)]
pub struct EventRow {
    pub id: Uuid,
    pub referral_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_account: Option<Uuid>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub provider_id: Option<Uuid>,
    pub reason: Option<String>,
}

/// A create request as the caller sent it; the service checks every field.
#[derive(Clone, Debug, Default)]
pub struct NewReferral {
    /// Required for staff and providers; a client may leave it out (themselves).
    pub client_id: Option<Uuid>,
    pub reason: String,
    pub urgency: Option<Urgency>,
    pub department_id: Option<Uuid>,
    pub type_id: Option<Uuid>,
    pub assigned_provider_id: Option<Uuid>,
    pub referrer_name: Option<String>,
}

/// A status change, with what it needs.
#[derive(Clone, Debug)]
pub enum Transition {
    /// new | declined → assigned (triage staff).
    Assign { provider_id: Uuid },
    /// assigned → accepted (the assigned provider).
    Accept,
    /// assigned → declined (the assigned provider), with a reason.
    Decline { reason: String },
    /// new | assigned | declined → withdrawn (triage staff or the referrer), with a reason.
    Withdraw { reason: String },
}

impl Transition {
    /// The audit action and the verb used in messages.
    pub fn verb(&self) -> (&'static str, &'static str) {
        match self {
            Transition::Assign { .. } => ("referral.assign", "assigned"),
            Transition::Accept => ("referral.accept", "accepted"),
            Transition::Decline { .. } => ("referral.decline", "declined"),
            Transition::Withdraw { .. } => ("referral.withdraw", "withdrawn"),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ReferralFilter {
    pub statuses: Vec<Status>,
    pub assigned_provider_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    pub urgency: Option<Urgency>,
}

/// A referral as the caller may see it. Fields a client does not see are `None`
/// (see [`super::service`]: the clinical reason unless they wrote it, decline and withdrawal
/// reasons, who referred them).
#[derive(Clone, Debug)]
pub struct Referral {
    pub id: Uuid,
    pub client_id: Uuid,
    pub client_name: Option<String>,
    pub source: Source,
    pub referred_by: Option<Uuid>,
    pub referrer_name: Option<String>,
    pub reason: Option<String>,
    pub urgency: Urgency,
    pub department_id: Option<Uuid>,
    pub type_id: Option<Uuid>,
    pub assigned_provider_id: Option<Uuid>,
    pub assigned_provider_name: Option<String>,
    pub status: Status,
    pub status_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// One step of a referral's history.
#[derive(Clone, Debug)]
pub struct ReferralEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_account: Option<Uuid>,
    pub actor_name: Option<String>,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub provider_id: Option<Uuid>,
    pub provider_name: Option<String>,
    pub reason: Option<String>,
}

/// A referral with its history, oldest step first.
#[derive(Clone, Debug)]
pub struct ReferralView {
    pub referral: Referral,
    pub history: Vec<ReferralEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(text("  low mood \n", 20), Ok("low mood".to_owned()));
        assert_eq!(
            text("line one\nline two", 40),
            Ok("line one\nline two".to_owned())
        );
        assert!(text("   ", 20).is_err());
        assert!(text(&"x".repeat(21), 20).is_err());
        assert!(text(&"é".repeat(20), 20).is_ok());
        assert!(text("bell\u{7}", 20).is_err());
    }

    #[test]
    fn only_new_assigned_and_declined_are_open() {
        let open: Vec<_> = Status::ALL.iter().filter(|s| s.is_open()).collect();
        assert_eq!(open, [&Status::New, &Status::Assigned, &Status::Declined]);
    }
}
