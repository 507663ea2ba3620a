//! SCIM 2.0 (RFC 7643 resources, RFC 7644 protocol) for one connection: the IdP creates,
//! updates and deactivates users and groups with the connection's bearer token.
//!
//! * A SCIM User is a Swiftacare account (`id` = account id, `userName` = email) with a
//!   directory entry; `active: false` (or DELETE) disables it and ends its sessions at once.
//! * A SCIM Group's `displayName` is matched against the connection's group mappings; a
//!   membership change recomputes the member's roles, exactly as an SSO sign-in does.
//! * Filters: `userName eq "…"` (Users) and `displayName eq "…"` (Groups) only.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use tenancy::schema::{sso_connections, tenants};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::connections::Row;
use super::model::*;
use super::signin;
use crate::audit::{self, Actor, ActorType, Event};
use crate::error::DomainError;
use crate::identity::{repo as id_repo, secret};
use crate::org::model::{Email, PersonName};
use crate::schema::{accounts, people, scim_group_members, scim_groups, sso_identities};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// An RFC 7644 §3.12 error.
#[derive(Debug)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }
    fn invalid(detail: impl Into<String>) -> Self {
        ScimError::new(400, Some("invalidValue"), detail)
    }
    fn not_found(what: &str) -> Self {
        ScimError::new(404, None, format!("{what} not found"))
    }
}

impl From<DomainError> for ScimError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound(w) => ScimError::not_found(w),
            DomainError::Invalid(f) => ScimError::invalid(
                f.into_iter()
                    .map(|x| format!("{}: {}", x.field, x.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            DomainError::Conflict(m) => ScimError::new(409, Some("uniqueness"), m),
            DomainError::Unavailable(_) => ScimError::new(503, None, "retry shortly"),
            other => {
                tracing::error!(error = %other, "scim request failed");
                ScimError::new(500, None, "unexpected error")
            }
        }
    }
}

impl From<tenancy::DoorError> for ScimError {
    fn from(e: tenancy::DoorError) -> Self {
        DomainError::from(e).into()
    }
}

impl From<diesel::result::Error> for ScimError {
    fn from(e: diesel::result::Error) -> Self {
        DomainError::from(e).into()
    }
}

pub type ScimResult<T> = Result<T, ScimError>;

/// Who is calling: the connection whose token this is, and its tenant's slug.
pub struct ScimCaller {
    pub connection: SsoConnection,
    pub tenant_slug: String,
}

pub async fn authenticate(tenancy: &Tenancy, token: &str) -> ScimResult<Option<ScimCaller>> {
    let digest = secret::token_digest(token);
    let found = tenancy
        .control_tx(async |c| {
            Ok::<_, DomainError>(
                sso_connections::table
                    .inner_join(tenants::table)
                    .filter(sso_connections::scim_token_hash.eq(&digest))
                    .select((Row::as_select(), tenants::slug))
                    .first::<(Row, String)>(c)
                    .await
                    .optional()?,
            )
        })
        .await?;
    Ok(found.map(|(row, slug)| ScimCaller {
        connection: row.into_connection(Vec::new()),
        tenant_slug: slug,
    }))
}

fn actor(connection_id: Uuid) -> Actor {
    Actor {
        kind: ActorType::Integration,
        id: Some(connection_id),
        request_id: None,
    }
}

#[derive(Queryable)]
struct UserRow {
    id: Uuid,
    email: String,
    status: String,
    given: Option<String>,
    family: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    external_id: String,
}

async fn users(
    c: &mut AsyncPgConnection,
    connection_id: Uuid,
    id: Option<Uuid>,
    user_name: Option<&str>,
) -> QueryResult<Vec<UserRow>> {
    let mut q = sso_identities::table
        .inner_join(accounts::table)
        .left_join(people::table.on(people::id.nullable().eq(accounts::person_id)))
        .filter(sso_identities::connection_id.eq(connection_id))
        .select((
            accounts::id,
            accounts::email,
            accounts::status,
            people::given_name.nullable(),
            people::family_name.nullable(),
            accounts::created_at,
            accounts::updated_at,
            sso_identities::subject,
        ))
        .order(accounts::id)
        .into_boxed();
    if let Some(id) = id {
        q = q.filter(accounts::id.eq(id));
    }
    if let Some(u) = user_name {
        q = q.filter(crate::schema::lower(accounts::email).eq(u.to_lowercase()));
    }
    q.load(c).await
}

async fn groups_of(
    c: &mut AsyncPgConnection,
    connection_id: Uuid,
    account_id: Uuid,
) -> QueryResult<Vec<(Uuid, String)>> {
    scim_group_members::table
        .inner_join(scim_groups::table)
        .filter(scim_group_members::account_id.eq(account_id))
        .filter(scim_groups::connection_id.eq(connection_id))
        .select((scim_groups::id, scim_groups::display_name))
        .order(scim_groups::display_name)
        .load(c)
        .await
}

async fn user_json(
    c: &mut AsyncPgConnection,
    base: &str,
    connection_id: Uuid,
    u: UserRow,
) -> QueryResult<Value> {
    let groups = groups_of(c, connection_id, u.id).await?;
    Ok(json!({
        "schemas": [USER_SCHEMA],
        "id": u.id,
        "externalId": u.external_id,
        "userName": u.email,
        "name": {"givenName": u.given, "familyName": u.family},
        "emails": [{"value": u.email, "primary": true, "type": "work"}],
        "active": u.status == "active",
        "groups": groups.iter().map(|(id, name)| json!({"value": id, "display": name})).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "User",
            "created": u.created_at,
            "lastModified": u.updated_at,
            "location": format!("{base}/Users/{}", u.id),
        },
    }))
}

/// `attr eq "value"` → the value (only for the one attribute each list supports).
pub fn parse_eq_filter(filter: &str, attribute: &str) -> ScimResult<String> {
    let bad = || {
        ScimError::new(
            400,
            Some("invalidFilter"),
            format!("only `{attribute} eq \"…\"` is supported"),
        )
    };
    let f = filter.trim();
    let (attr, rest) = f.split_once(char::is_whitespace).ok_or_else(bad)?;
    let (op, value) = rest
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(bad)?;
    if !attr.eq_ignore_ascii_case(attribute) || !op.eq_ignore_ascii_case("eq") {
        return Err(bad());
    }
    let v = value.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .ok_or_else(bad)?;
    Ok(v.replace("\\\"", "\""))
}

fn list(resources: Vec<Value>, start: i64) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

fn page(start: Option<i64>, count: Option<i64>) -> (i64, usize, usize) {
    let start = start.unwrap_or(1).max(1);
    let count = count.unwrap_or(100).clamp(0, 200);
    (start, (start - 1) as usize, count as usize)
}

pub async fn list_users(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    caller: &ScimCaller,
    base: &str,
    filter: Option<&str>,
    start: Option<i64>,
    count: Option<i64>,
) -> ScimResult<Value> {
    let user_name = filter.map(|f| parse_eq_filter(f, "userName")).transpose()?;
    let cid = caller.connection.id;
    let (start, skip, take) = page(start, count);
    tenancy
        .tx(tenant, async |c| {
            let rows = users(c, cid, None, user_name.as_deref()).await?;
            let total = rows.len();
            let mut out = Vec::new();
            for u in rows.into_iter().skip(skip).take(take) {
                out.push(user_json(c, base, cid, u).await?);
            }
            let mut l = list(out, start);
            l["totalResults"] = json!(total);
            Ok::<_, ScimError>(l)
        })
        .await
}

pub async fn get_user(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    caller: &ScimCaller,
    base: &str,
    id: Uuid,
) -> ScimResult<Value> {
    let cid = caller.connection.id;
    tenancy
        .tx(tenant, async |c| {
            let u = users(c, cid, Some(id), None)
                .await?
                .pop()
                .ok_or(ScimError::not_found("user"))?;
            Ok::<_, ScimError>(user_json(c, base, cid, u).await?)
        })
        .await
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str()
}

fn person_name(body: &Value, email: &str) -> ScimResult<PersonName> {
    let id = ExternalIdentity {
        subject: String::new(),
        email: email.to_owned(),
        given_name: str_at(body, &["name", "givenName"]).map(str::to_owned),
        family_name: str_at(body, &["name", "familyName"]).map(str::to_owned),
        groups: Vec::new(),
        email_verified: true,
    };
    Ok(signin::person_name(&id)?)
}

pub async fn create_user(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    caller: &ScimCaller,
    base: &str,
    body: &Value,
) -> ScimResult<Value> {
    let user_name =
        str_at(body, &["userName"]).ok_or_else(|| ScimError::invalid("userName is required"))?;
    let email = Email::parse(user_name)
        .map_err(|m| ScimError::invalid(format!("userName must be an email address: {m}")))?;
    let external_id = str_at(body, &["externalId"])
        .unwrap_or(email.as_str())
        .to_owned();
    if external_id.is_empty() || external_id.len() > 512 {
        return Err(ScimError::invalid("externalId must be 1 to 512 characters"));
    }
    let active = body.get("active").and_then(Value::as_bool).unwrap_or(true);
    let name = person_name(body, email.as_str())?;
    let cid = caller.connection.id;
    let actor = actor(cid);
    tenancy
        .tx(tenant, async |c| {
            if id_repo::find_account_by_email(c, email.as_str())
                .await?
                .is_some()
            {
                return Err(ScimError::new(
                    409,
                    Some("uniqueness"),
                    "a user with this userName already exists",
                ));
            }
            let person_id = Uuid::now_v7();
            crate::org::repo::insert_person_row(c, person_id, "staff", &name, Some(&email), None)
                .await?;
            let id = Uuid::now_v7();
            id_repo::insert_account(c, id, Some(person_id), email.as_str()).await?;
            diesel::update(accounts::table.find(id))
                .set(accounts::status.eq(if active { "active" } else { "disabled" }))
                .execute(c)
                .await?;
            diesel::insert_into(sso_identities::table)
                .values((
                    sso_identities::connection_id.eq(cid),
                    sso_identities::subject.eq(&external_id),
                    sso_identities::account_id.eq(id),
                ))
                .execute(c)
                .await?;
            let e = Event::new("account.create")
                .on("account", id)
                .detail("source", "scim");
            audit::record(c, &actor, e).await?;
            let u = users(c, cid, Some(id), None)
                .await?
                .pop()
                .ok_or(ScimError::not_found("user"))?;
            Ok::<_, ScimError>(user_json(c, base, cid, u).await?)
        })
        .await
}

async fn set_active(
    c: &mut AsyncPgConnection,
    actor: &Actor,
    account_id: Uuid,
    active: bool,
) -> ScimResult<()> {
    if !active {
        crate::identity::accounts::lock_admin_changes(c).await?;
    }
    diesel::update(accounts::table.find(account_id))
        .set((
            accounts::status.eq(if active { "active" } else { "disabled" }),
            accounts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(c)
        .await?;
    if !active {
        let admins = crate::identity::accounts::active_institution_admins(c).await?;
        let is_admin = id_repo::grants_of(c, account_id)
            .await?
            .iter()
            .any(|g| g.role == crate::identity::model::Role::InstitutionAdmin);
        if is_admin && admins == 0 {
            return Err(ScimError::new(
                409,
                Some("mutability"),
                "the organisation must keep at least one active institution admin",
            ));
        }
        // Deprovisioned: every session ends now, so the next request is refused.
        let n = id_repo::revoke_all_sessions(c, account_id).await?;
        let e = Event::new("account.disable")
            .on("account", account_id)
            .detail("source", "scim")
            .detail("sessions_ended", n as u64);
        audit::record(c, actor, e).await?;
    } else {
        let e = Event::new("account.enable")
            .on("account", account_id)
            .detail("source", "scim");
        audit::record(c, actor, e).await?;
    }
    Ok(())
}

async fn set_names(
    c: &mut AsyncPgConnection,
    account_id: Uuid,
    given: Option<&str>,
    family: Option<&str>,
) -> ScimResult<()> {
    let Some(person) = accounts::table
        .find(account_id)
        .select(accounts::person_id)
        .first::<Option<Uuid>>(c)
        .await?
    else {
        return Ok(());
    };
    let parse = |s: &str, field: &str| {
        crate::org::model::Name::parse(s, 100)
            .map_err(|m| ScimError::invalid(format!("{field}: {m}")))
    };
    if let Some(g) = given {
        let g = parse(g, "name.givenName")?;
        diesel::update(people::table.find(person))
            .set(people::given_name.eq(g.as_str()))
            .execute(c)
            .await?;
    }
    if let Some(f) = family {
        let f = parse(f, "name.familyName")?;
        diesel::update(people::table.find(person))
            .set(people::family_name.eq(f.as_str()))
            .execute(c)
            .await?;
    }
    Ok(())
}

/// PATCH (RFC 7644 §3.5.2): `replace` / `add` of `active`, `name.givenName`,
/// `name.familyName`, with or without a path (`{"op": "replace", "value": {"active": false}}`).
pub async fn patch_user(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    caller: &ScimCaller,
    base: &str,
    id: Uuid,
    body: &Value,
) -> ScimResult<Value> {
    let ops = body
        .get("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid("Operations is required"))?;
    let mut active = None;
    let (mut given, mut family) = (None, None);
    for op in ops {
        let kind = op
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        if kind != "replace" && kind != "add" {
            return Err(ScimError::new(
                400,
                Some("invalidSyntax"),
                "only add and replace are supported on users",
            ));
        }
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        let mut apply = |path: &str, v: &Value| -> ScimResult<()> {
            match path {
                "active" => {
                    active = Some(
                        v.as_bool()
                            .or_else(|| v.as_str().map(|s| s.eq_ignore_ascii_case("true")))
                            .ok_or_else(|| ScimError::invalid("active must be a boolean"))?,
                    )
                }
                "name.givenName" => given = v.as_str().map(str::to_owned),
                "name.familyName" => family = v.as_str().map(str::to_owned),
                "name" => {
                    given = str_at(v, &["givenName"])
                        .map(str::to_owned)
                        .or(given.take());
                    family = str_at(v, &["familyName"])
                        .map(str::to_owned)
                        .or(family.take());
                }
                _ => {}
            }
            Ok(())
        };
        match op.get("path").and_then(Value::as_str) {
            Some(p) => apply(p, &value)?,
            None => {
                let obj = value
                    .as_object()
                    .ok_or_else(|| ScimError::invalid("value must be an object without a path"))?;
                for (k, v) in obj {
                    apply(k, v)?;
                }
            }
        }
    }
    let cid = caller.connection.id;
    let actor = actor(cid);
    tenancy
        .tx(tenant, async |c| {
            let u = users(c, cid, Some(id), None)
                .await?
                .pop()
                .ok_or(ScimError::not_found("user"))?;
            if let Some(a) = active
                && a != (u.status == "active")
            {
                set_active(c, &actor, id, a).await?;
            }
            set_names(c, id, given.as_deref(), family.as_deref()).await?;
            let u = users(c, cid, Some(id), None)
                .await?
                .pop()
                .ok_or(ScimError::not_found("user"))?;
            Ok::<_, ScimError>(user_json(c, base, cid, u).await?)
        })
        .await
}

/// PUT: the attributes we keep (active, names) are replaced.
pub async fn replace_user(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    caller: &ScimCaller,
    base: &str,
    id: Uuid,
    body: &Value,
) -> ScimResult<Value> {
    let mut value = serde_json::Map::new();
    if let Some(a) = body.get("active") {
        value.insert("active".into(), a.clone());
    }
    if let Some(n) = body.get("name") {
        value.insert("name".into(), n.clone());
    }
    let patch = json!({"Operations": [{"op": "replace", "value": value}]});
    patch_user(tenancy, tenant, caller, base, id, &patch).await
}

/// DELETE: deprovisioned, not erased (the audit trail and clinical records keep their links).
pub async fn delete_user(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    caller: &ScimCaller,
    id: Uuid,
) -> ScimResult<()> {
    let cid = caller.connection.id;
    let actor = actor(cid);
    tenancy
        .tx(tenant, async |c| {
            users(c, cid, Some(id), None)
                .await?
                .pop()
                .ok_or(ScimError::not_found("user"))?;
            set_active(c, &actor, id, false).await
        })
        .await
}

// ---- groups ----

async fn group_json(
    c: &mut AsyncPgConnection,
    base: &str,
    id: Uuid,
    name: &str,
    external_id: Option<String>,
) -> QueryResult<Value> {
    let members: Vec<(Uuid, String)> = scim_group_members::table
        .inner_join(accounts::table)
        .filter(scim_group_members::group_id.eq(id))
        .select((accounts::id, accounts::email))
        .order(accounts::id)
        .load(c)
        .await?;
    Ok(json!({
        "schemas": [GROUP_SCHEMA],
        "id": id,
        "externalId": external_id,
        "displayName": name,
        "members": members.iter().map(|(id, email)| json!({"value": id, "display": email, "type": "User"})).collect::<Vec<_>>(),
        "meta": {"resourceType": "Group", "location": format!("{base}/Groups/{id}")},
    }))
}

/// Recomputes an account's roles from its SCIM groups through the connection's mappings.
async fn remap(
    c: &mut AsyncPgConnection,
    connection: &SsoConnection,
    actor: &Actor,
    account_id: Uuid,
) -> ScimResult<()> {
    let names: Vec<String> = groups_of(c, connection.id, account_id)
        .await?
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    diesel::update(
        sso_identities::table
            .filter(sso_identities::connection_id.eq(connection.id))
            .filter(sso_identities::account_id.eq(account_id)),
    )
    .set(sso_identities::groups.eq(&names))
    .execute(c)
    .await?;
    let (grants, _) = signin::mapped_grants(connection, &names);
    signin::apply_grants(c, actor, account_id, &grants).await?;
    Ok(())
}

fn member_ids(v: &Value) -> ScimResult<Vec<Uuid>> {
    let arr = match v {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    };
    arr.iter()
        .map(|m| {
            m.get("value")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| ScimError::invalid("members[].value must be a user id"))
        })
        .collect()
}

async fn add_members(
    c: &mut AsyncPgConnection,
    connection: &SsoConnection,
    actor: &Actor,
    group: Uuid,
    members: &[Uuid],
) -> ScimResult<()> {
    for m in members {
        if users(c, connection.id, Some(*m), None).await?.is_empty() {
            return Err(ScimError::invalid(format!(
                "member {m} is not a user of this connection"
            )));
        }
        diesel::insert_into(scim_group_members::table)
            .values((
                scim_group_members::group_id.eq(group),
                scim_group_members::account_id.eq(m),
            ))
            .on_conflict_do_nothing()
            .execute(c)
            .await?;
        remap(c, connection, actor, *m).await?;
    }
    Ok(())
}

async fn remove_members(
    c: &mut AsyncPgConnection,
    connection: &SsoConnection,
    actor: &Actor,
    group: Uuid,
    members: &[Uuid],
) -> ScimResult<()> {
    for m in members {
        diesel::delete(
            scim_group_members::table
                .filter(scim_group_members::group_id.eq(group))
                .filter(scim_group_members::account_id.eq(m)),
        )
        .execute(c)
        .await?;
        remap(c, connection, actor, *m).await?;
    }
    Ok(())
}

async fn find_group(
    c: &mut AsyncPgConnection,
    connection_id: Uuid,
    id: Uuid,
) -> ScimResult<(String, Option<String>)> {
    scim_groups::table
        .filter(scim_groups::id.eq(id))
        .filter(scim_groups::connection_id.eq(connection_id))
        .select((scim_groups::display_name, scim_groups::external_id))
        .first(c)
        .await
        .optional()?
        .ok_or(ScimError::not_found("group"))
}

pub async fn create_group(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    caller: &ScimCaller,
    base: &str,
    body: &Value,
) -> ScimResult<Value> {
    let name = str_at(body, &["displayName"])
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.len() <= 256)
        .ok_or_else(|| ScimError::invalid("displayName is required (1 to 256 characters)"))?
        .to_owned();
    let external_id = str_at(body, &["externalId"]).map(str::to_owned);
    let members = member_ids(body.get("members").unwrap_or(&Value::Null))?;
    let conn = &caller.connection;
    let actor = actor(conn.id);
    tenancy
        .tx(tenant, async |c| {
            let id = Uuid::now_v7();
            let inserted = diesel::insert_into(scim_groups::table)
                .values((
                    scim_groups::id.eq(id),
                    scim_groups::connection_id.eq(conn.id),
                    scim_groups::display_name.eq(&name),
                    scim_groups::external_id.eq(&external_id),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            if inserted == 0 {
                return Err(ScimError::new(
                    409,
                    Some("uniqueness"),
                    "a group with this displayName already exists",
                ));
            }
            add_members(c, conn, &actor, id, &members).await?;
            Ok(group_json(c, base, id, &name, external_id.clone()).await?)
        })
        .await
}

pub async fn get_group(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    caller: &ScimCaller,
    base: &str,
    id: Uuid,
) -> ScimResult<Value> {
    let cid = caller.connection.id;
    tenancy
        .tx(tenant, async |c| {
            let (name, ext) = find_group(c, cid, id).await?;
            Ok(group_json(c, base, id, &name, ext).await?)
        })
        .await
}

pub async fn list_groups(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    caller: &ScimCaller,
    base: &str,
    filter: Option<&str>,
    start: Option<i64>,
    count: Option<i64>,
) -> ScimResult<Value> {
    let name = filter
        .map(|f| parse_eq_filter(f, "displayName"))
        .transpose()?;
    let cid = caller.connection.id;
    let (start, skip, take) = page(start, count);
    tenancy
        .tx(tenant, async |c| {
            let mut q = scim_groups::table
                .filter(scim_groups::connection_id.eq(cid))
                .select((
                    scim_groups::id,
                    scim_groups::display_name,
                    scim_groups::external_id,
                ))
                .order(scim_groups::id)
                .into_boxed();
            if let Some(n) = &name {
                q = q.filter(crate::schema::lower(scim_groups::display_name).eq(n.to_lowercase()));
            }
            let rows: Vec<(Uuid, String, Option<String>)> = q.load(c).await?;
            let total = rows.len();
            let mut out = Vec::new();
            for (id, n, ext) in rows.into_iter().skip(skip).take(take) {
                out.push(group_json(c, base, id, &n, ext).await?);
            }
            let mut l = list(out, start);
            l["totalResults"] = json!(total);
            Ok::<_, ScimError>(l)
        })
        .await
}

/// PATCH a group: `add` / `remove` / `replace` of `members`, `replace` of `displayName`.
pub async fn patch_group(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    caller: &ScimCaller,
    base: &str,
    id: Uuid,
    body: &Value,
) -> ScimResult<Value> {
    let ops = body
        .get("Operations")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ScimError::invalid("Operations is required"))?;
    let conn = &caller.connection;
    let actor = actor(conn.id);
    tenancy
        .tx(tenant, async |c| {
            let (mut name, ext) = find_group(c, conn.id, id).await?;
            for op in &ops {
                let kind = op
                    .get("op")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
                let value = op.get("value").cloned().unwrap_or(Value::Null);
                // `members[value eq "<id>"]` names one member in the path (Azure AD, Okta).
                let in_path = path
                    .strip_prefix("members[")
                    .and_then(|p| p.strip_suffix(']'))
                    .map(|f| parse_eq_filter(f, "value"))
                    .transpose()?
                    .map(|v| {
                        v.parse::<Uuid>()
                            .map_err(|_| ScimError::invalid("member value must be a user id"))
                    })
                    .transpose()?;
                match (kind.as_str(), path) {
                    ("add", "members") => {
                        add_members(c, conn, &actor, id, &member_ids(&value)?).await?
                    }
                    ("remove", "members") => {
                        remove_members(c, conn, &actor, id, &member_ids(&value)?).await?
                    }
                    ("remove", _) if in_path.is_some() => {
                        remove_members(
                            c,
                            conn,
                            &actor,
                            id,
                            &in_path.into_iter().collect::<Vec<_>>(),
                        )
                        .await?
                    }
                    ("replace", "members") => {
                        let now: Vec<Uuid> = scim_group_members::table
                            .filter(scim_group_members::group_id.eq(id))
                            .select(scim_group_members::account_id)
                            .load(c)
                            .await?;
                        remove_members(c, conn, &actor, id, &now).await?;
                        add_members(c, conn, &actor, id, &member_ids(&value)?).await?;
                    }
                    ("replace", "displayName") | ("replace", "") => {
                        let n = value
                            .as_str()
                            .or_else(|| str_at(&value, &["displayName"]))
                            .map(str::trim)
                            .filter(|n| !n.is_empty() && n.len() <= 256)
                            .ok_or_else(|| {
                                ScimError::invalid("displayName must be 1 to 256 characters")
                            })?
                            .to_owned();
                        diesel::update(scim_groups::table.find(id))
                            .set((
                                scim_groups::display_name.eq(&n),
                                scim_groups::updated_at.eq(diesel::dsl::now),
                            ))
                            .execute(c)
                            .await?;
                        name = n;
                        let members: Vec<Uuid> = scim_group_members::table
                            .filter(scim_group_members::group_id.eq(id))
                            .select(scim_group_members::account_id)
                            .load(c)
                            .await?;
                        for m in members {
                            remap(c, conn, &actor, m).await?;
                        }
                    }
                    _ => {
                        return Err(ScimError::new(
                            400,
                            Some("invalidPath"),
                            format!("unsupported operation {kind} on {path:?}"),
                        ));
                    }
                }
            }
            Ok(group_json(c, base, id, &name, ext).await?)
        })
        .await
}

pub async fn delete_group(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    caller: &ScimCaller,
    id: Uuid,
) -> ScimResult<()> {
    let conn = &caller.connection;
    let actor = actor(conn.id);
    tenancy
        .tx(tenant, async |c| {
            find_group(c, conn.id, id).await?;
            let members: Vec<Uuid> = scim_group_members::table
                .filter(scim_group_members::group_id.eq(id))
                .select(scim_group_members::account_id)
                .load(c)
                .await?;
            diesel::delete(scim_groups::table.find(id))
                .execute(c)
                .await?;
            for m in members {
                remap(c, conn, &actor, m).await?;
            }
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_eq_filter_on_the_named_attribute_parses() {
        let ok = parse_eq_filter("userName eq \"a@b.example\"", "userName").expect("parses");
        assert_eq!(ok, "a@b.example");
        assert_eq!(
            parse_eq_filter("USERNAME EQ \"x\"", "userName").expect("case-insensitive"),
            "x"
        );
        for bad in [
            "userName co \"a\"",
            "emails eq \"a\"",
            "userName eq a",
            "userName",
            "",
        ] {
            let e = parse_eq_filter(bad, "userName").expect_err(bad);
            assert_eq!(
                (e.status, e.scim_type),
                (400, Some("invalidFilter")),
                "{bad}"
            );
        }
    }
}
