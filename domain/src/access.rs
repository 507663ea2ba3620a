//! Clinical access beyond administration: care teams and break-glass.
//!
//! * A provider sees the clients on whose care team they are. Administrators (institution, or
//!   sub-admins for clients in their subtree) assign and remove care-team members.
//! * Break-glass: anyone on the staff side may open time-boxed access to one client's records
//!   with a reason code and a written reason. Opening is audited (the code, never the text) and
//!   the tenant's institution admins are alerted; every read through it is marked in the audit log.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use crate::audit::{self, Actor, Event};
use crate::error::{DomainError, DomainResult};
use crate::identity::policy::{self, AdminScope};
use crate::identity::{Principal, Role};
use crate::org::model::{Person, PersonKind};
use crate::org::repo as org_repo;
use crate::schema::{accounts, break_glass_grants, care_team, role_grants};

pub const REASON_CODES: [&str; 4] = [
    "emergency",
    "patient_safety",
    "continuity_of_care",
    "legal_request",
];
pub const MAX_BREAK_GLASS_MINUTES: i64 = 240;

/// Clients on the caller's care teams (providers only).
pub async fn care_team_clients(c: &mut AsyncPgConnection, p: &Principal) -> QueryResult<Vec<Uuid>> {
    match p.person_id.filter(|_| p.has(Role::Provider)) {
        Some(me) => {
            care_team::table
                .filter(care_team::provider_person_id.eq(me))
                .select(care_team::client_person_id)
                .load(c)
                .await
        }
        None => Ok(Vec::new()),
    }
}

/// Clients the caller holds an active break-glass grant for.
pub async fn break_glass_clients(
    c: &mut AsyncPgConnection,
    p: &Principal,
) -> QueryResult<Vec<Uuid>> {
    break_glass_grants::table
        .filter(break_glass_grants::account_id.eq(p.account_id))
        .filter(break_glass_grants::revoked_at.is_null())
        .filter(break_glass_grants::expires_at.gt(diesel::dsl::now))
        .select(break_glass_grants::client_person_id)
        .load(c)
        .await
}

/// The client, if the caller may administer their care team (404 otherwise).
async fn administered_client(
    c: &mut AsyncPgConnection,
    p: &Principal,
    client_id: Uuid,
) -> DomainResult<Person> {
    // Checked before the lookup: a non-administrator learns nothing about which ids exist.
    let scope = policy::org_admin_scope(p);
    if scope == AdminScope::Nothing {
        return Err(DomainError::Forbidden(
            "only administrators manage care teams",
        ));
    }
    let client = org_repo::get_person(c, client_id)
        .await?
        .filter(|x| x.kind == PersonKind::Client)
        .ok_or(DomainError::NotFound("client"))?;
    if let AdminScope::Subtrees(roots) = scope {
        let mine = org_repo::subtree_ids(c, &roots).await?;
        if !client.department_id.is_some_and(|d| mine.contains(&d)) {
            return Err(DomainError::NotFound("client"));
        }
    }
    Ok(client)
}

/// The providers on a client's care team (for those who may administer it, and for the client
/// themselves: they are the providers the client can book with).
pub async fn care_team(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    client_id: Uuid,
) -> DomainResult<Vec<Person>> {
    tenancy
        .tx(tenant, async |c| {
            let own =
                p.person_id == Some(client_id) && p.grants.iter().any(|g| g.role == Role::Client);
            if !own {
                administered_client(c, p, client_id).await?;
            }
            let ids: Vec<Uuid> = care_team::table
                .filter(care_team::client_person_id.eq(client_id))
                .select(care_team::provider_person_id)
                .load(c)
                .await?;
            let mut out = Vec::new();
            for id in ids {
                if let Some(person) = org_repo::get_person(c, id).await? {
                    out.push(person);
                }
            }
            audit::record(
                c,
                &Actor::from(p),
                Event::new("care_team.read")
                    .on("person", client_id)
                    .subjects([client_id]),
            )
            .await?;
            if own {
                // A client sees who treats them, not their colleagues' work addresses.
                for person in &mut out {
                    person.email = None;
                }
            }
            Ok(out)
        })
        .await
}

pub async fn assign(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    client_id: Uuid,
    provider_id: Uuid,
) -> DomainResult<()> {
    tenancy
        .tx(tenant, async |c| {
            administered_client(c, p, client_id).await?;
            org_repo::get_person(c, provider_id)
                .await?
                .filter(|x| x.kind == PersonKind::Provider)
                .ok_or_else(|| {
                    DomainError::invalid("/provider_id", "is not a provider of this organisation")
                })?;
            diesel::insert_into(care_team::table)
                .values((
                    care_team::client_person_id.eq(client_id),
                    care_team::provider_person_id.eq(provider_id),
                    care_team::assigned_by.eq(p.account_id),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            let event = Event::new("care_team.assign")
                .on("person", provider_id)
                .subjects([client_id]);
            audit::record(c, &Actor::from(p), event).await?;
            Ok(())
        })
        .await
}

pub async fn unassign(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    client_id: Uuid,
    provider_id: Uuid,
) -> DomainResult<()> {
    tenancy
        .tx(tenant, async |c| {
            administered_client(c, p, client_id).await?;
            let n = diesel::delete(
                care_team::table
                    .filter(care_team::client_person_id.eq(client_id))
                    .filter(care_team::provider_person_id.eq(provider_id)),
            )
            .execute(c)
            .await?;
            if n == 0 {
                return Err(DomainError::NotFound("care-team member"));
            }
            let event = Event::new("care_team.unassign")
                .on("person", provider_id)
                .subjects([client_id]);
            audit::record(c, &Actor::from(p), event).await?;
            Ok(())
        })
        .await
}

#[derive(Clone, Debug)]
pub struct BreakGlassGrant {
    pub id: Uuid,
    pub client_id: Uuid,
    pub reason_code: String,
    pub expires_at: DateTime<Utc>,
}

/// Opens break-glass access; returns the grant and the institution admins' emails to alert.
pub async fn open_break_glass(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    client_id: Uuid,
    reason_code: &str,
    reason: &str,
    minutes: i64,
) -> DomainResult<(BreakGlassGrant, Vec<String>)> {
    if !policy::can_read_departments(p) {
        return Err(DomainError::Forbidden(
            "break-glass is for the organisation's staff",
        ));
    }
    if !REASON_CODES.contains(&reason_code) {
        return Err(DomainError::invalid(
            "/reason_code",
            format!("must be one of: {}", REASON_CODES.join(", ")),
        ));
    }
    let text = reason.trim();
    if !(10..=1000).contains(&text.chars().count()) {
        return Err(DomainError::invalid(
            "/reason",
            "must say why, in 10 to 1000 characters",
        ));
    }
    if !(5..=MAX_BREAK_GLASS_MINUTES).contains(&minutes) {
        return Err(DomainError::invalid(
            "/minutes",
            format!("must be between 5 and {MAX_BREAK_GLASS_MINUTES}"),
        ));
    }
    let id = Uuid::now_v7();
    let expires_at = Utc::now() + Duration::minutes(minutes);
    tenancy
        .tx(tenant, async |c| {
            org_repo::get_person(c, client_id)
                .await?
                .filter(|x| x.kind == PersonKind::Client)
                .ok_or(DomainError::NotFound("client"))?;
            diesel::insert_into(break_glass_grants::table)
                .values((
                    break_glass_grants::id.eq(id),
                    break_glass_grants::account_id.eq(p.account_id),
                    break_glass_grants::client_person_id.eq(client_id),
                    break_glass_grants::reason_code.eq(reason_code),
                    break_glass_grants::reason.eq(text),
                    break_glass_grants::expires_at.eq(expires_at),
                ))
                .execute(c)
                .await?;
            let admins: Vec<String> = accounts::table
                .inner_join(role_grants::table)
                .filter(role_grants::role.eq(Role::InstitutionAdmin.as_str()))
                .filter(accounts::status.eq("active"))
                .select(accounts::email)
                .distinct()
                .load(c)
                .await?;
            let event = Event::new("break_glass.open")
                .on("break_glass", id)
                .subjects([client_id])
                .detail("reason_code", reason_code)
                .detail("minutes", minutes);
            audit::record(c, &Actor::from(p), event).await?;
            Ok((
                BreakGlassGrant {
                    id,
                    client_id,
                    reason_code: reason_code.to_owned(),
                    expires_at,
                },
                admins,
            ))
        })
        .await
}

/// Ends a break-glass grant early (its holder, or an institution admin).
pub async fn close_break_glass(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<()> {
    tenancy
        .tx(tenant, async |c| {
            let grant: Option<(Uuid, Uuid)> = break_glass_grants::table
                .find(id)
                .filter(break_glass_grants::revoked_at.is_null())
                .select((
                    break_glass_grants::account_id,
                    break_glass_grants::client_person_id,
                ))
                .first(c)
                .await
                .optional()?;
            let Some((holder, client)) = grant
                .filter(|(holder, _)| *holder == p.account_id || p.has(Role::InstitutionAdmin))
            else {
                return Err(DomainError::NotFound("break-glass grant"));
            };
            diesel::update(break_glass_grants::table.find(id))
                .set(break_glass_grants::revoked_at.eq(diesel::dsl::now))
                .execute(c)
                .await?;
            let event = Event::new("break_glass.close")
                .on("break_glass", id)
                .subjects([client])
                .detail("by_holder", holder == p.account_id);
            audit::record(c, &Actor::from(p), event).await?;
            Ok(())
        })
        .await
}

/// Where a listed grant stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantState {
    Open,
    /// Ended early (`DELETE /break-glass/{id}`).
    Closed,
    Expired,
}

/// One break-glass grant, as its holder (or an institution admin) lists it.
#[derive(Clone, Debug)]
pub struct ListedGrant {
    pub id: Uuid,
    pub holder_account_id: Uuid,
    pub client_id: Uuid,
    /// Only while the grant is open: the holder may read the record then anyway.
    pub client_name: Option<(String, String)>,
    pub reason_code: String,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub state: GrantState,
}

type GrantRow = (
    Uuid,
    Uuid,
    Uuid,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// Break-glass grants: the caller's own, or with `all` every grant in the tenant (institution
/// admins only: they review break-glass; anyone else asking for all is refused). Open grants
/// come first, soonest expiry first, then ended ones, latest opened first; at most `limit`
/// in all (older ended grants are in the audit log). Clients are refused, as for opening.
/// Audited as `break_glass.list`, naming the clients listed.
pub async fn list_break_glass(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    all: bool,
    limit: i64,
) -> DomainResult<Vec<ListedGrant>> {
    if !policy::can_read_departments(p) {
        return Err(DomainError::Forbidden(
            "break-glass is for the organisation's staff",
        ));
    }
    if all && !p.has(Role::InstitutionAdmin) {
        return Err(DomainError::Forbidden(
            "only institution admins list every break-glass grant",
        ));
    }
    tenancy
        .tx(tenant, async |c| {
            let now = Utc::now();
            let columns = (
                break_glass_grants::id,
                break_glass_grants::account_id,
                break_glass_grants::client_person_id,
                break_glass_grants::reason_code,
                break_glass_grants::starts_at,
                break_glass_grants::expires_at,
                break_glass_grants::revoked_at,
            );
            let mut open = break_glass_grants::table
                .filter(break_glass_grants::revoked_at.is_null())
                .filter(break_glass_grants::expires_at.gt(now))
                .order((break_glass_grants::expires_at, break_glass_grants::id))
                .limit(limit)
                .select(columns)
                .into_boxed();
            if !all {
                open = open.filter(break_glass_grants::account_id.eq(p.account_id));
            }
            let mut rows: Vec<GrantRow> = open.load(c).await?;
            let room = limit - rows.len() as i64;
            if room > 0 {
                let mut ended = break_glass_grants::table
                    .filter(
                        break_glass_grants::revoked_at
                            .is_not_null()
                            .or(break_glass_grants::expires_at.le(now)),
                    )
                    .order((
                        break_glass_grants::starts_at.desc(),
                        break_glass_grants::id.desc(),
                    ))
                    .limit(room)
                    .select(columns)
                    .into_boxed();
                if !all {
                    ended = ended.filter(break_glass_grants::account_id.eq(p.account_id));
                }
                rows.extend(ended.load::<GrantRow>(c).await?);
            }
            let open_clients: Vec<Uuid> = rows
                .iter()
                .filter(|r| r.6.is_none() && r.5 > now)
                .map(|r| r.2)
                .collect();
            let names = org_repo::get_people(c, &open_clients).await?;
            let out: Vec<ListedGrant> = rows
                .into_iter()
                .map(|(id, holder, client, code, starts, expires, closed)| {
                    let state = match closed {
                        Some(_) => GrantState::Closed,
                        None if expires <= now => GrantState::Expired,
                        None => GrantState::Open,
                    };
                    ListedGrant {
                        id,
                        holder_account_id: holder,
                        client_id: client,
                        client_name: names
                            .iter()
                            .find(|x| x.id == client && state == GrantState::Open)
                            .map(|x| (x.given_name.clone(), x.family_name.clone())),
                        reason_code: code,
                        starts_at: starts,
                        expires_at: expires,
                        closed_at: closed,
                        state,
                    }
                })
                .collect();
            if !out.is_empty() {
                let mut subjects: Vec<Uuid> = out.iter().map(|g| g.client_id).collect();
                subjects.sort();
                subjects.dedup();
                let event = Event::new("break_glass.list")
                    .subjects(subjects)
                    .detail("rows", out.len())
                    .detail("all", all);
                audit::record(c, &Actor::from(p), event).await?;
            }
            Ok(out)
        })
        .await
}

/// Seeds a care-team membership (demo data; no principal exists yet).
pub async fn seed_care_team(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    client_id: Uuid,
    provider_id: Uuid,
) -> DomainResult<()> {
    tenancy
        .tx(tenant, async |c| {
            diesel::insert_into(care_team::table)
                .values((
                    care_team::client_person_id.eq(client_id),
                    care_team::provider_person_id.eq(provider_id),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            Ok::<_, DomainError>(())
        })
        .await
}
