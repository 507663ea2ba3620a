use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};
use tenancy::TenantRef;
use uuid::Uuid;

use domain::audit::service::{self, MAX_EXPORT, MAX_PAGE};
use domain::audit::{AuditEntry, AuditFilter};

use super::Tag;
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::{ApiError, ApiResult};

/// One audit-log entry. Never contains health data, names or emails.
#[derive(Object)]
pub struct AuditEvent {
    /// Position in the tenant's hash chain.
    pub seq: i64,
    /// When it happened (UTC).
    pub occurred_at: DateTime<Utc>,
    /// account, system, anonymous, integration or operator.
    pub actor_type: String,
    #[oai(skip_serializing_if_is_none)]
    pub actor_id: Option<Uuid>,
    /// `<area>.<verb>`, e.g. `person.read`, `auth.login`.
    pub action: String,
    #[oai(skip_serializing_if_is_none)]
    pub resource_type: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub resource_id: Option<Uuid>,
    /// The clients whose records were touched.
    pub subjects: Vec<Uuid>,
    /// success, failure or denied.
    pub outcome: String,
    #[oai(skip_serializing_if_is_none)]
    pub request_id: Option<String>,
    /// Enumerated facts (a reason code, a role).
    pub details: serde_json::Value,
    /// SHA-256 chain hash of this entry (hex).
    pub hash: String,
}

impl From<AuditEntry> for AuditEvent {
    fn from(e: AuditEntry) -> Self {
        AuditEvent {
            seq: e.seq,
            occurred_at: e.occurred_at,
            actor_type: e.actor_type,
            actor_id: e.actor_id,
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            subjects: e.subjects,
            outcome: e.outcome,
            request_id: e.request_id,
            details: e.details,
            hash: hex_of(&e.hash),
        }
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Object)]
pub struct AuditPage {
    pub items: Vec<AuditEvent>,
    /// Pass as `before_seq` for the next (older) page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_before_seq: Option<i64>,
}

#[derive(ApiResponse)]
pub enum CsvExport {
    /// The matching entries as CSV (newest first).
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Ok(
        PlainText<String>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

fn action_filter(raw: Option<String>) -> ApiResult<Option<String>> {
    match raw {
        None => Ok(None),
        Some(a)
            if !a.is_empty()
                && a.len() <= 100
                && a.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.')
                && !a.starts_with('.') =>
        {
            Ok(Some(a))
        }
        Some(_) => Err(ApiError::invalid_field(
            "action",
            "must look like person.read, or a prefix ending in '.' such as auth.",
        )),
    }
}

struct Filters {
    actor_id: Option<Uuid>,
    subject_id: Option<Uuid>,
    action: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

fn filter(f: Filters, before_seq: Option<i64>, limit: i64) -> ApiResult<AuditFilter> {
    if let (Some(from), Some(to)) = (f.from, f.to)
        && to <= from
    {
        return Err(ApiError::invalid_field("to", "must be after `from`"));
    }
    Ok(AuditFilter {
        actor_id: f.actor_id,
        subject_id: f.subject_id,
        action: action_filter(f.action)?,
        from: f.from,
        to: f.to,
        before_seq,
        limit,
    })
}

pub struct AuditApi;

#[OpenApi(prefix_path = "/audit-events", tag = "Tag::Audit")]
impl AuditApi {
    /// Search the audit log (institution admins), newest first
    #[oai(path = "/", method = "get", operation_id = "searchAuditEvents")]
    #[expect(
        clippy::too_many_arguments,
        reason = "poem-openapi takes each query parameter as an argument"
    )]
    async fn search(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        /// Only entries by this account.
        actor_id: Query<Option<Uuid>>,
        /// Only entries touching this client's records.
        subject_id: Query<Option<Uuid>>,
        /// An action (`person.read`) or a prefix ending in `.` (`auth.`).
        action: Query<Option<String>>,
        /// From this instant (inclusive).
        from: Query<Option<DateTime<Utc>>>,
        /// Until this instant (exclusive).
        to: Query<Option<DateTime<Utc>>>,
        /// `next_before_seq` of the previous page.
        before_seq: Query<Option<i64>>,
        /// 1–500, default 100.
        limit: Query<Option<i64>>,
    ) -> ApiResult<Json<AuditPage>> {
        let limit = limit.0.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ApiError::invalid_field(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let f = filter(
            Filters {
                actor_id: actor_id.0,
                subject_id: subject_id.0,
                action: action.0,
                from: from.0,
                to: to.0,
            },
            before_seq.0,
            limit + 1,
        )?;
        let mut entries = service::search(&state.tenancy, &tenant, &auth.0.principal, f).await?;
        let more = entries.len() as i64 > limit;
        entries.truncate(limit as usize);
        let next_before_seq = if more {
            entries.last().map(|e| e.seq)
        } else {
            None
        };
        Ok(Json(AuditPage {
            items: entries.into_iter().map(Into::into).collect(),
            next_before_seq,
        }))
    }

    /// Export the audit log as CSV (institution admins; at most 100,000 rows)
    #[oai(path = "/export", method = "get", operation_id = "exportAuditEvents")]
    #[expect(
        clippy::too_many_arguments,
        reason = "poem-openapi takes each query parameter as an argument"
    )]
    async fn export(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        actor_id: Query<Option<Uuid>>,
        subject_id: Query<Option<Uuid>>,
        action: Query<Option<String>>,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
    ) -> ApiResult<CsvExport> {
        let f = filter(
            Filters {
                actor_id: actor_id.0,
                subject_id: subject_id.0,
                action: action.0,
                from: from.0,
                to: to.0,
            },
            None,
            MAX_EXPORT,
        )?;
        let entries = service::export(&state.tenancy, &tenant, &auth.0.principal, f).await?;
        let csv = to_csv(entries).map_err(|e| ApiError::internal(&e))?;
        Ok(CsvExport::Ok(
            PlainText(csv),
            format!("attachment; filename=\"audit-{}.csv\"", tenant.slug),
        ))
    }
}

fn to_csv(entries: Vec<AuditEntry>) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "seq",
        "occurred_at",
        "actor_type",
        "actor_id",
        "action",
        "resource_type",
        "resource_id",
        "subjects",
        "outcome",
        "request_id",
        "details",
        "hash",
    ])?;
    for e in entries {
        let subjects = e
            .subjects
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        w.write_record([
            e.seq.to_string(),
            e.occurred_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            e.actor_type,
            e.actor_id.map(|a| a.to_string()).unwrap_or_default(),
            e.action,
            e.resource_type.unwrap_or_default(),
            e.resource_id.map(|a| a.to_string()).unwrap_or_default(),
            subjects,
            e.outcome,
            e.request_id.unwrap_or_default(),
            e.details.to_string(),
            hex_of(&e.hash),
        ])?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
