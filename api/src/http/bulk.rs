//! Bulk scheduling for institutions: submit a batch (JSON or CSV), follow its progress,
//! download the per-row report. The work is done by outbox jobs (`domain::scheduling::bulk`).

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiRequest, ApiResponse, Enum, Object, OpenApi};
use tenancy::TenantRef;
use uuid::Uuid;

use domain::scheduling::bulk::input::{MAX_ROWS, RawRow};
use domain::scheduling::bulk::{self, BatchStatus, Progress, ReportRow};

use super::Tag;
use super::types::{PageInfo, page};
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::{ApiError, ApiResult};

/// One row of a JSON batch. Give `client_id` or `client_email`, `provider_id` or
/// `department_id`, `type_id` or `type` (the type's name).
#[derive(Object, Clone, Default)]
pub struct BulkRowInput {
    #[oai(validator(max_length = 100))]
    pub client_id: Option<String>,
    #[oai(validator(max_length = 320))]
    pub client_email: Option<String>,
    #[oai(validator(max_length = 100))]
    pub provider_id: Option<String>,
    #[oai(validator(max_length = 100))]
    pub department_id: Option<String>,
    #[oai(validator(max_length = 100))]
    pub type_id: Option<String>,
    /// The appointment type's name.
    #[oai(rename = "type", validator(max_length = 200))]
    pub type_name: Option<String>,
    /// A date (`2026-12-01`, in the provider's zone) or an RFC 3339 instant.
    #[oai(validator(max_length = 64))]
    pub window_from: Option<String>,
    /// Inclusive when a date; exclusive when an instant.
    #[oai(validator(max_length = 64))]
    pub window_until: Option<String>,
    /// Local times in the provider's zone, e.g. `09:00-12:00`.
    #[oai(validator(max_length = 32))]
    pub preferred_times: Option<String>,
}

#[derive(Object)]
pub struct BulkBatchInput {
    #[oai(validator(max_items = 10000))]
    pub rows: Vec<BulkRowInput>,
}

#[derive(ApiRequest)]
pub enum BulkBatchBody {
    /// Rows as JSON.
    Json(Json<BulkBatchInput>),
    /// Rows as CSV with a header row naming the columns (any order): `client_id` or
    /// `client_email`, `provider_id` or `department_id`, `type_id` or `type`, `window_from`,
    /// `window_until`, and optionally `preferred_times`.
    #[oai(content_type = "text/csv")]
    Csv(PlainText<String>),
}

#[derive(Object)]
pub struct BulkBatchAccepted {
    pub batch_id: Uuid,
    pub total: i64,
    /// True when this batch id had already been submitted: nothing was done again.
    pub replayed: bool,
}

#[derive(ApiResponse)]
pub enum BulkSubmitted {
    /// Accepted: the rows are placed by background jobs; follow `Location`.
    #[oai(status = 202)]
    Accepted(Json<BulkBatchAccepted>, #[oai(header = "Location")] String),
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum BulkBatchStatus {
    Running,
    Completed,
}

#[derive(Object)]
pub struct BulkBatchProgress {
    pub batch_id: Uuid,
    pub status: BulkBatchStatus,
    pub total: i64,
    pub booked: i64,
    pub failed: i64,
    pub pending: i64,
    /// Rows settled (booked or failed), in whole percent.
    pub percent: i64,
    pub created_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<Progress> for BulkBatchProgress {
    fn from(p: Progress) -> Self {
        BulkBatchProgress {
            batch_id: p.id,
            status: match p.status {
                BatchStatus::Running => BulkBatchStatus::Running,
                BatchStatus::Completed => BulkBatchStatus::Completed,
            },
            percent: p.percent(),
            total: p.total,
            booked: p.booked,
            failed: p.failed,
            pending: p.pending,
            created_at: p.created_at,
            completed_at: p.completed_at,
        }
    }
}

#[derive(Object)]
pub struct BulkBatchPage {
    pub items: Vec<BulkBatchProgress>,
    pub page: PageInfo,
}

#[derive(ApiResponse)]
pub enum BulkReport {
    /// Every row's outcome in input order: `line,status,client_id,provider_id,appointment_id,starts_at,reason`.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Ok(
        PlainText<String>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

const COLUMNS: [&str; 9] = [
    "client_id",
    "client_email",
    "provider_id",
    "department_id",
    "type_id",
    "type",
    "window_from",
    "window_until",
    "preferred_times",
];

/// CSV → rows. A file that is not well-formed CSV, or has no usable header, is a 422 naming
/// the line; a row's own faults are reported per row by the domain.
fn csv_rows(text: &str) -> ApiResult<Vec<RawRow>> {
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| ApiError::invalid_field("/csv", format!("line 1: {e}")))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    if let Some(h) = header
        .iter()
        .find(|h| !h.is_empty() && !COLUMNS.contains(&h.as_str()))
    {
        return Err(ApiError::invalid_field(
            "/csv",
            format!(
                "line 1: unknown column `{}`",
                h.chars().take(40).collect::<String>()
            ),
        ));
    }
    for need in [
        ["client_id", "client_email"],
        ["provider_id", "department_id"],
        ["type_id", "type"],
        ["window_from", "window_from"],
        ["window_until", "window_until"],
    ] {
        if !header.iter().any(|h| need.contains(&h.as_str())) {
            return Err(ApiError::invalid_field(
                "/csv",
                format!(
                    "line 1: the header needs a `{}` column",
                    need.join("` or `")
                ),
            ));
        }
    }
    let col = |name: &str| header.iter().position(|h| h == name);
    let idx: Vec<Option<usize>> = COLUMNS.iter().map(|n| col(n)).collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            ApiError::invalid_field("/csv", format!("line {line}: {}", csv_problem(&e)))
        })?;
        if rows.len() >= MAX_ROWS {
            return Err(ApiError::invalid_field(
                "/csv",
                format!("a batch holds at most {MAX_ROWS} rows"),
            ));
        }
        let get = |i: usize| idx[i].and_then(|i| rec.get(i)).map(str::to_owned);
        rows.push(RawRow {
            line: rec.position().map_or(0, |p| p.line() as i32),
            client_id: get(0),
            client_email: get(1),
            provider_id: get(2),
            department_id: get(3),
            type_id: get(4),
            type_name: get(5),
            window_from: get(6),
            window_until: get(7),
            preferred_times: get(8),
        });
    }
    Ok(rows)
}

/// The CSV error without echoing the file's content.
fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields, found {len}"),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        _ => "not well-formed CSV".into(),
    }
}

fn report_csv(rows: Vec<ReportRow>) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "line",
        "status",
        "client_id",
        "provider_id",
        "appointment_id",
        "starts_at",
        "reason",
    ])?;
    let s = |v: Option<Uuid>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in rows {
        w.write_record([
            r.line.to_string(),
            r.status,
            s(r.client_id),
            s(r.provider_id),
            s(r.appointment_id),
            r.starts_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            r.reason.unwrap_or_default(),
        ])?;
    }
    String::from_utf8(
        w.into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?,
    )
    .map_err(|e| csv::Error::from(std::io::Error::other(e)))
}

pub struct BulkApi;

#[OpenApi(tag = "Tag::Appointments")]
impl BulkApi {
    /// Submit a bulk scheduling batch
    ///
    /// Institution admins and sub-admins (rows only for providers and departments in their
    /// subtree). Answers 202 at once; the rows are booked by background jobs. Submitting the
    /// same `batch_id` again does nothing and answers the same.
    #[oai(
        path = "/bulk-batches",
        method = "post",
        operation_id = "submitBulkBatch"
    )]
    async fn submit(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        /// A UUID chosen by the client; the batch's id.
        batch_id: Query<Uuid>,
        body: BulkBatchBody,
    ) -> ApiResult<BulkSubmitted> {
        let rows = match body {
            BulkBatchBody::Json(j) => {
                j.0.rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| RawRow {
                        line: i as i32 + 1,
                        client_id: r.client_id,
                        client_email: r.client_email,
                        provider_id: r.provider_id,
                        department_id: r.department_id,
                        type_id: r.type_id,
                        type_name: r.type_name,
                        window_from: r.window_from,
                        window_until: r.window_until,
                        preferred_times: r.preferred_times,
                    })
                    .collect()
            }
            BulkBatchBody::Csv(text) => csv_rows(&text.0)?,
        };
        let s = bulk::submit(&state.tenancy, &tenant, &auth.0.principal, batch_id.0, rows).await?;
        let location = format!("/api/v1/bulk-batches/{}", s.id);
        Ok(BulkSubmitted::Accepted(
            Json(BulkBatchAccepted {
                batch_id: s.id,
                total: s.total,
                replayed: s.replayed,
            }),
            location,
        ))
    }

    /// List bulk batches, newest first
    ///
    /// Institution admins see every batch; a sub-admin the batches they submitted.
    #[oai(
        path = "/bulk-batches",
        method = "get",
        operation_id = "listBulkBatches"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        /// 1–200, default 50.
        limit: Query<Option<i64>>,
        /// `page.next_after` of the previous page: the last batch it showed.
        after: Query<Option<Uuid>>,
    ) -> ApiResult<Json<BulkBatchPage>> {
        let p = bulk::list(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            page(limit.0, after.0)?,
        )
        .await?;
        Ok(Json(BulkBatchPage {
            items: p.items.into_iter().map(Into::into).collect(),
            page: PageInfo {
                next_after: p.next_after,
            },
        }))
    }

    /// Get a bulk batch's progress
    #[oai(
        path = "/bulk-batches/:batch_id",
        method = "get",
        operation_id = "getBulkBatch"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        batch_id: Path<Uuid>,
    ) -> ApiResult<Json<BulkBatchProgress>> {
        let p = bulk::progress(&state.tenancy, &tenant, &auth.0.principal, batch_id.0).await?;
        Ok(Json(p.into()))
    }

    /// Download a bulk batch's report (CSV)
    ///
    /// One line per input row with its outcome, and the reason for every row not booked.
    #[oai(
        path = "/bulk-batches/:batch_id/report",
        method = "get",
        operation_id = "getBulkBatchReport"
    )]
    async fn report(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        batch_id: Path<Uuid>,
    ) -> ApiResult<BulkReport> {
        let rows = bulk::report(&state.tenancy, &tenant, &auth.0.principal, batch_id.0).await?;
        let csv = report_csv(rows).map_err(|e| ApiError::internal(&e))?;
        Ok(BulkReport::Ok(
            PlainText(csv),
            format!("attachment; filename=\"bulk-{}.csv\"", batch_id.0),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_faults_name_the_line() {
        let ok = "client_email,provider_id,type,window_from,window_until\na@x.test,p,T,2026-12-01,2026-12-02\n";
        let rows = csv_rows(ok).expect("parses");
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].type_name.as_deref(), Some("T"));
        let bad = "client_email,provider_id,type,window_from,window_until\na,b,c,d,e\nx,y\n";
        let e = csv_rows(bad).expect_err("unequal");
        assert!(format!("{:?}", e.problem()).contains("line 3"));
        let e = csv_rows("client_email,provider_id\n").expect_err("header");
        assert!(format!("{:?}", e.problem()).contains("`type_id` or `type`"));
    }
}
