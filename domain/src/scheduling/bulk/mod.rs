//! Bulk scheduling for institutions (see `docs/SCHEDULING.md`, "Bulk scheduling").
//!
//! An institution admin or sub-admin submits a batch under an id of their choosing. [`submit`]
//! parses and resolves every row in one transaction — rows that cannot be parsed, or that name
//! an unknown client, a provider or department the caller does not manage, or an unknown type,
//! are stored `failed` with their reason — orders the rest so departments take turns
//! ([`input::fair_order`]), splits them into lanes that share no calendar ([`input::lanes`]:
//! rows that may go to the same provider, or book the same client, share a lane) cut into
//! chunks of [`input::CHUNK`] rows, and writes the first chunk job of each lane in the same
//! transaction. Each chunk enqueues its lane's next one as it commits, so a lane is placed in
//! the fair order while lanes run side by side. [`place::run_chunk`] places a chunk set-based — load once, choose in
//! memory, write with one statement per table — so a row is booked (with its reminders) or
//! failed with its reason, never half-done, and a failed row never undoes another.
//!
//! * [`input`] — rows as text, parsing, the fair work order (pure).
//! * [`plan`] — choosing each row's slot in memory (pure).
//! * [`place`] — the chunk job: loading, the inserts, the outcomes.

pub mod input;
pub mod place;
pub mod plan;

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use self::input::{ClientRef, ParsedRow, RawRow, Target, TypeRef, Window};
use super::reach::{Reach, reach};
use super::schema::{appointment_types, bulk_batches, bulk_rows};
use crate::audit::{self, Actor, Event};
use crate::error::{DomainError, DomainResult};
use crate::identity::{Principal, Role};
use crate::jobs;
use crate::page::{Page, PageRequest};
use crate::schema::{departments, people};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchStatus {
    Running,
    Completed,
}

impl BatchStatus {
    pub fn parse(s: &str) -> BatchStatus {
        if s == "completed" {
            BatchStatus::Completed
        } else {
            BatchStatus::Running
        }
    }
}

/// What `GET` on a batch shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub id: Uuid,
    pub status: BatchStatus,
    pub total: i64,
    pub booked: i64,
    pub failed: i64,
    pub pending: i64,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl Progress {
    /// Rows settled (booked or failed), in whole percent.
    pub fn percent(&self) -> i64 {
        if self.total == 0 {
            return 100;
        }
        (self.booked + self.failed) * 100 / self.total
    }
}

/// One row of the downloadable report.
#[derive(Clone, Debug, PartialEq, Queryable, Selectable)]
#[diesel(table_name = bulk_rows)]
pub struct ReportRow {
    pub line: i32,
    pub status: String,
    pub client_id: Option<Uuid>,
    pub provider_id: Option<Uuid>,
    pub appointment_id: Option<Uuid>,
    pub starts_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

struct NewRow {
    line: i32,
    seq: i32,
    chunk: i32,
    client_id: Option<Uuid>,
    provider_id: Option<Uuid>,
    department_id: Option<Uuid>,
    type_id: Option<Uuid>,
    from_date: Option<NaiveDate>,
    until_date: Option<NaiveDate>,
    from_at: Option<DateTime<Utc>>,
    until_at: Option<DateTime<Utc>>,
    preferred_from: Option<NaiveTime>,
    preferred_until: Option<NaiveTime>,
    status: &'static str,
    reason: Option<String>,
}

/// Stores the batch's rows with one statement, whatever their number (arrays, not 16 bind
/// parameters per row).
async fn insert_rows(
    c: &mut AsyncPgConnection,
    batch: Uuid,
    rows: &[NewRow],
) -> QueryResult<usize> {
    use diesel::sql_types::{
        Array, Date, Int4, Nullable, Text, Time, Timestamptz, Uuid as SqlUuid,
    };
    fn col<T>(rows: &[NewRow], f: impl Fn(&NewRow) -> T) -> Vec<T> {
        rows.iter().map(f).collect()
    }
    diesel::sql_query(
        "INSERT INTO bulk_rows (batch_id, line, seq, chunk, client_id, provider_id, department_id, \
             type_id, from_date, until_date, from_at, until_at, preferred_from, preferred_until, \
             status, reason) \
         SELECT $1, r.* FROM unnest($2::int4[], $3::int4[], $4::int4[], $5::uuid[], $6::uuid[], \
             $7::uuid[], $8::uuid[], $9::date[], $10::date[], $11::timestamptz[], \
             $12::timestamptz[], $13::time[], $14::time[], $15::text[], $16::text[]) AS r",
    )
    .bind::<SqlUuid, _>(batch)
    .bind::<Array<Int4>, _>(col(rows, |r| r.line))
    .bind::<Array<Int4>, _>(col(rows, |r| r.seq))
    .bind::<Array<Int4>, _>(col(rows, |r| r.chunk))
    .bind::<Array<Nullable<SqlUuid>>, _>(col(rows, |r| r.client_id))
    .bind::<Array<Nullable<SqlUuid>>, _>(col(rows, |r| r.provider_id))
    .bind::<Array<Nullable<SqlUuid>>, _>(col(rows, |r| r.department_id))
    .bind::<Array<Nullable<SqlUuid>>, _>(col(rows, |r| r.type_id))
    .bind::<Array<Nullable<Date>>, _>(col(rows, |r| r.from_date))
    .bind::<Array<Nullable<Date>>, _>(col(rows, |r| r.until_date))
    .bind::<Array<Nullable<Timestamptz>>, _>(col(rows, |r| r.from_at))
    .bind::<Array<Nullable<Timestamptz>>, _>(col(rows, |r| r.until_at))
    .bind::<Array<Nullable<Time>>, _>(col(rows, |r| r.preferred_from))
    .bind::<Array<Nullable<Time>>, _>(col(rows, |r| r.preferred_until))
    .bind::<Array<Text>, _>(col(rows, |r| r.status))
    .bind::<Array<Nullable<Text>>, _>(col(rows, |r| r.reason.clone()))
    .execute(c)
    .await
}

/// Institution admins and sub-admins; checked before any lookup.
fn may_submit(p: &Principal) -> DomainResult<()> {
    if p.is_integration() || !(p.has(Role::InstitutionAdmin) || p.has(Role::SubAdmin)) {
        return Err(DomainError::Forbidden(
            "bulk scheduling is for institution admins and sub-admins",
        ));
    }
    Ok(())
}

/// A row resolved against the tenant, or the reason it cannot be placed.
struct Resolved {
    client: Uuid,
    provider: Option<Uuid>,
    department: Option<Uuid>,
    type_id: Uuid,
    /// The department the row is charged to, for the fair order.
    charged_to: Option<Uuid>,
    parsed: ParsedRow,
}

/// Looks up everything the rows name, set-based (a handful of queries for the whole batch).
async fn resolve(
    c: &mut AsyncPgConnection,
    r: &Reach,
    parsed: &[Result<ParsedRow, String>],
) -> DomainResult<Vec<Result<Resolved, String>>> {
    let ok = || parsed.iter().filter_map(|p| p.as_ref().ok());
    let client_ids: Vec<Uuid> = ok()
        .filter_map(|p| match &p.client {
            ClientRef::Id(id) => Some(*id),
            ClientRef::Email(_) => None,
        })
        .collect();
    let emails: Vec<String> = ok()
        .filter_map(|p| match &p.client {
            ClientRef::Email(e) => Some(e.clone()),
            ClientRef::Id(_) => None,
        })
        .collect();
    let provider_ids: Vec<Uuid> = ok()
        .filter_map(|p| match p.target {
            Target::Provider(id) => Some(id),
            Target::Department(_) => None,
        })
        .collect();
    let department_ids: Vec<Uuid> = ok()
        .filter_map(|p| match p.target {
            Target::Department(id) => Some(id),
            Target::Provider(_) => None,
        })
        .collect();
    let active = |kind: &'static str| {
        people::table
            .filter(people::kind.eq(kind))
            .filter(people::status.eq("active"))
    };
    let clients: HashMap<Uuid, Option<Uuid>> = active("client")
        .filter(people::id.eq_any(&client_ids))
        .select((people::id, people::department_id))
        .load::<(Uuid, Option<Uuid>)>(c)
        .await?
        .into_iter()
        .collect();
    let mut by_email: HashMap<String, Option<(Uuid, Option<Uuid>)>> = HashMap::new();
    let rows: Vec<(Uuid, Option<Uuid>, Option<String>)> = active("client")
        .filter(people::email.is_not_null())
        .filter(crate::schema::lower(people::email.assume_not_null()).eq_any(&emails))
        .select((people::id, people::department_id, people::email))
        .load(c)
        .await?;
    for (id, dept, email) in rows {
        if let Some(e) = email {
            by_email
                .entry(e.to_lowercase())
                .and_modify(|v| *v = None) // two clients share it: ambiguous
                .or_insert(Some((id, dept)));
        }
    }
    let providers: HashMap<Uuid, Option<Uuid>> = active("provider")
        .filter(people::id.eq_any(&provider_ids))
        .select((people::id, people::department_id))
        .load::<(Uuid, Option<Uuid>)>(c)
        .await?
        .into_iter()
        .collect();
    let known_departments: Vec<Uuid> = departments::table
        .filter(departments::id.eq_any(&department_ids))
        .select(departments::id)
        .load(c)
        .await?;
    let types: Vec<(Uuid, String)> = appointment_types::table
        .filter(appointment_types::active.eq(true))
        .select((appointment_types::id, appointment_types::name))
        .load(c)
        .await?;
    let mut type_by_name: HashMap<&str, Option<Uuid>> = HashMap::new();
    for (id, name) in &types {
        type_by_name
            .entry(name.as_str())
            .and_modify(|v| *v = None)
            .or_insert(Some(*id));
    }
    let manages_dept = |d: Option<Uuid>| r.all || d.is_some_and(|d| r.departments.contains(&d));
    let out = parsed
        .iter()
        .map(|p| {
            let p = p.as_ref().map_err(Clone::clone)?;
            let (client, client_dept) = match &p.client {
                ClientRef::Id(id) => clients
                    .get(id)
                    .map(|d| (*id, *d))
                    .ok_or("client_id is not an active client of this organisation")?,
                ClientRef::Email(e) => match by_email.get(e) {
                    Some(Some(x)) => *x,
                    Some(None) => {
                        return Err(
                            "client_email is shared by several clients; use client_id".into()
                        );
                    }
                    None => {
                        return Err(
                            "client_email is not an active client of this organisation".into()
                        );
                    }
                },
            };
            let (provider, department, target_dept) = match p.target {
                Target::Provider(id) => match providers.get(&id) {
                    Some(d) if manages_dept(*d) => (Some(id), None, *d),
                    // Unknown and not-yours read alike: the caller may not learn who exists.
                    _ => return Err("provider_id is not an active provider you manage".into()),
                },
                Target::Department(id) => {
                    if known_departments.contains(&id) && manages_dept(Some(id)) {
                        (None, Some(id), Some(id))
                    } else {
                        return Err("department_id is not a department you manage".into());
                    }
                }
            };
            let type_id = match &p.type_ref {
                TypeRef::Id(id) => types
                    .iter()
                    .any(|(t, _)| t == id)
                    .then_some(*id)
                    .ok_or("type_id is not an active appointment type")?,
                TypeRef::Name(n) => match type_by_name.get(n.as_str()) {
                    Some(Some(id)) => *id,
                    Some(None) => {
                        return Err("type names several appointment types; use type_id".into());
                    }
                    None => return Err("type is not an active appointment type".into()),
                },
            };
            Ok(Resolved {
                client,
                provider,
                department,
                type_id,
                charged_to: client_dept.or(target_dept),
                parsed: p.clone(),
            })
        })
        .collect::<Vec<Result<Resolved, String>>>();
    Ok(out)
}

/// What [`submit`] answers.
#[derive(Clone, Debug, PartialEq)]
pub struct Submitted {
    pub id: Uuid,
    pub total: i64,
    /// True when the batch id was already submitted (nothing was done again).
    pub replayed: bool,
}

/// Records a batch and its placement jobs (202 semantics: the work happens later).
pub async fn submit(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
    rows: Vec<RawRow>,
) -> DomainResult<Submitted> {
    may_submit(p)?;
    if rows.is_empty() {
        return Err(DomainError::invalid("/rows", "the batch has no rows"));
    }
    if rows.len() > input::MAX_ROWS {
        return Err(DomainError::invalid(
            "/rows",
            format!("a batch holds at most {} rows", input::MAX_ROWS),
        ));
    }
    let parsed: Vec<Result<ParsedRow, String>> = rows.iter().map(input::parse).collect();
    tenancy
        .tx(tenant, async |c| {
            let inserted = diesel::insert_into(bulk_batches::table)
                .values((
                    bulk_batches::id.eq(id),
                    bulk_batches::submitted_by.eq(p.account_id),
                    bulk_batches::total.eq(rows.len() as i32),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            if inserted == 0 {
                let (by, total): (Uuid, i32) = bulk_batches::table
                    .find(id)
                    .select((bulk_batches::submitted_by, bulk_batches::total))
                    .first(c)
                    .await?;
                if by != p.account_id {
                    return Err(DomainError::Conflict(
                        "this batch id is already in use; choose a new one".into(),
                    ));
                }
                return Ok(Submitted {
                    id,
                    total: total.into(),
                    replayed: true,
                });
            }
            let r = reach(c, p).await?;
            let resolved = resolve(c, &r, &parsed).await?;
            let keys: Vec<Option<Uuid>> = resolved
                .iter()
                .map(|x| x.as_ref().ok().and_then(|x| x.charged_to))
                .collect();
            let order = input::fair_order(&keys);
            // Each row's calendars (its client, and every provider it may go to) decide its
            // lane; lanes are chunked and chained apart so they can be placed side by side.
            let departments = place::department_providers(
                c,
                &resolved
                    .iter()
                    .filter_map(|x| x.as_ref().ok().and_then(|x| x.department))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>(),
            )
            .await?;
            let calendars: Vec<Vec<Uuid>> = resolved
                .iter()
                .map(|x| match x {
                    Ok(x) => std::iter::once(x.client)
                        .chain(x.provider)
                        .chain(x.department)
                        .chain(
                            x.department
                                .and_then(|d| departments.get(&d))
                                .into_iter()
                                .flatten()
                                .copied(),
                        )
                        .collect(),
                    Err(_) => Vec::new(),
                })
                .collect();
            let placeable: Vec<usize> = order
                .iter()
                .copied()
                .filter(|i| resolved[*i].is_ok())
                .collect();
            let layout = input::layout(&placeable, &input::lanes(&calendars), input::CHUNK);
            // Rows that failed on submit follow, in input order, in no chunk (-1: no job).
            let laid_out = layout.rows.iter().copied().chain(
                (0..rows.len())
                    .filter(|i| resolved[*i].is_err())
                    .map(|i| (i, -1)),
            );
            let mut new_rows = Vec::with_capacity(rows.len());
            let mut failed = 0;
            for (seq, (i, chunk)) in laid_out.enumerate() {
                let mut row = NewRow {
                    line: rows[i].line,
                    seq: seq as i32,
                    chunk,
                    client_id: None,
                    provider_id: None,
                    department_id: None,
                    type_id: None,
                    from_date: None,
                    until_date: None,
                    from_at: None,
                    until_at: None,
                    preferred_from: None,
                    preferred_until: None,
                    status: "pending",
                    reason: None,
                };
                match &resolved[i] {
                    Ok(x) => {
                        row.client_id = Some(x.client);
                        row.provider_id = x.provider;
                        row.department_id = x.department;
                        row.type_id = Some(x.type_id);
                        match x.parsed.window {
                            Window::Dates(a, b) => {
                                (row.from_date, row.until_date) = (Some(a), Some(b))
                            }
                            Window::Instants(a, b) => {
                                (row.from_at, row.until_at) = (Some(a), Some(b))
                            }
                        }
                        if let Some((a, b)) = x.parsed.preferred {
                            (row.preferred_from, row.preferred_until) = (Some(a), Some(b));
                        }
                    }
                    Err(reason) => {
                        row.status = "failed";
                        row.reason = Some(reason.chars().take(500).collect());
                        failed += 1;
                    }
                }
                new_rows.push(row);
            }
            insert_rows(c, id, &new_rows).await?;
            let now = Utc::now();
            let mut chunk_jobs = Vec::with_capacity(layout.chains.len());
            for (n, chain) in layout.chains.iter().enumerate() {
                if let Some(job) = place::ChunkJob::lane(id, chain) {
                    // Due a microsecond apart, so runners start lanes in order.
                    chunk_jobs.push((
                        place::to_payload(&job)?,
                        now + Duration::microseconds(n as i64),
                    ));
                }
            }
            jobs::enqueue_many(c, tenant.id, place::KIND, &chunk_jobs).await?;
            let actor = Actor::from(p);
            audit::record(
                c,
                &actor,
                Event::new("bulk_batch.submit")
                    .on("bulk_batch", id)
                    .detail("rows", rows.len())
                    .detail("failed_on_submit", failed)
                    .detail("lanes", layout.chains.len())
                    .detail("jobs", layout.chains.iter().map(Vec::len).sum::<usize>()),
            )
            .await?;
            if layout.chains.is_empty() {
                place::complete(c, id, &actor).await?;
            }
            Ok(Submitted {
                id,
                total: rows.len() as i64,
                replayed: false,
            })
        })
        .await
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = bulk_batches)]
struct Batch {
    submitted_by: Uuid,
    total: i32,
    status: String,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

/// The batch, if this caller may see it: institution admins see every batch, a sub-admin
/// the batches they submitted. Everyone else is refused before any lookup.
async fn visible_batch(c: &mut AsyncPgConnection, p: &Principal, id: Uuid) -> DomainResult<Batch> {
    bulk_batches::table
        .find(id)
        .select(Batch::as_select())
        .first(c)
        .await
        .optional()?
        .filter(|b| p.has(Role::InstitutionAdmin) || b.submitted_by == p.account_id)
        .ok_or(DomainError::NotFound("bulk batch"))
}

pub async fn progress(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<Progress> {
    may_submit(p)?;
    tenancy
        .tx(tenant, async |c| {
            let b = visible_batch(c, p, id).await?;
            let counts: Vec<(String, i64)> = bulk_rows::table
                .filter(bulk_rows::batch_id.eq(id))
                .group_by(bulk_rows::status)
                .select((bulk_rows::status, diesel::dsl::count_star()))
                .load(c)
                .await?;
            let n = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, v)| *v);
            Ok(Progress {
                id,
                status: BatchStatus::parse(&b.status),
                total: b.total.into(),
                booked: n("booked"),
                failed: n("failed"),
                pending: n("pending"),
                created_at: b.created_at,
                completed_at: b.completed_at,
            })
        })
        .await
}

/// Every row's outcome, in input order. Audited: it names the clients booked.
pub async fn report(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<Vec<ReportRow>> {
    may_submit(p)?;
    tenancy
        .tx(tenant, async |c| {
            visible_batch(c, p, id).await?;
            let rows: Vec<ReportRow> = bulk_rows::table
                .filter(bulk_rows::batch_id.eq(id))
                .order(bulk_rows::line)
                .select(ReportRow::as_select())
                .load(c)
                .await?;
            // The report links clients to appointments: name them, as any list of them does.
            let mut subjects: Vec<Uuid> = rows.iter().filter_map(|r| r.client_id).collect();
            subjects.sort_unstable();
            subjects.dedup();
            audit::record(
                c,
                &Actor::from(p),
                Event::new("bulk_batch.report.read")
                    .on("bulk_batch", id)
                    .subjects(subjects)
                    .detail("rows", rows.len()),
            )
            .await?;
            Ok(rows)
        })
        .await
}

/// The batches this caller may see, newest first (institution admins: every batch; a
/// sub-admin: their own). Batch ids are chosen by the submitter, so they do not sort by time:
/// the keyset is `(created_at, id)`, and `after` names the last batch of the previous page.
pub async fn list(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    page: PageRequest,
) -> DomainResult<Page<Progress>> {
    may_submit(p)?;
    let everyone = p.has(Role::InstitutionAdmin);
    tenancy
        .tx(tenant, async |c| {
            let mut q = bulk_batches::table.into_boxed();
            if !everyone {
                q = q.filter(bulk_batches::submitted_by.eq(p.account_id));
            }
            if let Some(after) = page.after {
                let mut cursor = bulk_batches::table
                    .find(after)
                    .select(bulk_batches::created_at)
                    .into_boxed();
                if !everyone {
                    cursor = cursor.filter(bulk_batches::submitted_by.eq(p.account_id));
                }
                let at: DateTime<Utc> =
                    cursor.first(c).await.optional()?.ok_or_else(|| {
                        DomainError::invalid("after", "is not a batch of this list")
                    })?;
                q = q.filter(
                    bulk_batches::created_at.lt(at).or(bulk_batches::created_at
                        .eq(at)
                        .and(bulk_batches::id.lt(after))),
                );
            }
            let rows: Vec<(Uuid, Batch)> = q
                .order((bulk_batches::created_at.desc(), bulk_batches::id.desc()))
                .limit(page.limit + 1)
                .select((bulk_batches::id, Batch::as_select()))
                .load(c)
                .await?;
            let batches = Page::from_overfetch(rows, page.limit, |(id, _)| *id);
            let ids: Vec<Uuid> = batches.items.iter().map(|(id, _)| *id).collect();
            let counts: Vec<(Uuid, String, i64)> = bulk_rows::table
                .filter(bulk_rows::batch_id.eq_any(&ids))
                .group_by((bulk_rows::batch_id, bulk_rows::status))
                .select((
                    bulk_rows::batch_id,
                    bulk_rows::status,
                    diesel::dsl::count_star(),
                ))
                .load(c)
                .await?;
            let n = |id: Uuid, s: &str| {
                counts
                    .iter()
                    .find(|(b, k, _)| *b == id && k == s)
                    .map_or(0, |(_, _, v)| *v)
            };
            Ok(Page {
                items: batches
                    .items
                    .into_iter()
                    .map(|(id, b)| Progress {
                        id,
                        status: BatchStatus::parse(&b.status),
                        total: b.total.into(),
                        booked: n(id, "booked"),
                        failed: n(id, "failed"),
                        pending: n(id, "pending"),
                        created_at: b.created_at,
                        completed_at: b.completed_at,
                    })
                    .collect(),
                next_after: batches.next_after,
            })
        })
        .await
}
