use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::chain;
use super::model::{Actor, AuditEntry, AuditFilter, Event};
use crate::error::DomainError;
use crate::schema::{audit_head, audit_log};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
struct Row {
    seq: i64,
    occurred_at: DateTime<Utc>,
    actor_type: String,
    actor_id: Option<Uuid>,
    action: String,
    resource_type: Option<String>,
    resource_id: Option<Uuid>,
    subjects: Vec<Uuid>,
    outcome: String,
    request_id: Option<String>,
    details: Value,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl From<Row> for AuditEntry {
    fn from(r: Row) -> Self {
        AuditEntry {
            seq: r.seq,
            occurred_at: r.occurred_at,
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            action: r.action,
            resource_type: r.resource_type,
            resource_id: r.resource_id,
            subjects: r.subjects,
            outcome: r.outcome,
            request_id: r.request_id,
            details: r.details,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// Appends one entry inside the caller's transaction. Locks the chain head until commit, so
/// call it as the transaction's last statement.
pub async fn record(c: &mut AsyncPgConnection, actor: &Actor, event: Event) -> QueryResult<()> {
    let (seq, prev_hash): (i64, Vec<u8>) = audit_head::table
        .select((audit_head::seq, audit_head::hash))
        .for_update()
        .first(c)
        .await?;
    let mut entry = AuditEntry {
        seq: seq + 1,
        occurred_at: Utc::now().trunc_subsecs(6),
        actor_type: actor.kind.as_str().to_owned(),
        actor_id: actor.id,
        action: event.action.to_owned(),
        resource_type: event.resource_type.map(str::to_owned),
        resource_id: event.resource_id,
        subjects: event.subjects,
        outcome: event.outcome.as_str().to_owned(),
        request_id: actor.request_id.clone(),
        details: Value::Object(event.details),
        prev_hash: prev_hash.clone(),
        hash: Vec::new(),
    };
    entry.hash = chain::hash(&prev_hash, &entry);
    let row = Row {
        seq: entry.seq,
        occurred_at: entry.occurred_at,
        actor_type: entry.actor_type,
        actor_id: entry.actor_id,
        action: entry.action,
        resource_type: entry.resource_type,
        resource_id: entry.resource_id,
        subjects: entry.subjects,
        outcome: entry.outcome,
        request_id: entry.request_id,
        details: entry.details,
        prev_hash: entry.prev_hash,
        hash: entry.hash.clone(),
    };
    diesel::insert_into(audit_log::table)
        .values(&row)
        .execute(c)
        .await?;
    diesel::update(audit_head::table)
        .set((audit_head::seq.eq(row.seq), audit_head::hash.eq(&row.hash)))
        .execute(c)
        .await?;
    Ok(())
}

/// Appends one entry in a transaction of its own (failures, denials: the work's own
/// transaction rolled back).
pub async fn record_alone(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    actor: &Actor,
    event: Event,
) -> Result<(), DomainError> {
    tenancy
        .tx(tenant, async |c| {
            Ok::<_, DomainError>(record(c, actor, event).await?)
        })
        .await
}

pub async fn query(c: &mut AsyncPgConnection, f: &AuditFilter) -> QueryResult<Vec<AuditEntry>> {
    let mut q = audit_log::table
        .select(Row::as_select())
        .order(audit_log::seq.desc())
        .into_boxed();
    if let Some(a) = f.actor_id {
        q = q.filter(audit_log::actor_id.eq(a));
    }
    if let Some(s) = f.subject_id {
        q = q.filter(audit_log::subjects.contains(vec![s]));
    }
    if let Some(action) = &f.action {
        if let Some(prefix) = action.strip_suffix('.') {
            q = q.filter(
                audit_log::action
                    .like(format!("{}.%", prefix.replace('%', "").replace('_', "\\_"))),
            );
        } else {
            q = q.filter(audit_log::action.eq(action.clone()));
        }
    }
    if let Some(from) = f.from {
        q = q.filter(audit_log::occurred_at.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(audit_log::occurred_at.lt(to));
    }
    if let Some(b) = f.before_seq {
        q = q.filter(audit_log::seq.lt(b));
    }
    Ok(q.limit(f.limit)
        .load::<Row>(c)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub(super) async fn load_range(
    c: &mut AsyncPgConnection,
    after_seq: i64,
    up_to_seq: i64,
    limit: i64,
) -> QueryResult<Vec<AuditEntry>> {
    Ok(audit_log::table
        .select(Row::as_select())
        .filter(audit_log::seq.gt(after_seq))
        .filter(audit_log::seq.le(up_to_seq))
        .order(audit_log::seq)
        .limit(limit)
        .load::<Row>(c)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub(super) async fn head(c: &mut AsyncPgConnection) -> QueryResult<(i64, Vec<u8>)> {
    audit_head::table
        .select((audit_head::seq, audit_head::hash))
        .first(c)
        .await
}
