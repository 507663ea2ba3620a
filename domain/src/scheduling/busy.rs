//! Providers' busy time for slot search: one statement per request, whatever the number of
//! providers, whose rows are already merged spans (touching appointments come back as one).
//!
//! * [`busy_page`] — what one page of a slot search reads: for each provider an index range
//!   scan on `appointments (provider_id, starts_at)`, cut after a number of appointments, and
//!   the instant up to which the busy time it returns is complete.
//! * [`busy_spans`] — the whole range, uncut (bulk placement).
//!
//! The spans are merged in SQL (`range_agg` over `tstzrange(busy_from, busy_until)`), so a
//! calendar of back-to-back appointments crosses the wire as a few rows per day instead of one
//! per appointment.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Nullable, Timestamptz, Untyped, Uuid as SqlUuid};
use diesel::{QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::calendar::Span;

/// The longest buffer before an appointment (`appointment_types.buffer_before_minutes` is
/// checked to be at most 240): an appointment starting at `s` is busy from `s - 4 h` at the
/// earliest, so a span ending 4 h before the first slot cannot touch it.
pub const MAX_BUFFER_BEFORE: Duration = Duration::minutes(240);

/// Busy spans as one page of a search read them.
#[derive(Clone, Debug, Default)]
pub struct BusyPage {
    /// Merged (sorted, disjoint, touching spans joined) per provider; providers with no
    /// appointment in range are absent.
    pub spans: HashMap<Uuid, Vec<Span>>,
    /// Busy time is complete for every provider before this instant; `None`: over the whole
    /// range asked for. Set when a provider had more appointments than the page reads.
    pub complete_until: Option<DateTime<Utc>>,
    /// Appointment rows read (before merging) and spans returned: for the B3 report.
    pub rows: usize,
    pub merged: usize,
}

/// The statement, with a static query id so diesel-async prepares it once per connection (a
/// `sql_query` is prepared again on every call: one more round trip).
///
/// `$5` caps the appointments read per provider (`LIMIT NULL` reads them all); `$4` drops those
/// whose busy time ends before it without counting them against the cap.
pub const SQL: &str = "\
SELECT p.id AS provider_id, lower(r) AS span_from, upper(r) AS span_until, \
       agg.n AS rows, agg.last_start AS last_start \
FROM unnest($1) AS p(id) \
CROSS JOIN LATERAL ( \
    SELECT range_agg(tstzrange(a.busy_from, a.busy_until, '[)')) AS busy, \
           count(*) AS n, max(a.starts_at) AS last_start \
    FROM (SELECT busy_from, busy_until, starts_at FROM appointments \
          WHERE provider_id = p.id AND starts_at >= $2 AND starts_at < $3 \
            AND busy_until > $4 AND status <> 'cancelled' \
          ORDER BY starts_at LIMIT $5) AS a \
) AS agg \
CROSS JOIN LATERAL unnest(agg.busy) AS r";

struct BusyQuery<'a> {
    providers: &'a [Uuid],
    starts_from: DateTime<Utc>,
    starts_before: DateTime<Utc>,
    busy_after: DateTime<Utc>,
    per_provider: Option<i64>,
}

impl QueryId for BusyQuery<'_> {
    type QueryId = BusyQuery<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for BusyQuery<'_> {
    type SqlType = Untyped;
}

impl QueryFragment<Pg> for BusyQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Splice the binds where the `$n` placeholders are, in order.
        let mut rest = SQL;
        for n in 1..=5 {
            let mark = format!("${n}");
            let Some(at) = rest.find(&mark) else {
                return Err(diesel::result::Error::QueryBuilderError(
                    format!("busy query: placeholder {mark} missing").into(),
                ));
            };
            out.push_sql(&rest[..at]);
            match n {
                1 => out.push_bind_param::<Array<SqlUuid>, _>(&self.providers)?,
                2 => out.push_bind_param::<Timestamptz, _>(&self.starts_from)?,
                3 => out.push_bind_param::<Timestamptz, _>(&self.starts_before)?,
                4 => out.push_bind_param::<Timestamptz, _>(&self.busy_after)?,
                _ => out.push_bind_param::<Nullable<BigInt>, _>(&self.per_provider)?,
            }
            rest = &rest[at + mark.len()..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    provider_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    span_from: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    span_until: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    rows: i64,
    #[diesel(sql_type = Timestamptz)]
    last_start: DateTime<Utc>,
}

/// Busy spans that can touch a slot starting in `[from, to)`: appointments starting from a
/// day before `from` (appointments last at most 8 h plus 4 h of buffers) to a day after `to`,
/// whose busy time ends after `from - MAX_BUFFER_BEFORE`. With `per_provider`, at most that
/// many appointments per provider, earliest first; a provider cut short makes the page
/// complete only up to its last appointment's start less [`MAX_BUFFER_BEFORE`] (a later
/// appointment starts no earlier, so it is busy from no earlier than that).
pub async fn busy_page(
    c: &mut AsyncPgConnection,
    providers: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    per_provider: Option<i64>,
) -> QueryResult<BusyPage> {
    let rows: Vec<Row> = BusyQuery {
        providers,
        starts_from: from - Duration::days(1),
        starts_before: to + Duration::days(1),
        busy_after: from - MAX_BUFFER_BEFORE,
        per_provider,
    }
    .load(c)
    .await?;
    let mut page = BusyPage {
        merged: rows.len(),
        ..BusyPage::default()
    };
    let mut counted: HashSet<Uuid> = HashSet::new();
    for r in rows {
        if counted.insert(r.provider_id) {
            page.rows += usize::try_from(r.rows).unwrap_or(0);
            if per_provider.is_some_and(|cap| r.rows >= cap) {
                let until = r.last_start - MAX_BUFFER_BEFORE;
                page.complete_until = Some(page.complete_until.map_or(until, |u| u.min(until)));
            }
        }
        page.spans
            .entry(r.provider_id)
            .or_default()
            .push((r.span_from, r.span_until));
    }
    // unnest() of a multirange yields its ranges in order; sort anyway, it is cheap and the
    // slot generator's binary search depends on it.
    for spans in page.spans.values_mut() {
        spans.sort_unstable_by_key(|s| s.0);
    }
    Ok(page)
}

/// Every busy span of these providers that can touch a slot starting in `[from, to)`.
pub async fn busy_spans(
    c: &mut AsyncPgConnection,
    providers: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<HashMap<Uuid, Vec<Span>>> {
    Ok(busy_page(c, providers, from, to, None).await?.spans)
}
