//! Thin handlers, one `#[OpenApi]` impl per bounded context: parse, authorize (via the
//! session scheme), call a domain service, map the result.

mod access;
mod accounts;
mod appointments;
mod audit;
pub mod auth;
mod bulk;
mod caseload;
mod clients;
mod contact;
mod departments;
pub mod invitations;
mod mfa;
pub mod people;
mod referrals;
mod scheduling;
mod security;
pub mod sso;
pub mod tenant;
pub mod types;

use poem_openapi::Tags;

#[derive(Tags)]
pub enum Tag {
    /// Sign-in, first-admin set-up, sessions.
    Auth,
    /// The tenant (organisation) the request is addressed to.
    Tenant,
    /// The department tree: sites, departments, units, programs.
    Departments,
    /// The people directory: providers, staff and clients.
    People,
    /// The tenant's append-only, hash-chained audit log.
    Audit,
    /// Scheduling set-up and search: policy, locations, appointment types, availability, slots.
    Scheduling,
    /// Appointments, recurring series, the waitlist and calendar feeds.
    Appointments,
    /// Enterprise single sign-on (OIDC, SAML 2.0) and home-realm discovery.
    Sso,
    /// Referrals: the triage queue, assigning, accepting, declining, withdrawing, history.
    Referrals,
}

pub type Api = (
    auth::AuthApi,
    tenant::TenantApi,
    departments::DepartmentsApi,
    people::PeopleApi,
    audit::AuditApi,
    invitations::InvitationsApi,
    mfa::MfaApi,
    access::AccessApi,
    accounts::AccountsApi,
    security::SecurityApi,
    clients::ClientsApi,
    scheduling::SchedulingApi,
    appointments::AppointmentsApi,
    bulk::BulkApi,
    caseload::CaseloadApi,
    // poem-openapi implements `OpenApi` for tuples of up to 16 members: later APIs nest here.
    (sso::SsoApi, referrals::ReferralsApi, contact::ContactApi),
);

pub fn api() -> Api {
    (
        auth::AuthApi,
        tenant::TenantApi,
        departments::DepartmentsApi,
        people::PeopleApi,
        audit::AuditApi,
        invitations::InvitationsApi,
        mfa::MfaApi,
        access::AccessApi,
        accounts::AccountsApi,
        security::SecurityApi,
        clients::ClientsApi,
        scheduling::SchedulingApi,
        appointments::AppointmentsApi,
        bulk::BulkApi,
        caseload::CaseloadApi,
        (sso::SsoApi, referrals::ReferralsApi, contact::ContactApi),
    )
}
