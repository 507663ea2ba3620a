//! Identity types.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A role a person holds in a tenant. A person may hold several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Administers the whole tenant; reads clinical content only through break-glass.
    InstitutionAdmin,
    /// Administers one department subtree.
    SubAdmin,
    Provider,
    /// Scheduler / front desk.
    Staff,
    Client,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::InstitutionAdmin,
        Role::SubAdmin,
        Role::Provider,
        Role::Staff,
        Role::Client,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::InstitutionAdmin => "institution_admin",
            Role::SubAdmin => "sub_admin",
            Role::Provider => "provider",
            Role::Staff => "staff",
            Role::Client => "client",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role, scoped to a department subtree where the role is scoped (sub-admin).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleGrant {
    pub role: Role,
    pub department_id: Option<Uuid>,
}

/// Who is calling: resolved from a session on every request (never cached beyond it), so a
/// revoked session or a changed role applies to the very next request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub account_id: Uuid,
    pub person_id: Option<Uuid>,
    pub session_id: Uuid,
    pub grants: Vec<RoleGrant>,
    /// The request this principal is acting in (for the audit log).
    pub request_id: Option<String>,
    /// The tenant requires MFA for one of this account's roles and it has no authenticator
    /// yet: the session may only enrol one (and sign out).
    pub mfa_enrolment_required: bool,
    /// `Some` for an OAuth2 client-credentials integration (its granted scopes); `None` for a
    /// person's account. Integrations reach only the operations the API allows them.
    pub scopes: Option<Vec<String>>,
}

impl Principal {
    pub fn is_integration(&self) -> bool {
        self.scopes.is_some()
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes
            .as_ref()
            .is_some_and(|s| s.iter().any(|x| x == scope))
    }

    pub fn has(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    pub fn roles(&self) -> Vec<Role> {
        let mut roles: Vec<Role> = self.grants.iter().map(|g| g.role).collect();
        roles.dedup();
        roles
    }

    /// Roots of the department subtrees this principal administers as sub-admin.
    pub fn sub_admin_roots(&self) -> Vec<Uuid> {
        self.grants
            .iter()
            .filter(|g| g.role == Role::SubAdmin)
            .filter_map(|g| g.department_id)
            .collect()
    }
}

/// Tokens just issued by sign-in or refresh. Shown once; only digests (refresh) are stored.
#[derive(Clone, Debug)]
pub struct IssuedSession {
    /// Signed, short-lived (10 minutes), audience = this tenant.
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    /// Single-use: exchange it for the next pair before the session's idle timeout.
    pub refresh_token: String,
    pub session_id: Uuid,
    pub session_expires_at: DateTime<Utc>,
    /// The session may only enrol an authenticator until one is confirmed.
    pub mfa_enrolment_required: bool,
}

/// A one-time secret (setup link, invitation) just issued. Shown once.
#[derive(Clone, Debug)]
pub struct IssuedOneTimeToken {
    pub token: String,
    pub account_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// The signed-in account as shown to itself.
#[derive(Clone, Debug)]
pub struct Me {
    pub account_id: Uuid,
    pub person_id: Option<Uuid>,
    pub email: String,
    pub roles: Vec<RoleGrant>,
    pub session_expires_at: DateTime<Utc>,
}
