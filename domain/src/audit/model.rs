use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::identity::Principal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActorType {
    Account,
    System,
    Anonymous,
    Integration,
    Operator,
}

impl ActorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::Account => "account",
            ActorType::System => "system",
            ActorType::Anonymous => "anonymous",
            ActorType::Integration => "integration",
            ActorType::Operator => "operator",
        }
    }
}

/// Who is acting, and in which request.
#[derive(Clone, Debug)]
pub struct Actor {
    pub kind: ActorType,
    pub id: Option<Uuid>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            kind: ActorType::System,
            id: None,
            request_id: None,
        }
    }
    pub fn anonymous(request_id: Option<String>) -> Actor {
        Actor {
            kind: ActorType::Anonymous,
            id: None,
            request_id,
        }
    }
    pub fn account(id: Uuid, request_id: Option<String>) -> Actor {
        Actor {
            kind: ActorType::Account,
            id: Some(id),
            request_id,
        }
    }
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Actor {
        if p.is_integration() {
            return Actor {
                kind: ActorType::Integration,
                id: Some(p.account_id),
                request_id: p.request_id.clone(),
            };
        }
        Actor::account(p.account_id, p.request_id.clone())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// What happened. `action` is `<area>.<verb>` (e.g. `person.read`, `auth.login`).
#[derive(Clone, Debug)]
pub struct Event {
    pub action: &'static str,
    pub resource_type: Option<&'static str>,
    pub resource_id: Option<Uuid>,
    /// The clients whose records this touched.
    pub subjects: Vec<Uuid>,
    pub outcome: Outcome,
    /// Enumerated facts only (a reason code, a role name) — never free text or personal data.
    pub details: Map<String, Value>,
}

impl Event {
    pub fn new(action: &'static str) -> Event {
        Event {
            action,
            resource_type: None,
            resource_id: None,
            subjects: Vec::new(),
            outcome: Outcome::Success,
            details: Map::new(),
        }
    }
    pub fn on(mut self, resource_type: &'static str, id: Uuid) -> Event {
        self.resource_type = Some(resource_type);
        self.resource_id = Some(id);
        self
    }
    pub fn subjects(mut self, subjects: impl IntoIterator<Item = Uuid>) -> Event {
        self.subjects = subjects.into_iter().collect();
        self
    }
    pub fn outcome(mut self, outcome: Outcome) -> Event {
        self.outcome = outcome;
        self
    }
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// A stored entry, as read back.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<Uuid>,
    pub subjects: Vec<Uuid>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub details: Value,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    pub subject_id: Option<Uuid>,
    /// Exact action, or a prefix ending in `.` (e.g. `auth.`).
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Entries with a smaller sequence number (newest first paging).
    pub before_seq: Option<i64>,
    pub limit: i64,
}
