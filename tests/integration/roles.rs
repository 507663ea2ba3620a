//! Identity issue: a role × operation matrix. For every operation in the OpenAPI spec and every
//! role (institution admin, sub-admin of one site, provider, staff, client) the test sends a
//! request and checks the status class the access rules imply: allowed (2xx), forbidden (403:
//! an action on something the caller may see) or hidden (404: a resource the caller may not
//! know exists). The expectations are written down here from the rules in
//! `domain/src/identity/policy.rs`, `domain/src/org/service.rs`,
//! `domain/src/identity/invite.rs` and `domain/src/audit/service.rs`, not copied from a run.
//!
//! The operation list comes from the spec: a new operation fails the test until it has a row in
//! [`MATRIX`], and a row for an operation that no longer exists fails it too. Operations that
//! need no session are marked `Public` and are exercised once, anonymously; every other
//! operation must answer 401 without an `Authorization` header.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};

use domain::identity::{Role, RoleGrant};
use poem::http::Method;
use serde_json::{Value, json};

use crate::idp::{Back, Browser, OidcIdp, SamlIdp, free_port};
use crate::support::{PASSWORD, TenantCtx, TestApp, body, read_eml, token_in};

const SLUG: &str = "roles";

/// The roles, in the order of the columns of [`MATRIX`].
const ROLES: [&str; 5] = [
    "institution_admin",
    "sub_admin",
    "provider",
    "staff",
    "client",
];

/// The status class a request must get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// 2xx.
    Allowed,
    /// 403: the caller may see the target (or the collection) but not do this.
    Forbidden,
    /// 404: the caller may not know the target exists.
    Hidden,
    /// Needs no session: exercised once without one, and must answer 2xx.
    Public,
}

impl Expect {
    fn matches(self, status: u16) -> bool {
        match self {
            Expect::Allowed => (200..300).contains(&status),
            // The SSO browser endpoints answer a success with a redirect.
            Expect::Public => (200..300).contains(&status) || status == 302,
            Expect::Forbidden => status == 403,
            Expect::Hidden => status == 404,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Expect::Allowed => "Allowed (2xx)",
            Expect::Forbidden => "Forbidden (403)",
            Expect::Hidden => "Hidden (404)",
            Expect::Public => "Public (2xx without a session)",
        }
    }
}

/// What a row's request targets. The sub-admin administers `Site 1` (and its child `Dept 1a`);
/// `Site 2` is outside their subtree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    /// No target: the collection, or the caller itself.
    Plain,
    /// `logout` with a session signed in just for it.
    OwnFreshSession,
    /// A new top-level department.
    TopLevel,
    /// `Dept 1a`, or a new department / person under it.
    InSubtree,
    /// `Site 2`, or a new department / person under it.
    OutsideSubtree,
    /// A new department under `Dept 1a`, moved to the top level (`parent_id: null`).
    MoveToTopLevel,
    /// A new, empty department under `Dept 1a` (one per role).
    FreshLeafInSubtree,
    /// A new, empty department under `Site 2` (one per role).
    FreshLeafOutside,
    /// A new person with no department.
    NoDepartment,
    /// The caller's own directory entry.
    SelfEntry,
    /// A client in `Dept 1a` (not the signed-in client).
    ClientInSubtree,
    /// A client in `Site 2`.
    ClientOutside,
    /// A provider in `Site 2`: a colleague to providers, staff and sub-admins.
    ProviderOutside,
    /// A new client in `Dept 1a` (one per role), detached from any department.
    DetachClientInSubtree,
    /// A new client in `Dept 1a` (one per role), moved to `Site 2`.
    MoveClientOutOfSubtree,
    /// A new staff member in `Dept 1a` (one per role), invited as staff.
    InviteStaffInSubtree,
    /// A new client in `Site 2` (one per role), invited as client.
    InviteClientOutside,
    /// A new staff member in `Dept 1a` (one per role), invited as sub-admin of `Dept 1a`.
    InviteSubAdminInSubtree,
    /// A new account with the role's grant (for operations that end every session).
    FreshAccount,
    /// Every holder's records of a kind (`listBreakGlass?all=true`).
    EveryHolder,
}

use Case::*;
use Expect::{Allowed as A, Forbidden as F, Hidden as H, Public as P};

/// operationId, target, expectation per role in [`ROLES`] order:
/// institution_admin, sub_admin, provider, staff, client.
#[rustfmt::skip]
const MATRIX: &[(&str, Case, [Expect; 5])] = &[
    // Anyone signed in.
    ("getTenant",             Plain,                   [A, A, A, A, A]),
    ("getMe",                 Plain,                   [A, A, A, A, A]),
    ("logout",                OwnFreshSession,         [A, A, A, A, A]),
    ("listSessions",          Plain,                   [A, A, A, A, A]),
    ("revokeSession",         OwnFreshSession,         [A, A, A, A, A]),
    ("logoutEverywhere",      FreshAccount,            [A, A, A, A, A]),
    // Second factor: everyone manages their own.
    ("getMfaStatus",          Plain,                   [A, A, A, A, A]),
    ("beginTotpEnrolment",    FreshAccount,            [A, A, A, A, A]),
    ("confirmTotpEnrolment",  FreshAccount,            [A, A, A, A, A]),
    ("disableTotp",           FreshAccount,            [A, A, A, A, A]),
    // No session needed.
    ("login",                 Plain,                   [P, P, P, P, P]),
    ("completeSetup",         Plain,                   [P, P, P, P, P]),
    ("requestPasswordReset",  Plain,                   [P, P, P, P, P]),
    ("completePasswordReset", Plain,                   [P, P, P, P, P]),
    ("refreshTokens",         Plain,                   [P, P, P, P, P]),
    ("verifyMfa",             Plain,                   [P, P, P, P, P]),
    ("issueClientToken",      Plain,                   [P, P, P, P, P]),
    // The department tree: readable by everyone who works here (policy::can_read_departments);
    // a client's list is 403 (a collection), a client's by-id read 404.
    ("listDepartments",       Plain,                   [A, A, A, A, F]),
    ("getDepartment",         InSubtree,               [A, A, A, A, H]),
    ("getDepartment",         OutsideSubtree,          [A, A, A, A, H]),
    // Creating: admins only; a sub-admin only under a parent inside their subtree.
    ("createDepartment",      TopLevel,                [A, F, F, F, F]),
    ("createDepartment",      InSubtree,               [A, A, F, F, F]),
    ("createDepartment",      OutsideSubtree,          [A, F, F, F, F]),
    // Changing: visible to staff, so 403 for those who may not administer it; 404 for clients.
    ("updateDepartment",      InSubtree,               [A, A, F, F, H]),
    ("updateDepartment",      OutsideSubtree,          [A, F, F, F, H]),
    ("updateDepartment",      MoveToTopLevel,          [A, F, F, F, H]),
    ("deleteDepartment",      FreshLeafInSubtree,      [A, A, F, F, H]),
    ("deleteDepartment",      FreshLeafOutside,        [A, F, F, F, H]),
    // The directory: everyone may list (filtered to what they may see).
    ("listPeople",            Plain,                   [A, A, A, A, A]),
    ("createPerson",          NoDepartment,            [A, F, F, F, F]),
    ("createPerson",          InSubtree,               [A, A, F, F, F]),
    ("createPerson",          OutsideSubtree,          [A, F, F, F, F]),
    // Reading: admins everyone; sub-admins their subtree plus colleagues; providers and staff
    // colleagues; clients themselves (policy::directory_scope).
    // Care teams: administrators only (a sub-admin for clients in their subtree); a
    // non-administrator is refused before any lookup.
    ("getCareTeam",           ClientInSubtree,         [A, A, F, F, F]),
    ("getCareTeam",           ClientOutside,           [A, H, F, F, F]),
    ("assignCareTeam",        ClientInSubtree,         [A, A, F, F, F]),
    ("assignCareTeam",        ClientOutside,           [A, H, F, F, F]),
    ("unassignCareTeam",      ClientInSubtree,         [A, A, F, F, F]),
    // Break-glass: anyone on the staff side (on a fresh client, so no other row is affected);
    // closing: the holder (or an institution admin); a client cannot see others' grants.
    ("openBreakGlass",        FreshAccount,            [A, A, A, A, F]),
    ("closeBreakGlass",       FreshAccount,            [A, A, A, A, H]),
    // Accounts: administrators (sub-admins for accounts in their subtree, non-admin roles).
    ("listAccounts",          Plain,                   [A, A, F, F, F]),
    // The security policy: institution admins only.
    ("getSecurityPolicy",     Plain,                   [A, F, F, F, F]),
    // API clients: institution admins only.
    ("listApiClients",        Plain,                   [A, F, F, F, F]),
    ("createApiClient",       Plain,                   [A, F, F, F, F]),
    ("revokeApiClient",       FreshAccount,            [A, F, F, F, F]),
    ("updateSecurityPolicy",  Plain,                   [A, F, F, F, F]),
    ("setAccountRoles",       InSubtree,               [A, A, F, F, F]),
    ("disableAccount",        InSubtree,               [A, A, F, F, F]),
    ("enableAccount",         InSubtree,               [A, A, F, F, F]),
    ("getPerson",             SelfEntry,               [A, A, A, A, A]),
    ("getPerson",             ClientInSubtree,         [A, A, H, H, H]),
    ("getPerson",             ClientOutside,           [A, H, H, H, H]),
    ("getPerson",             ProviderOutside,         [A, A, A, A, H]),
    // Changing: 404 if not visible, else 403 unless the caller administers its department.
    ("updatePerson",          SelfEntry,               [A, A, F, F, F]),
    ("updatePerson",          ClientInSubtree,         [A, A, H, H, H]),
    ("updatePerson",          ClientOutside,           [A, H, H, H, H]),
    ("updatePerson",          ProviderOutside,         [A, F, F, F, H]),
    ("updatePerson",          DetachClientInSubtree,   [A, F, H, H, H]),
    ("updatePerson",          MoveClientOutOfSubtree,  [A, F, H, H, H]),
    // Invitations: admins only; a sub-admin only inside their subtree (404 outside, as for
    // reading) and never granting an administrator role.
    ("createInvitation",      InviteStaffInSubtree,    [A, A, F, F, F]),
    ("createInvitation",      InviteClientOutside,     [A, H, F, F, F]),
    ("createInvitation",      InviteSubAdminInSubtree, [A, F, F, F, F]),
    // The audit log: institution admins only.
    ("searchAuditEvents",     Plain,                   [A, F, F, F, F]),
    ("exportAuditEvents",     Plain,                   [A, F, F, F, F]),
    // Scheduling set-up: read by every member; changed by institution admins.
    ("getSchedulingPolicy",   Plain,                   [A, A, A, A, A]),
    ("updateSchedulingPolicy", Plain,                  [A, F, F, F, F]),
    ("listLocations",         Plain,                   [A, A, A, A, A]),
    ("createLocation",        Plain,                   [A, F, F, F, F]),
    ("updateLocation",        Plain,                   [A, F, F, F, F]),
    ("listAppointmentTypes",  Plain,                   [A, A, A, A, A]),
    ("getAppointmentType",    Plain,                   [A, A, A, A, A]),
    ("createAppointmentType", Plain,                   [A, F, F, F, F]),
    ("updateAppointmentType", Plain,                   [A, F, F, F, F]),
    ("getTypeOffering",       Plain,                   [A, A, A, A, A]),
    ("setTypeOffering",       Plain,                   [A, F, F, F, F]),
    // Availability: the staff side reads any provider's; changing it is for the provider,
    // front desk, institution admins and sub-admins of the provider's department
    // (scheduling::reach). Clients never see it (404); they see slots.
    ("getAvailability",       InSubtree,               [A, A, A, A, H]),
    ("getAvailability",       OutsideSubtree,          [A, A, A, A, H]),
    ("putAvailability",       InSubtree,               [A, A, A, A, H]),
    ("putAvailability",       OutsideSubtree,          [A, F, F, A, H]),
    ("createAvailabilityOverride", InSubtree,          [A, A, A, A, H]),
    ("createAvailabilityOverride", OutsideSubtree,     [A, F, F, A, H]),
    ("deleteAvailabilityOverride", FreshLeafInSubtree, [A, A, A, A, H]),
    ("searchSlots",           Plain,                   [A, A, A, A, A]),
    // Appointments: on calendars the caller manages, or a client's own.
    ("listAppointments",      Plain,                   [A, A, A, A, A]),
    ("bookAppointment",       ClientInSubtree,         [A, A, A, A, F]),
    ("bookAppointment",       OutsideSubtree,          [A, F, F, A, F]),
    ("getAppointment",        InSubtree,               [A, A, A, A, H]),
    ("getAppointment",        OutsideSubtree,          [A, H, H, A, H]),
    ("getAppointment",        SelfEntry,               [A, A, A, A, A]),
    ("getAppointmentHistory", InSubtree,               [A, A, A, A, H]),
    ("listAppointmentReminders", InSubtree,            [A, A, A, A, H]),
    ("transitionAppointment", FreshLeafInSubtree,      [A, A, A, A, H]),
    ("transitionAppointment", FreshLeafOutside,        [A, H, H, A, H]),
    ("rescheduleAppointment", FreshLeafInSubtree,      [A, A, A, A, H]),
    ("createSeries",          ClientInSubtree,         [A, A, A, A, F]),
    ("getSeries",             InSubtree,               [A, A, A, A, H]),
    ("retimeSeries",          FreshLeafInSubtree,      [A, A, A, A, H]),
    ("cancelSeries",          FreshLeafInSubtree,      [A, A, A, A, H]),
    // A provider's caseload: follows the calendars (scheduling::reach); a client is refused
    // before any lookup; a provider the caller does not manage is hidden.
    ("listProviderClients",   InSubtree,               [A, A, A, A, F]),
    ("listProviderClients",   OutsideSubtree,          [A, H, H, A, F]),
    // Bulk scheduling: institution admins and sub-admins; a sub-admin sees their own batches.
    ("submitBulkBatch",       InSubtree,               [A, A, F, F, F]),
    ("listBulkBatches",       Plain,                   [A, A, F, F, F]),
    ("getBulkBatch",          InSubtree,               [A, A, F, F, F]),
    ("getBulkBatch",          OutsideSubtree,          [A, H, F, F, F]),
    ("getBulkBatchReport",    InSubtree,               [A, A, F, F, F]),
    ("getBulkBatchReport",    OutsideSubtree,          [A, H, F, F, F]),
    // Waitlist: staff for any client on calendars they manage; a client for themselves.
    ("listWaitlist",          Plain,                   [A, A, A, A, A]),
    ("joinWaitlist",          ClientInSubtree,         [A, A, A, A, F]),
    ("leaveWaitlist",         FreshLeafInSubtree,      [A, A, A, A, H]),
    ("acceptWaitlistOffer",   FreshAccount,            [H, H, H, H, A]),
    // Calendar feeds: providers and clients, of their own appointments.
    ("listCalendarFeeds",     Plain,                   [F, F, A, F, A]),
    ("createCalendarFeed",    Plain,                   [F, F, A, F, A]),
    ("revokeCalendarFeed",    FreshAccount,            [H, H, A, H, A]),
    // Single sign-on configuration: institution admins only, refused before any lookup.
    ("listSsoConnections",    Plain,                   [A, F, F, F, F]),
    ("createSsoConnection",   Plain,                   [A, F, F, F, F]),
    ("getSsoConnection",      Plain,                   [A, F, F, F, F]),
    ("issueScimToken",        Plain,                   [A, F, F, F, F]),
    ("deleteSsoConnection",   FreshAccount,            [A, F, F, F, F]),
    // The browser side of SSO needs no session (the redirects count as success).
    ("discoverSignIn",        Plain,                   [P, P, P, P, P]),
    ("startSsoSignIn",        Plain,                   [P, P, P, P, P]),
    ("finishOidcSignIn",      Plain,                   [P, P, P, P, P]),
    ("finishSamlSignIn",      Plain,                   [P, P, P, P, P]),
    ("getSamlMetadata",       Plain,                   [P, P, P, P, P]),
    ("exchangeSsoCode",       Plain,                   [P, P, P, P, P]),
    // Referrals (domain::referrals::service): visibility follows the calendars; triage
    // (assign, withdraw) is for admins, front desk and sub-admins in their subtree; accepting
    // and declining for the assigned provider only (403 for others who see it); the referrer
    // may withdraw. A client refers themselves; a provider a client on their care team.
    ("listReferrals",         Plain,                   [A, A, A, A, A]),
    ("createReferral",        ClientInSubtree,         [A, A, A, A, A]),
    ("getReferral",           InSubtree,               [A, A, A, A, A]),
    ("getReferral",           OutsideSubtree,          [A, H, H, A, H]),
    ("assignReferral",        FreshLeafInSubtree,      [A, A, H, A, H]),
    ("assignReferral",        FreshLeafOutside,        [A, H, H, A, H]),
    ("acceptReferral",        FreshLeafInSubtree,      [F, F, A, F, H]),
    ("declineReferral",       FreshLeafInSubtree,      [F, F, A, F, H]),
    ("withdrawReferral",      FreshLeafInSubtree,      [A, A, H, A, H]),
    ("withdrawReferral",      FreshLeafOutside,        [A, H, H, A, H]),
    // A client's own contact preferences (org::contact): clients only; everyone else is refused
    // before any lookup (staff change a client's number on the directory entry).
    ("getMyContact",          Plain,                   [F, F, F, F, A]),
    ("updateMyContact",       Plain,                   [F, F, F, F, A]),
    // Break-glass grants (access::list_break_glass): one's own for the staff side, as opening;
    // every holder's for institution admins only; clients are refused before any lookup.
    ("listBreakGlass",        Plain,                   [A, A, A, A, F]),
    ("listBreakGlass",        EveryHolder,             [A, F, F, F, F]),
];

/// One operation as the spec describes it.
struct Op {
    method: Method,
    path: String,
    path_params: Vec<String>,
    secured: bool,
}

fn spec_ops() -> BTreeMap<String, Op> {
    let spec: Value = serde_json::from_str(&swiftacare_api::openapi::spec_json()).expect("spec");
    let mut ops = BTreeMap::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            let id = op["operationId"].as_str().expect("operationId").to_owned();
            let path_params = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().expect("parameter name").to_owned())
                .collect();
            let op = Op {
                method: Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method"),
                path: format!("/api/v1{path}"),
                path_params,
                secured: op["security"].is_array(),
            };
            assert!(ops.insert(id.clone(), op).is_none(), "duplicate {id}");
        }
    }
    ops
}

/// A request to send, apart from its method and path template (from the spec).
#[derive(Default)]
struct Call {
    /// Path parameters by name.
    ids: Vec<(&'static str, String)>,
    body: Option<Value>,
    if_match: Option<String>,
    /// Use this session instead of the role's.
    token: Option<String>,
    /// A form-encoded body (the OAuth2 token endpoint, the SAML ACS).
    form: Option<String>,
    /// A query string.
    /// A query string (the OIDC callback).
    query: Option<String>,
}

impl Call {
    fn id(mut self, name: &'static str, value: &str) -> Call {
        self.ids.push((name, value.to_owned()));
        self
    }
    fn body(mut self, body: Value) -> Call {
        self.body = Some(body);
        self
    }
    fn form(mut self, form: String) -> Call {
        self.form = Some(form);
        self
    }
    fn query(mut self, q: String) -> Call {
        self.query = Some(q);
        self
    }
    fn if_match(mut self, etag: String) -> Call {
        self.if_match = Some(etag);
        self
    }
}

/// The tenant, its department tree, one signed-in account per role and the target people.
struct World<'a> {
    app: &'a TestApp,
    t: TenantCtx,
    site1: String,
    dept1a: String,
    site2: String,
    /// Per role, in [`ROLES`] order.
    tokens: Vec<String>,
    emails: Vec<String>,
    people: Vec<String>,
    client_in: String,
    client_out: String,
    provider_out: String,
    counter: AtomicU32,
    sched: Sched,
    /// Real IdPs and a connection to each (for the SSO rows).
    _saml_idp: SamlIdp,
    saml_conn: Value,
    _oidc_idp: OidcIdp,
    oidc_conn: Value,
}

/// Scheduling targets: a type, a location, appointments and a series on the in-subtree
/// provider's (role 2) and the outside provider's calendars.
struct Sched {
    type_id: String,
    location: String,
    appt_in: String,
    appt_out: String,
    appt_self: String,
    series_in: String,
    /// A bulk batch submitted by the sub-admin (`InSubtree`) and one by the institution admin.
    batch_sub: String,
    batch_admin: String,
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

impl World<'_> {
    async fn new(app: &TestApp) -> World<'_> {
        let t = app.tenant(SLUG).await;
        let site1 = id_of(&app.department(&t, "Site 1", None).await);
        let dept1a = id_of(&app.department(&t, "Dept 1a", Some(&site1)).await);
        let site2 = id_of(&app.department(&t, "Site 2", None).await);

        // The tenant's admin is the institution admin; its directory entry comes from getMe.
        let me = body(app.get(SLUG, Some(&t.admin_token), "/api/v1/auth/me").await).await;
        let admin_person = me["person_id"]
            .as_str()
            .expect("admin person_id")
            .to_owned();
        let mut tokens = vec![t.admin_token.clone()];
        let mut emails = vec![t.admin_email.clone()];
        let mut people = vec![admin_person];
        let others: [(&str, &str, &str, &str, RoleGrant); 4] = [
            (
                "staff",
                "Sub",
                "sub-admin@roles.test",
                &site1,
                RoleGrant {
                    role: Role::SubAdmin,
                    department_id: Some(uuid::Uuid::parse_str(&site1).expect("uuid")),
                },
            ),
            (
                "provider",
                "Prov",
                "provider@roles.test",
                &dept1a,
                RoleGrant {
                    role: Role::Provider,
                    department_id: None,
                },
            ),
            (
                "staff",
                "Staff",
                "staff@roles.test",
                &site1,
                RoleGrant {
                    role: Role::Staff,
                    department_id: None,
                },
            ),
            (
                "client",
                "Client",
                "client@roles.test",
                &dept1a,
                RoleGrant {
                    role: Role::Client,
                    department_id: None,
                },
            ),
        ];
        for (kind, given, email, dept, grant) in others {
            let person = app.person(&t, kind, given, email, Some(dept)).await;
            tokens.push(app.account(&t, &person, &[grant]).await);
            emails.push(email.to_owned());
            people.push(id_of(&person));
        }
        let client_in = id_of(
            &app.person(&t, "client", "Inside", "inside@roles.test", Some(&dept1a))
                .await,
        );
        let client_out = id_of(
            &app.person(&t, "client", "Outside", "outside@roles.test", Some(&site2))
                .await,
        );
        let provider_out = id_of(
            &app.person(
                &t,
                "provider",
                "Colleague",
                "colleague@roles.test",
                Some(&site2),
            )
            .await,
        );
        // Scheduling: both providers work every day (UTC); one self-bookable type.
        for p in [&people[2], &provider_out] {
            crate::scheduling::hours(
                app,
                &t,
                p,
                "UTC",
                crate::scheduling::all_week("00:00", "23:55"),
            )
            .await;
        }
        let type_id =
            crate::scheduling::appointment_type(app, &t, "Matrix session", json!({})).await;
        let r = app
            .post(
                SLUG,
                Some(&t.admin_token),
                "/api/v1/locations",
                json!({"name": "Matrix clinic", "timezone": "UTC"}),
            )
            .await;
        let location = id_of(&body(r).await);
        let book = async |provider: &str, client: &str, minutes: i64| {
            let r = crate::scheduling::book_as(
                app,
                SLUG,
                &t.admin_token,
                provider,
                Some(client),
                &type_id,
                crate::scheduling::at(1, minutes),
            )
            .await;
            assert_eq!(r.0.status().as_u16(), 201, "book for the matrix");
            id_of(&body(r).await)
        };
        let appt_in = book(&people[2], &client_in, 600).await;
        let appt_out = book(&provider_out, &client_out, 600).await;
        let appt_self = book(&people[2], &people[4], 720).await;
        let series_in = World::series(app, &t, &people[2], &client_in, &type_id, 300).await;
        let batch = async |token: &str| {
            let id = uuid::Uuid::now_v7().to_string();
            let r = app
                .post(
                    SLUG,
                    Some(token),
                    &format!("/api/v1/bulk-batches?batch_id={id}"),
                    World::bulk_rows(&people[2], &client_in, &type_id),
                )
                .await;
            assert_eq!(r.0.status().as_u16(), 202, "bulk batch for the matrix");
            id
        };
        let batch_sub = batch(&tokens[1]).await;
        let batch_admin = batch(&t.admin_token).await;
        let sched = Sched {
            type_id,
            location,
            appt_in,
            appt_out,
            appt_self,
            series_in,
            batch_sub,
            batch_admin,
        };
        // SSO: a SAML and an OIDC connection, each to a real IdP.
        let saml_idp = SamlIdp::start().await;
        let r = app
            .post(
                SLUG,
                Some(&t.admin_token),
                "/api/v1/sso/connections",
                json!({"name": "SAML", "protocol": "saml", "domains": ["clinic.example"],
                       "saml": {"metadata_url": saml_idp.metadata_url()},
                       "group_mappings": [{"group": "therapists", "role": "provider"}]}),
            )
            .await;
        assert_eq!(r.0.status().as_u16(), 201, "saml connection");
        let saml_conn = body(r).await;
        saml_idp.trust_sp(
            saml_conn["saml_entity_id"].as_str().expect("entity"),
            saml_conn["saml_acs_url"].as_str().expect("acs"),
        );
        let port = free_port();
        let r = app
            .post(
                SLUG,
                Some(&t.admin_token),
                "/api/v1/sso/connections",
                crate::sso::oidc_spec(
                    &format!("http://127.0.0.1:{port}"),
                    json!([{"group": "therapists", "role": "provider"}]),
                ),
            )
            .await;
        assert_eq!(r.0.status().as_u16(), 201, "oidc connection");
        let oidc_conn = body(r).await;
        let oidc_idp = OidcIdp::start(
            port,
            &[oidc_conn["oidc_redirect_uri"]
                .as_str()
                .expect("cb")
                .to_owned()],
            crate::sso::oidc_users(),
        )
        .await;
        World {
            app,
            t,
            site1,
            dept1a,
            site2,
            tokens,
            emails,
            people,
            client_in,
            client_out,
            provider_out,
            counter: AtomicU32::new(0),
            sched,
            _saml_idp: saml_idp,
            saml_conn,
            _oidc_idp: oidc_idp,
            oidc_conn,
        }
    }

    /// Signs a mapped user in at a real IdP and returns how the IdP hands the browser back.
    async fn sso_back(&self, conn: &Value, login: &[(&str, &str)]) -> Back {
        let start = conn["start_url"].as_str().expect("start");
        let r = self
            .app
            .client
            .get(start.strip_prefix("http://test").expect("path"))
            .send()
            .await;
        assert_eq!(r.0.status().as_u16(), 302, "start");
        let idp_url = r.0.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        Browser::returning_to("http://test")
            .sign_in_at_idp(&idp_url, login)
            .await
    }

    /// A weekly series of two, starting `days` from now at 06:00 UTC.
    async fn series(
        app: &TestApp,
        t: &TenantCtx,
        provider: &str,
        client: &str,
        type_id: &str,
        days: i64,
    ) -> String {
        let first = crate::scheduling::at(days, 360).naive_utc();
        let r = app
            .post(
                SLUG,
                Some(&t.admin_token),
                "/api/v1/appointment-series",
                json!({"provider_id": provider, "client_id": client, "type_id": type_id,
                       "first_start": first.format("%Y-%m-%dT%H:%M:%S").to_string(),
                       "rrule": "FREQ=WEEKLY;COUNT=2"}),
            )
            .await;
        assert_eq!(r.0.status().as_u16(), 201, "series for the matrix");
        body(r).await["series"]["id"]
            .as_str()
            .expect("series id")
            .to_owned()
    }

    /// A distinct 30-minute start on the in-subtree provider's calendar, days 2.. ahead.
    fn slot(&self) -> String {
        let n = i64::from(self.next());
        crate::scheduling::at(2 + n / 40, (n % 40) * 30).to_rfc3339()
    }

    /// A fresh booking by the admin; returns its id.
    async fn fresh_appointment(&self, provider: &str) -> String {
        let (client, _) = self.fresh_person("client", &self.dept1a).await;
        let r = self
            .app
            .post(
                SLUG,
                Some(self.admin()),
                "/api/v1/appointments",
                json!({"provider_id": provider, "client_id": client, "type_id": self.sched.type_id, "starts_at": self.slot()}),
            )
            .await;
        assert_eq!(r.0.status().as_u16(), 201, "fresh appointment");
        id_of(&body(r).await)
    }

    /// A fresh waitlist entry (for a fresh client unless `client` is given), by the admin.
    async fn fresh_entry(
        &self,
        client: Option<&str>,
        type_id: &str,
        from: &str,
        until: &str,
    ) -> String {
        let client = match client {
            Some(c) => c.to_owned(),
            None => self.fresh_person("client", &self.dept1a).await.0,
        };
        let r = self
            .app
            .post(
                SLUG,
                Some(self.admin()),
                "/api/v1/waitlist",
                json!({"client_id": client, "provider_id": self.people[2], "type_id": type_id,
                       "window_from": from, "window_until": until}),
            )
            .await;
        assert_eq!(r.0.status().as_u16(), 201, "fresh waitlist entry");
        id_of(&body(r).await)
    }

    fn admin(&self) -> &str {
        &self.t.admin_token
    }

    fn next(&self) -> u32 {
        self.counter.fetch_add(1, Ordering::SeqCst)
    }

    /// The current ETag of a resource, read by the admin.
    async fn etag(&self, path: &str) -> String {
        let r = self.app.get(SLUG, Some(self.admin()), path).await;
        assert_eq!(r.0.status().as_u16(), 200, "admin GET {path}");
        r.0.headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .expect("ETag header")
            .to_owned()
    }

    async fn department_etag(&self, id: &str) -> String {
        self.etag(&format!("/api/v1/departments/{id}")).await
    }

    async fn person_etag(&self, id: &str) -> String {
        self.etag(&format!("/api/v1/people/{id}")).await
    }

    async fn fresh_department(&self, parent: &str) -> String {
        let name = format!("Fresh {}", self.next());
        id_of(&self.app.department(&self.t, &name, Some(parent)).await)
    }

    /// A new account holding role `r`'s grant; returns its access token and email.
    async fn fresh_account(&self, r: usize) -> (String, String) {
        let (kind, grant) = match r {
            0 => (
                "staff",
                RoleGrant {
                    role: Role::InstitutionAdmin,
                    department_id: None,
                },
            ),
            1 => (
                "staff",
                RoleGrant {
                    role: Role::SubAdmin,
                    department_id: uuid::Uuid::parse_str(&self.site1).ok(),
                },
            ),
            2 => (
                "provider",
                RoleGrant {
                    role: Role::Provider,
                    department_id: None,
                },
            ),
            3 => (
                "staff",
                RoleGrant {
                    role: Role::Staff,
                    department_id: None,
                },
            ),
            _ => (
                "client",
                RoleGrant {
                    role: Role::Client,
                    department_id: None,
                },
            ),
        };
        let (id, email) = self.fresh_person(kind, &self.site1).await;
        let token = self
            .app
            .account(&self.t, &json!({"id": id, "email": email}), &[grant])
            .await;
        (token, email)
    }

    async fn fresh_person(&self, kind: &str, department: &str) -> (String, String) {
        let email = format!("fresh{}@roles.test", self.next());
        let p = self
            .app
            .person(&self.t, kind, "Fresh", &email, Some(department))
            .await;
        (id_of(&p), email)
    }

    /// The single-use secret in the latest mail to this address.
    /// The secret in the newest mail to `email`, waiting up to 5 s (some mail is sent in the
    /// background).
    async fn mailed_token(&self, email: &str) -> String {
        let to = format!("To: {email}");
        let started = std::time::Instant::now();
        loop {
            let found = read_eml(self.app.mail_dir.path())
                .iter()
                .rev()
                .find(|m| m.contains(&to))
                .and_then(|m| token_in(m));
            if let Some(t) = found {
                return t;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "no mail with a token to {email}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// The request for one row of the matrix, sent as role `r`. Creates the fresh resources a
    /// mutating row needs, and reads the current ETag for updates and deletes.
    /// A one-row bulk batch for the in-subtree provider and client.
    fn bulk_rows(provider: &str, client: &str, type_id: &str) -> Value {
        json!({"rows": [{"client_id": client, "provider_id": provider, "type_id": type_id,
                         "window_from": crate::scheduling::at(200, 0).to_rfc3339(),
                         "window_until": crate::scheduling::at(201, 0).to_rfc3339()}]})
    }

    async fn call_for(&self, op_id: &str, case: Case, r: usize) -> Call {
        let n = self.next();
        match (op_id, case) {
            (
                "getTenant" | "getMe" | "listDepartments" | "listPeople" | "searchAuditEvents"
                | "exportAuditEvents" | "listSessions" | "getMfaStatus" | "listAccounts"
                | "getSecurityPolicy" | "listApiClients" | "listSsoConnections",
                Plain,
            ) => Call::default(),
            ("setAccountRoles" | "disableAccount" | "enableAccount", InSubtree) => {
                // A fresh staff account inside the sub-admin's subtree.
                let (id, email) = self.fresh_person("staff", &self.dept1a).await;
                let token = self
                    .app
                    .account(
                        &self.t,
                        &json!({"id": id, "email": email}),
                        &[RoleGrant {
                            role: Role::Staff,
                            department_id: None,
                        }],
                    )
                    .await;
                let account = body(self.app.get(SLUG, Some(&token), "/api/v1/auth/me").await).await
                    ["account_id"]
                    .as_str()
                    .expect("account id")
                    .to_owned();
                if op_id == "enableAccount" {
                    let d = self
                        .app
                        .client
                        .post(format!("/api/v1/accounts/{account}/disable"))
                        .header("X-Tenant", SLUG)
                        .header("Authorization", format!("Bearer {}", self.admin()))
                        .send()
                        .await;
                    assert_eq!(d.0.status().as_u16(), 200, "disable before enable");
                }
                let call = Call::default().id("account_id", &account);
                if op_id == "setAccountRoles" {
                    call.body(json!({"roles": [{"role": "staff"}]}))
                } else {
                    call
                }
            }
            ("createSsoConnection", Plain) => Call::default().body(json!({
                "name": format!("Matrix {n}"), "protocol": "oidc",
                "oidc": {"issuer": "https://idp.example", "client_id": "c", "client_secret": "s"}
            })),
            ("getSsoConnection" | "issueScimToken", Plain) => {
                Call::default().id("connection_id", &id_of(&self.saml_conn))
            }
            ("deleteSsoConnection", FreshAccount) => {
                let r2 = self
                    .app
                    .post(
                        SLUG,
                        Some(self.admin()),
                        "/api/v1/sso/connections",
                        json!({"name": format!("Doomed {n}"), "protocol": "oidc",
                               "oidc": {"issuer": "https://idp.example", "client_id": "c", "client_secret": "s"}}),
                    )
                    .await;
                Call::default().id("connection_id", &id_of(&body(r2).await))
            }
            ("createApiClient", Plain) => {
                Call::default().body(json!({"name": "Matrix client", "scopes": ["directory:read"]}))
            }
            ("revokeApiClient", FreshAccount) => {
                let r2 = self
                    .app
                    .post(
                        SLUG,
                        Some(self.admin()),
                        "/api/v1/oauth-clients",
                        json!({"name": "Matrix client", "scopes": ["directory:read"]}),
                    )
                    .await;
                let id = body(r2).await["client"]["id"]
                    .as_str()
                    .expect("client id")
                    .to_owned();
                Call::default().id("client_id", &id)
            }
            ("updateSecurityPolicy", Plain) => {
                let r2 = self
                    .app
                    .get(SLUG, Some(self.admin()), "/api/v1/security-policy")
                    .await;
                let tag =
                    r2.0.headers()
                        .get("etag")
                        .and_then(|v| v.to_str().ok())
                        .expect("etag")
                        .to_owned();
                Call::default()
                    .if_match(tag)
                    .body(json!({"session_idle_minutes": 30}))
            }
            ("getCareTeam", ClientInSubtree) => Call::default().id("person_id", &self.client_in),
            ("getCareTeam", ClientOutside) => Call::default().id("person_id", &self.client_out),
            ("assignCareTeam", ClientInSubtree | ClientOutside) => {
                let client = if case == ClientInSubtree {
                    &self.client_in
                } else {
                    &self.client_out
                };
                Call::default()
                    .id("person_id", client)
                    .body(json!({"provider_id": self.provider_out}))
            }
            ("unassignCareTeam", ClientInSubtree) => {
                // The assignment exists before each role tries to remove it.
                let r2 = self
                    .app
                    .post(
                        SLUG,
                        Some(self.admin()),
                        &format!("/api/v1/people/{}/care-team", self.client_in),
                        json!({"provider_id": self.provider_out}),
                    )
                    .await;
                assert_eq!(r2.0.status().as_u16(), 204, "assign before unassign");
                Call::default()
                    .id("person_id", &self.client_in)
                    .id("provider_id", &self.provider_out)
            }
            ("openBreakGlass", FreshAccount) => {
                let (client, _) = self.fresh_person("client", &self.site2).await;
                Call::default().body(json!({"client_id": client, "reason_code": "emergency", "reason": "roles matrix: a stated reason"}))
            }
            ("closeBreakGlass", FreshAccount) => {
                // Opened by the role itself (or, for a client, by the admin: not theirs to close).
                let (client, _) = self.fresh_person("client", &self.site2).await;
                let opener = if r == 4 {
                    self.admin().to_owned()
                } else {
                    self.tokens[r].clone()
                };
                let g = self
                    .app
                    .post(SLUG, Some(&opener), "/api/v1/break-glass", json!({"client_id": client, "reason_code": "emergency", "reason": "roles matrix: a stated reason"}))
                    .await;
                let grant = body(g).await["id"].as_str().expect("grant id").to_owned();
                Call::default().id("grant_id", &grant)
            }
            ("revokeSession", OwnFreshSession) => {
                // A second session of the same account, ended from a third.
                let r2 = self
                    .app
                    .post(
                        SLUG,
                        None,
                        "/api/v1/auth/login",
                        json!({"email": self.emails[r], "password": PASSWORD}),
                    )
                    .await;
                let other = body(r2).await["session_id"]
                    .as_str()
                    .expect("session_id")
                    .to_owned();
                Call {
                    token: Some(self.app.login(SLUG, &self.emails[r], PASSWORD).await),
                    ..Call::default()
                }
                .id("session_id", &other)
            }
            ("logoutEverywhere" | "beginTotpEnrolment", FreshAccount) => Call {
                token: Some(self.fresh_account(r).await.0),
                ..Call::default()
            },
            ("confirmTotpEnrolment", FreshAccount) => {
                let (token, _) = self.fresh_account(r).await;
                let e = body(
                    self.app
                        .post(SLUG, Some(&token), "/api/v1/auth/mfa/totp", json!({}))
                        .await,
                )
                .await;
                let code = crate::support::totp_code(e["secret"].as_str().expect("secret"), 0);
                Call {
                    token: Some(token),
                    ..Call::default()
                }
                .body(json!({"code": code}))
            }
            ("disableTotp", FreshAccount) => {
                let (token, _) = self.fresh_account(r).await;
                let (_, recovery) = crate::support::enrol_totp(self.app, SLUG, &token).await;
                Call {
                    token: Some(token),
                    ..Call::default()
                }
                .body(json!({"recovery_code": recovery[0]}))
            }
            ("logout", OwnFreshSession) => Call {
                token: Some(self.app.login(SLUG, &self.emails[r], PASSWORD).await),
                ..Call::default()
            },
            ("getDepartment", InSubtree) => Call::default().id("department_id", &self.dept1a),
            ("getDepartment", OutsideSubtree) => Call::default().id("department_id", &self.site2),
            ("createDepartment", TopLevel | InSubtree | OutsideSubtree) => {
                let parent = match case {
                    InSubtree => Some(self.dept1a.as_str()),
                    OutsideSubtree => Some(self.site2.as_str()),
                    _ => None,
                };
                Call::default()
                    .body(json!({"name": format!("New {n}"), "kind": "unit", "parent_id": parent}))
            }
            ("updateDepartment", InSubtree | OutsideSubtree) => {
                let id = if case == InSubtree {
                    &self.dept1a
                } else {
                    &self.site2
                };
                Call::default()
                    .id("department_id", id)
                    .if_match(self.department_etag(id).await)
                    .body(json!({"name": format!("Renamed {n}")}))
            }
            ("updateDepartment", MoveToTopLevel) => {
                let id = self.fresh_department(&self.dept1a).await;
                Call::default()
                    .id("department_id", &id)
                    .if_match(self.department_etag(&id).await)
                    .body(json!({"parent_id": null}))
            }
            ("deleteDepartment", FreshLeafInSubtree | FreshLeafOutside) => {
                let parent = if case == FreshLeafInSubtree {
                    &self.dept1a
                } else {
                    &self.site2
                };
                let id = self.fresh_department(parent).await;
                Call::default()
                    .id("department_id", &id)
                    .if_match(self.department_etag(&id).await)
            }
            ("createPerson", NoDepartment | InSubtree | OutsideSubtree) => {
                let department = match case {
                    InSubtree => Some(self.dept1a.as_str()),
                    OutsideSubtree => Some(self.site2.as_str()),
                    _ => None,
                };
                Call::default().body(json!({
                    "kind": "client",
                    "given_name": format!("New {n}"),
                    "family_name": "Person",
                    "department_id": department,
                }))
            }
            (
                "getPerson" | "updatePerson",
                SelfEntry | ClientInSubtree | ClientOutside | ProviderOutside,
            ) => {
                let id = match case {
                    SelfEntry => &self.people[r],
                    ClientInSubtree => &self.client_in,
                    ClientOutside => &self.client_out,
                    _ => &self.provider_out,
                };
                let call = Call::default().id("person_id", id);
                if op_id == "getPerson" {
                    call
                } else {
                    call.if_match(self.person_etag(id).await)
                        .body(json!({"given_name": format!("Renamed {n}")}))
                }
            }
            ("updatePerson", DetachClientInSubtree | MoveClientOutOfSubtree) => {
                let (id, _) = self.fresh_person("client", &self.dept1a).await;
                let department = if case == DetachClientInSubtree {
                    Value::Null
                } else {
                    Value::String(self.site2.clone())
                };
                Call::default()
                    .id("person_id", &id)
                    .if_match(self.person_etag(&id).await)
                    .body(json!({"department_id": department}))
            }
            (
                "createInvitation",
                InviteStaffInSubtree | InviteClientOutside | InviteSubAdminInSubtree,
            ) => {
                let (kind, department, role) = match case {
                    InviteStaffInSubtree => ("staff", &self.dept1a, json!({"role": "staff"})),
                    InviteClientOutside => ("client", &self.site2, json!({"role": "client"})),
                    _ => (
                        "staff",
                        &self.dept1a,
                        json!({"role": "sub_admin", "department_id": self.dept1a}),
                    ),
                };
                let (id, _) = self.fresh_person(kind, department).await;
                Call::default().body(json!({"person_id": id, "roles": [role]}))
            }
            (
                "getSchedulingPolicy"
                | "listLocations"
                | "listAppointmentTypes"
                | "listAppointments"
                | "listBulkBatches"
                | "listWaitlist"
                | "listCalendarFeeds"
                | "createCalendarFeed",
                Plain,
            ) => Call::default(),
            ("updateSchedulingPolicy", Plain) => Call::default()
                .if_match(self.etag("/api/v1/scheduling/policy").await)
                .body(json!({"waitlist_offer_minutes": 120})),
            ("createLocation", Plain) => Call::default()
                .body(json!({"name": format!("Clinic {n}"), "timezone": "Europe/London"})),
            ("updateLocation", Plain) => {
                let loc = &self.sched.location;
                // No single-location GET: the version is read from the list.
                let list = body(
                    self.app
                        .get(SLUG, Some(self.admin()), "/api/v1/locations")
                        .await,
                )
                .await;
                let version = list
                    .as_array()
                    .and_then(|ls| ls.iter().find(|l| l["id"] == json!(loc)))
                    .and_then(|l| l["version"].as_i64())
                    .expect("location version");
                Call::default()
                    .id("location_id", loc)
                    .if_match(format!("\"{version}\""))
                    .body(json!({"address": format!("Street {n}")}))
            }
            ("getAppointmentType" | "getTypeOffering", Plain) => {
                Call::default().id("type_id", &self.sched.type_id)
            }
            // Offered by all (as before), so no other case is affected.
            ("setTypeOffering", Plain) => Call::default()
                .id("type_id", &self.sched.type_id)
                .if_match(
                    self.etag(&format!("/api/v1/appointment-types/{}", self.sched.type_id))
                        .await,
                )
                .body(json!({"all_providers": true, "provider_ids": []})),
            ("createAppointmentType", Plain) => Call::default().body(
                json!({"name": format!("Type {n}"), "duration_minutes": 50, "modality": "video"}),
            ),
            ("updateAppointmentType", Plain) => Call::default()
                .id("type_id", &self.sched.type_id)
                .if_match(
                    self.etag(&format!("/api/v1/appointment-types/{}", self.sched.type_id))
                        .await,
                )
                .body(json!({"cancellation_window_minutes": 1440 + n})),
            (
                "getAvailability" | "putAvailability" | "createAvailabilityOverride",
                InSubtree | OutsideSubtree,
            ) => {
                let provider = if case == InSubtree {
                    &self.people[2]
                } else {
                    &self.provider_out
                };
                let call = Call::default().id("provider_id", provider);
                match op_id {
                    "getAvailability" => call,
                    "putAvailability" => call
                        .if_match(self.etag(&format!("/api/v1/providers/{provider}/availability")).await)
                        .body(json!({"timezone": "UTC", "rules": crate::scheduling::all_week("00:00", "23:55")})),
                    _ => call.body(json!({"date": "2031-01-01", "kind": "extra", "start": format!("{:02}:00", n % 24), "end": format!("{:02}:30", n % 24)})),
                }
            }
            ("deleteAvailabilityOverride", FreshLeafInSubtree) => {
                let provider = &self.people[2];
                let r = self
                    .app
                    .post(
                        SLUG,
                        Some(self.admin()),
                        &format!("/api/v1/providers/{provider}/availability/overrides"),
                        json!({"date": "2031-02-01", "kind": "time_off"}),
                    )
                    .await;
                let o = id_of(&body(r).await);
                Call::default()
                    .id("provider_id", provider)
                    .id("override_id", &o)
            }
            ("searchSlots", Plain) => {
                let day = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
                // Query parameters travel in the path template's place.
                Call::default().query(format!(
                    "type={}&provider={}&from={day}&to={day}&tz=America/Toronto",
                    self.sched.type_id, self.people[2]
                ))
            }
            ("bookAppointment", ClientInSubtree | OutsideSubtree) => {
                let (provider, client) = if case == ClientInSubtree {
                    (
                        self.people[2].clone(),
                        self.fresh_person("client", &self.dept1a).await.0,
                    )
                } else {
                    (
                        self.provider_out.clone(),
                        self.fresh_person("client", &self.site2).await.0,
                    )
                };
                Call::default().body(json!({"provider_id": provider, "client_id": client,
                    "type_id": self.sched.type_id, "starts_at": self.slot()}))
            }
            (
                "getAppointment" | "getAppointmentHistory" | "listAppointmentReminders",
                InSubtree | OutsideSubtree | SelfEntry,
            ) => {
                let id = match case {
                    InSubtree => &self.sched.appt_in,
                    OutsideSubtree => &self.sched.appt_out,
                    _ => &self.sched.appt_self,
                };
                Call::default().id("appointment_id", id)
            }
            (
                "transitionAppointment" | "rescheduleAppointment",
                FreshLeafInSubtree | FreshLeafOutside,
            ) => {
                let provider = if case == FreshLeafInSubtree {
                    self.people[2].clone()
                } else {
                    self.provider_out.clone()
                };
                let id = self.fresh_appointment(&provider).await;
                let call = Call::default()
                    .id("appointment_id", &id)
                    .if_match(self.etag(&format!("/api/v1/appointments/{id}")).await);
                if op_id == "transitionAppointment" {
                    call.body(json!({"action": "cancel", "reason": "scheduling_error"}))
                } else {
                    call.body(json!({"starts_at": self.slot()}))
                }
            }
            ("createSeries", ClientInSubtree) => {
                let (client, _) = self.fresh_person("client", &self.dept1a).await;
                let first = crate::scheduling::at(100 + i64::from(n % 50) * 3, 360).naive_utc();
                Call::default().body(json!({"provider_id": self.people[2], "client_id": client,
                    "type_id": self.sched.type_id, "first_start": first.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "rrule": "FREQ=WEEKLY;COUNT=2"}))
            }
            ("listProviderClients", InSubtree) => {
                Call::default().id("provider_id", &self.people[2])
            }
            ("listProviderClients", OutsideSubtree) => {
                Call::default().id("provider_id", &self.provider_out)
            }
            ("getSeries", InSubtree) => Call::default().id("series_id", &self.sched.series_in),
            ("submitBulkBatch", InSubtree) => Call::default()
                .query(format!("batch_id={}", uuid::Uuid::now_v7()))
                .body(World::bulk_rows(
                    &self.people[2],
                    &self.client_in,
                    &self.sched.type_id,
                )),
            ("getBulkBatch" | "getBulkBatchReport", InSubtree) => {
                Call::default().id("batch_id", &self.sched.batch_sub)
            }
            ("getBulkBatch" | "getBulkBatchReport", OutsideSubtree) => {
                Call::default().id("batch_id", &self.sched.batch_admin)
            }
            ("retimeSeries" | "cancelSeries", FreshLeafInSubtree) => {
                let (client, _) = self.fresh_person("client", &self.dept1a).await;
                let id = World::series(
                    self.app,
                    &self.t,
                    &self.people[2],
                    &client,
                    &self.sched.type_id,
                    310 + i64::from(n % 50) * 7,
                )
                .await;
                let call = Call::default()
                    .id("series_id", &id)
                    .if_match(self.etag(&format!("/api/v1/appointment-series/{id}")).await);
                if op_id == "retimeSeries" {
                    call.body(json!({"scope": "all", "local_time": "07:00"}))
                } else {
                    call.body(json!({"scope": "all"}))
                }
            }
            ("joinWaitlist", ClientInSubtree) => {
                let (client, _) = self.fresh_person("client", &self.dept1a).await;
                Call::default().body(json!({"client_id": client, "provider_id": self.people[2],
                    "type_id": self.sched.type_id,
                    "window_from": crate::scheduling::at(30, 0).to_rfc3339(),
                    "window_until": crate::scheduling::at(31, 0).to_rfc3339()}))
            }
            ("leaveWaitlist", FreshLeafInSubtree) => {
                let e = self
                    .fresh_entry(
                        None,
                        &self.sched.type_id,
                        &crate::scheduling::at(30, 0).to_rfc3339(),
                        &crate::scheduling::at(31, 0).to_rfc3339(),
                    )
                    .await;
                Call::default().id("entry_id", &e)
            }
            ("acceptWaitlistOffer", FreshAccount) => {
                // A type of its own, so no other entry competes for the offer; the signed-in
                // client waits when the row is the client's, a fresh client otherwise.
                let type_id = crate::scheduling::appointment_type(
                    self.app,
                    &self.t,
                    &format!("Offer {n}"),
                    json!({}),
                )
                .await;
                let day = 40 + i64::from(n % 40);
                let start = crate::scheduling::at(day, 600);
                let waiter = (r == 4).then(|| self.people[4].clone());
                let entry = self
                    .fresh_entry(
                        waiter.as_deref(),
                        &type_id,
                        &crate::scheduling::at(day, 0).to_rfc3339(),
                        &crate::scheduling::at(day + 1, 0).to_rfc3339(),
                    )
                    .await;
                let (holder, _) = self.fresh_person("client", &self.dept1a).await;
                let b = crate::scheduling::book_as(
                    self.app,
                    SLUG,
                    self.admin(),
                    &self.people[2],
                    Some(&holder),
                    &type_id,
                    start,
                )
                .await;
                let tag =
                    b.0.headers()
                        .get("etag")
                        .and_then(|v| v.to_str().ok())
                        .expect("etag")
                        .to_owned();
                let held = id_of(&body(b).await);
                let c = crate::scheduling::send(
                    self.app,
                    Method::POST,
                    SLUG,
                    self.admin(),
                    &format!("/api/v1/appointments/{held}/transitions"),
                    Some(&tag),
                    Some(json!({"action": "cancel"})),
                )
                .await;
                assert_eq!(c.0.status().as_u16(), 200, "free the slot");
                let list = body(
                    self.app
                        .get(SLUG, Some(self.admin()), "/api/v1/waitlist")
                        .await,
                )
                .await;
                let offer = list
                    .as_array()
                    .and_then(|es| es.iter().find(|e| e["id"] == json!(entry)))
                    .and_then(|e| e["offers"][0]["id"].as_str())
                    .expect("an offer")
                    .to_owned();
                Call::default().id("offer_id", &offer)
            }
            ("revokeCalendarFeed", FreshAccount) => {
                // The caller's own feed where it may have one, else the provider's.
                let owner = if r == 2 || r == 4 {
                    &self.tokens[r]
                } else {
                    &self.tokens[2]
                };
                let f = self
                    .app
                    .post(SLUG, Some(owner), "/api/v1/calendar-feeds", json!({}))
                    .await;
                let id = id_of(&body(f).await);
                Call::default().id("feed_id", &id)
            }
            // Referrals: each fresh one is made by the institution admin.
            ("listReferrals", Plain) => Call::default(),
            ("createReferral", ClientInSubtree) => self.referral_create_call(r).await,
            ("getReferral", InSubtree | OutsideSubtree) => {
                let (id, _) = self.fresh_referral(case == InSubtree, true, false).await;
                Call::default().id("referral_id", &id)
            }
            (
                "assignReferral" | "acceptReferral" | "declineReferral" | "withdrawReferral",
                FreshLeafInSubtree | FreshLeafOutside,
            ) => {
                let assigned = matches!(op_id, "acceptReferral" | "declineReferral");
                let (id, tag) = self
                    .fresh_referral(case == FreshLeafInSubtree, false, assigned)
                    .await;
                let call = Call::default().id("referral_id", &id).if_match(tag);
                match op_id {
                    "assignReferral" => call.body(json!({"provider_id": self.people[2]})),
                    "acceptReferral" => call,
                    _ => call.body(json!({"reason": "roles matrix"})),
                }
            }
            ("getMyContact", Plain) => Call::default(),
            ("updateMyContact", Plain) => {
                // The client's current version; others send a well-formed one (refused anyway).
                let tag = if r == 4 {
                    let g = self
                        .app
                        .get(SLUG, Some(&self.tokens[4]), "/api/v1/me/contact")
                        .await;
                    g.0.headers()
                        .get("etag")
                        .and_then(|v| v.to_str().ok())
                        .expect("etag")
                        .to_owned()
                } else {
                    "\"1\"".to_owned()
                };
                Call::default()
                    .if_match(tag)
                    .body(json!({"phone": "+1 416 555 0123", "sms_reminders": true}))
            }
            ("listBreakGlass", Plain) => Call::default(),
            ("listBreakGlass", EveryHolder) => Call::default().query("all=true".to_owned()),
            _ => panic!("{op_id}: the roles matrix has no request for {case:?}"),
        }
    }

    /// The anonymous request for a public operation; must answer 2xx.
    async fn public_call(&self, op_id: &str) -> Call {
        match op_id {
            "login" => Call::default().body(json!({"email": self.emails[3], "password": PASSWORD})),
            "verifyMfa" => {
                let (token, email) = self.fresh_account(3).await;
                let (secret, _) = crate::support::enrol_totp(self.app, SLUG, &token).await;
                let r = self
                    .app
                    .post(
                        SLUG,
                        None,
                        "/api/v1/auth/login",
                        json!({"email": email, "password": PASSWORD}),
                    )
                    .await;
                assert_eq!(r.0.status().as_u16(), 202, "MFA challenge");
                let challenge = body(r).await["mfa_token"]
                    .as_str()
                    .expect("mfa_token")
                    .to_owned();
                Call::default().body(
                    json!({"mfa_token": challenge, "code": crate::support::totp_code(&secret, 1)}),
                )
            }
            "issueClientToken" => {
                let r2 = self
                    .app
                    .post(
                        SLUG,
                        Some(self.admin()),
                        "/api/v1/oauth-clients",
                        json!({"name": "Matrix client", "scopes": ["directory:read"]}),
                    )
                    .await;
                let v = body(r2).await;
                let form = format!(
                    "grant_type=client_credentials&client_id={}&client_secret={}",
                    v["client"]["id"].as_str().expect("id"),
                    v["client_secret"].as_str().expect("secret")
                );
                Call::default().form(form)
            }
            "refreshTokens" => {
                let r = self
                    .app
                    .post(
                        SLUG,
                        None,
                        "/api/v1/auth/login",
                        json!({"email": self.emails[3], "password": PASSWORD}),
                    )
                    .await;
                let refresh = body(r).await["refresh_token"]
                    .as_str()
                    .expect("refresh_token")
                    .to_owned();
                Call::default().body(json!({"refresh_token": refresh}))
            }
            "requestPasswordReset" => Call::default().body(json!({"email": self.emails[4]})),
            "discoverSignIn" => Call::default().body(json!({"email": "alice@clinic.example"})),
            "startSsoSignIn" => Call::default().id("connection_id", &id_of(&self.saml_conn)),
            "getSamlMetadata" => Call::default().id("connection_id", &id_of(&self.saml_conn)),
            "finishSamlSignIn" => {
                let Back::Post(_, fields) = self
                    .sso_back(
                        &self.saml_conn,
                        &[("username", "alice"), ("password", "alice-pass")],
                    )
                    .await
                else {
                    panic!("SAML POST binding expected")
                };
                let form = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(fields)
                    .finish();
                Call::default()
                    .id("connection_id", &id_of(&self.saml_conn))
                    .form(form)
            }
            "finishOidcSignIn" => {
                let Back::Get(path) = self
                    .sso_back(
                        &self.oidc_conn,
                        &[
                            ("login", "alice@hospital.example"),
                            ("password", "alice-pass"),
                        ],
                    )
                    .await
                else {
                    panic!("OIDC redirect expected")
                };
                let query = path.split_once('?').expect("query").1.to_owned();
                let mut call = Call::default().id("connection_id", &id_of(&self.oidc_conn));
                call.query = Some(query);
                call
            }
            "exchangeSsoCode" => {
                let Back::Get(path) = self
                    .sso_back(
                        &self.oidc_conn,
                        &[
                            ("login", "alice@hospital.example"),
                            ("password", "alice-pass"),
                        ],
                    )
                    .await
                else {
                    panic!("OIDC redirect expected")
                };
                let r = self.app.client.get(&path).send().await;
                assert_eq!(r.0.status().as_u16(), 302, "callback");
                let loc = r.0.headers()["location"]
                    .to_str()
                    .expect("location")
                    .to_owned();
                let code = loc.split("code=").nth(1).expect("code").to_owned();
                Call::default().body(json!({"code": code}))
            }
            "completePasswordReset" => {
                // A dedicated account: a completed reset ends all of its sessions.
                let (id, email) = self.fresh_person("staff", &self.site1).await;
                let person = json!({"id": id, "email": email});
                let grant = RoleGrant {
                    role: Role::Staff,
                    department_id: None,
                };
                self.app.account(&self.t, &person, &[grant]).await;
                let r = self
                    .app
                    .post(
                        SLUG,
                        None,
                        "/api/v1/auth/password-reset",
                        json!({"email": email}),
                    )
                    .await;
                assert_eq!(r.0.status().as_u16(), 202, "password-reset request");
                Call::default().body(json!({
                    "token": self.mailed_token(&email).await,
                    "password": "a brand new long password",
                }))
            }
            "completeSetup" => {
                let (id, email) = self.fresh_person("provider", &self.dept1a).await;
                let r = self
                    .app
                    .post(
                        SLUG,
                        Some(self.admin()),
                        "/api/v1/invitations",
                        json!({"person_id": id, "roles": [{"role": "provider"}]}),
                    )
                    .await;
                assert_eq!(r.0.status().as_u16(), 201, "invitation");
                Call::default()
                    .body(json!({"token": self.mailed_token(&email).await, "password": PASSWORD}))
            }
            _ => panic!("{op_id}: the roles matrix has no anonymous request for it"),
        }
    }

    /// A request that would reach the handler if it had a session (for the 401 sweep).
    fn plausible_call(&self, op_id: &str) -> Call {
        let call = Call::default()
            .id("department_id", &self.site2)
            .id("person_id", &self.client_out)
            .id("session_id", &self.site2)
            .id("provider_id", &self.provider_out)
            .id("grant_id", &self.site2)
            .id("account_id", &self.site2)
            .id("client_id", &self.site2)
            .id("location_id", &self.site2)
            .id("type_id", &self.site2)
            .id("override_id", &self.site2)
            .id("appointment_id", &self.site2)
            .id("series_id", &self.site2)
            .id("entry_id", &self.site2)
            .id("offer_id", &self.site2)
            .id("feed_id", &self.site2)
            .id("connection_id", &self.site2)
            .id("batch_id", &self.sched.batch_admin)
            .id("referral_id", &self.site2)
            .if_match("\"1\"".to_owned());
        match op_id {
            "createDepartment" => call.body(json!({"name": "Anon", "kind": "unit", "parent_id": null})),
            "updateDepartment" => call.body(json!({"name": "Anon"})),
            "createPerson" => call.body(json!({"kind": "client", "given_name": "Anon", "family_name": "Anon", "department_id": null})),
            "updatePerson" => call.body(json!({"given_name": "Anon"})),
            "submitBulkBatch" => call
                .query(format!("batch_id={}", uuid::Uuid::now_v7()))
                .body(World::bulk_rows(&self.people[2], &self.client_in, &self.sched.type_id)),
            "createInvitation" => {
                call.body(json!({"person_id": self.client_out, "roles": [{"role": "client"}]}))
            }
            _ => call,
        }
    }

    /// Sends `call` to `op` with `token` (or the call's own); returns status and body text.
    async fn send(&self, op_id: &str, op: &Op, token: Option<&str>, call: Call) -> (u16, String) {
        let mut uri = op.path.clone();
        for name in &op.path_params {
            let value = call
                .ids
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| {
                    panic!("{op_id}: path parameter `{name}` is not supplied by the roles matrix")
                });
            uri = uri.replace(&format!("{{{name}}}"), value);
        }
        if let Some(q) = &call.query {
            uri = format!("{uri}?{q}");
        }
        let mut req = self
            .app
            .client
            .request(op.method.clone(), &uri)
            .header("X-Tenant", SLUG);
        if let Some(t) = call.token.as_deref().or(token) {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(m) = &call.if_match {
            req = req.header("If-Match", m.as_str());
        }
        if let Some(b) = &call.body {
            req = req.body_json(b);
        }
        if let Some(f) = &call.form {
            req = req
                .content_type("application/x-www-form-urlencoded")
                .body(f.clone());
        }
        let resp = req.send().await;
        let status = resp.0.status().as_u16();
        let text = match body(resp).await {
            Value::String(s) => s,
            v => v.to_string(),
        };
        (status, text)
    }
}

fn short(text: &str) -> String {
    let mut s: String = text.chars().take(300).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn every_role_gets_exactly_its_operations() {
    // The table covers the spec, no more, no less; public rows are exactly the operations
    // without security.
    let ops = spec_ops();
    let in_spec: BTreeSet<&str> = ops.keys().map(String::as_str).collect();
    let in_table: BTreeSet<&str> = MATRIX.iter().map(|(id, _, _)| *id).collect();
    let missing: Vec<&&str> = in_spec.difference(&in_table).collect();
    let stale: Vec<&&str> = in_table.difference(&in_spec).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "the roles matrix is out of date: operations without a row {missing:?}; rows for \
         operations not in the spec {stale:?}"
    );
    for (op_id, case, row) in MATRIX {
        let public = row.iter().all(|e| *e == Expect::Public);
        assert!(
            public || !row.contains(&Expect::Public),
            "{op_id} [{case:?}]: a row is public for every role or for none"
        );
        assert_eq!(
            public, !ops[*op_id].secured,
            "{op_id}: the matrix says public = {public}, the spec says security = {}",
            ops[*op_id].secured
        );
    }

    let app = TestApp::new().await;
    let w = World::new(&app).await;
    let mut mismatches: Vec<String> = Vec::new();
    let mut checked = 0;

    // Every role against every row.
    for (op_id, case, row) in MATRIX {
        let op = &ops[*op_id];
        for (r, role) in ROLES.iter().enumerate() {
            let expected = row[r];
            if expected == Expect::Public {
                continue;
            }
            let call = w.call_for(op_id, *case, r).await;
            let (status, text) = w.send(op_id, op, Some(&w.tokens[r]), call).await;
            checked += 1;
            if !expected.matches(status) {
                mismatches.push(format!(
                    "{op_id} [{case:?}] / {role}: expected {}, got status {status} body {}",
                    expected.describe(),
                    short(&text)
                ));
            }
        }
    }

    // Without a session: public operations work, every other operation is 401.
    for (op_id, op) in &ops {
        let (expected, call) = if op.secured {
            (None, w.plausible_call(op_id))
        } else {
            (Some(Expect::Public), w.public_call(op_id).await)
        };
        let (status, text) = w.send(op_id, op, None, call).await;
        checked += 1;
        let ok = match expected {
            Some(e) => e.matches(status),
            None => status == 401,
        };
        if !ok {
            mismatches.push(format!(
                "{op_id} [no session]: expected {}, got status {status} body {}",
                expected.map_or("Unauthenticated (401)", Expect::describe),
                short(&text)
            ));
        }
    }

    // The role sessions were not disturbed (logout used sessions of its own).
    for (r, role) in ROLES.iter().enumerate() {
        let st = app
            .get(SLUG, Some(&w.tokens[r]), "/api/v1/auth/me")
            .await
            .0
            .status()
            .as_u16();
        assert_eq!(st, 200, "{role}'s session ended during the sweep");
    }

    let mut report = String::new();
    for m in &mismatches {
        let _ = writeln!(report, "  {m}");
    }
    assert!(
        mismatches.is_empty(),
        "{} of {checked} role × operation checks failed:\n{report}",
        mismatches.len()
    );
}

/// Referral targets for the matrix.
impl World<'_> {
    /// A referral made by the institution admin. In the subtree: about the signed-in client
    /// (in `Dept 1a`) when `own_client`, else a fresh client there, with department `Dept 1a`;
    /// outside: about the `Site 2` client, with department `Site 2`. Assigned to the in-subtree
    /// provider (role 2) when `assigned`. Returns its id and ETag.
    async fn fresh_referral(
        &self,
        inside: bool,
        own_client: bool,
        assigned: bool,
    ) -> (String, String) {
        let (client, dept) = match (inside, own_client) {
            (true, true) => (self.people[4].clone(), &self.dept1a),
            (true, false) => (
                self.fresh_person("client", &self.dept1a).await.0,
                &self.dept1a,
            ),
            (false, _) => (self.client_out.clone(), &self.site2),
        };
        let mut b = json!({"client_id": client, "reason": "roles matrix", "department_id": dept});
        if assigned || (inside && own_client) {
            b["assigned_provider_id"] = json!(self.people[2]);
        }
        let r = self
            .app
            .post(SLUG, Some(self.admin()), "/api/v1/referrals", b)
            .await;
        assert_eq!(r.0.status().as_u16(), 201, "fresh referral");
        let tag = r.0.headers()["etag"].to_str().expect("etag").to_owned();
        (id_of(&body(r).await), tag)
    }

    /// Creating as role `r`: staff for the in-subtree client; the provider for a client put on
    /// their care team first; the client for themselves.
    async fn referral_create_call(&self, r: usize) -> Call {
        match r {
            4 => Call::default().body(json!({"reason": "roles matrix: self-referral"})),
            2 => {
                let (client, _) = self.fresh_person("client", &self.dept1a).await;
                let a = self
                    .app
                    .post(
                        SLUG,
                        Some(self.admin()),
                        &format!("/api/v1/people/{client}/care-team"),
                        json!({"provider_id": self.people[2]}),
                    )
                    .await;
                assert_eq!(a.0.status().as_u16(), 204, "care team for the referral");
                Call::default().body(json!({"client_id": client, "reason": "roles matrix: onward"}))
            }
            _ => Call::default()
                .body(json!({"client_id": self.client_in, "reason": "roles matrix", "department_id": self.dept1a})),
        }
    }
}
