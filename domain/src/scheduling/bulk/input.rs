//! A batch row as submitted (strings, from JSON or CSV) and its parsing, plus the work order
//! that shares slots fairly between departments. Pure: no database.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use uuid::Uuid;

/// The most rows one batch may hold.
pub const MAX_ROWS: usize = 10_000;
/// Rows per placement job. A chunk costs a fixed handful of statements whatever its size
/// (see `place`), so larger chunks spread that cost; 500 keeps a chunk's transaction short
/// (well under a second) and progress visible in steps of 5 % of a full batch.
pub const CHUNK: usize = 500;
/// The widest window a row may give (the slot search's limit).
pub const MAX_WINDOW_DAYS: i64 = super::super::slots::MAX_DAYS;

/// One input row, as text. Exactly one of each pair should be given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawRow {
    /// The input's line: CSV lines count the header (the first data row is line 2); JSON rows
    /// count from 1.
    pub line: i32,
    pub client_id: Option<String>,
    pub client_email: Option<String>,
    pub provider_id: Option<String>,
    pub department_id: Option<String>,
    pub type_id: Option<String>,
    pub type_name: Option<String>,
    pub window_from: Option<String>,
    pub window_until: Option<String>,
    pub preferred_times: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientRef {
    Id(Uuid),
    Email(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Provider(Uuid),
    Department(Uuid),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeRef {
    Id(Uuid),
    Name(String),
}

/// A window of local dates (inclusive, in the provider's zone) or of instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    Dates(NaiveDate, NaiveDate),
    Instants(DateTime<Utc>, DateTime<Utc>),
}

/// A row that parsed: what it names, not yet looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedRow {
    pub client: ClientRef,
    pub target: Target,
    pub type_ref: TypeRef,
    pub window: Window,
    pub preferred: Option<(NaiveTime, NaiveTime)>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn uuid(field: &str, v: &str) -> Result<Uuid, String> {
    v.parse().map_err(|_| format!("{field} is not a UUID"))
}

fn one_of<'a>(
    a: (&str, Option<&'a str>),
    b: (&str, Option<&'a str>),
) -> Result<Result<&'a str, &'a str>, String> {
    match (a.1, b.1) {
        (Some(x), None) => Ok(Ok(x)),
        (None, Some(y)) => Ok(Err(y)),
        (Some(_), Some(_)) => Err(format!("give {} or {}, not both", a.0, b.0)),
        (None, None) => Err(format!("{} or {} is required", a.0, b.0)),
    }
}

enum Bound {
    Date(NaiveDate),
    Instant(DateTime<Utc>),
}

fn bound(field: &str, v: Option<&str>) -> Result<Bound, String> {
    let v = v.ok_or_else(|| format!("{field} is required"))?;
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(Bound::Date(d));
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| Bound::Instant(t.with_timezone(&Utc)))
        .map_err(|_| format!("{field} must be a date (2026-12-01) or an RFC 3339 instant"))
}

/// `09:00-12:00` (local, in the provider's zone).
pub fn parse_preferred(v: &str) -> Result<(NaiveTime, NaiveTime), String> {
    let bad = || "preferred_times must look like 09:00-12:00".to_owned();
    let (a, b) = v.split_once('-').ok_or_else(bad)?;
    let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").map_err(|_| bad())?;
    let b = NaiveTime::parse_from_str(b.trim(), "%H:%M").map_err(|_| bad())?;
    if b <= a {
        return Err("preferred_times must end after it starts".into());
    }
    Ok((a, b))
}

/// Parses one row; the error is the row's reason in the report.
pub fn parse(r: &RawRow) -> Result<ParsedRow, String> {
    let client = match one_of(
        ("client_id", given(&r.client_id)),
        ("client_email", given(&r.client_email)),
    )? {
        Ok(id) => ClientRef::Id(uuid("client_id", id)?),
        Err(email) if email.len() <= 320 && email.contains('@') => {
            ClientRef::Email(email.to_lowercase())
        }
        Err(_) => return Err("client_email is not an e-mail address".into()),
    };
    let target = match one_of(
        ("provider_id", given(&r.provider_id)),
        ("department_id", given(&r.department_id)),
    )? {
        Ok(id) => Target::Provider(uuid("provider_id", id)?),
        Err(id) => Target::Department(uuid("department_id", id)?),
    };
    let type_ref = match one_of(
        ("type_id", given(&r.type_id)),
        ("type", given(&r.type_name)),
    )? {
        Ok(id) => TypeRef::Id(uuid("type_id", id)?),
        Err(name) if name.len() <= 200 => TypeRef::Name(name.to_owned()),
        Err(_) => return Err("type is too long".into()),
    };
    let window = match (
        bound("window_from", given(&r.window_from))?,
        bound("window_until", given(&r.window_until))?,
    ) {
        (Bound::Date(a), Bound::Date(b)) => {
            if b < a {
                return Err("window_until is before window_from".into());
            }
            if (b - a).num_days() >= MAX_WINDOW_DAYS {
                return Err(format!("a window covers at most {MAX_WINDOW_DAYS} days"));
            }
            Window::Dates(a, b)
        }
        (Bound::Instant(a), Bound::Instant(b)) => {
            if b <= a {
                return Err("window_until is not after window_from".into());
            }
            if b - a > Duration::days(MAX_WINDOW_DAYS) {
                return Err(format!("a window covers at most {MAX_WINDOW_DAYS} days"));
            }
            Window::Instants(a, b)
        }
        _ => return Err("window_from and window_until must both be dates or both instants".into()),
    };
    let preferred = given(&r.preferred_times).map(parse_preferred).transpose()?;
    Ok(ParsedRow {
        client,
        target,
        type_ref,
        window,
        preferred,
    })
}

/// The work order: rows grouped by the department they are charged to (in order of first
/// appearance, rows keep their input order within a group), then taken one per group in turn.
/// So when departments compete for the same providers, each gets every n-th pick instead of
/// the first department in the file taking every slot. Returns indices into `keys`.
pub fn fair_order(keys: &[Option<Uuid>]) -> Vec<usize> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut index: HashMap<Option<Uuid>, usize> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        let g = *index.entry(*k).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    let mut out = Vec::with_capacity(keys.len());
    let mut round = 0;
    while out.len() < keys.len() {
        for g in &groups {
            if let Some(i) = g.get(round) {
                out.push(*i);
            }
        }
        round += 1;
    }
    out
}

/// Splits rows into lanes: two rows share a lane when they may touch the same calendar — a
/// provider either may go to, or the same client. `calendars[i]` lists row `i`'s (its client
/// and every provider it may go to; empty for a row that failed on submit). Different lanes
/// touch disjoint calendars, so their chunks can be placed at the same time without competing
/// for a slot, while rows that do compete stay in one lane, in the fair order. Returns each
/// row's lane, numbered by first appearance.
pub fn lanes(calendars: &[Vec<Uuid>]) -> Vec<usize> {
    let mut sets = petgraph::unionfind::UnionFind::<usize>::new(calendars.len());
    let mut first: HashMap<Uuid, usize> = HashMap::new();
    for (row, keys) in calendars.iter().enumerate() {
        for key in keys {
            let seen = *first.entry(*key).or_insert(row);
            sets.union(seen, row);
        }
    }
    let mut number: HashMap<usize, usize> = HashMap::new();
    (0..calendars.len())
        .map(|row| {
            let next = number.len();
            *number.entry(sets.find(row)).or_insert(next)
        })
        .collect()
}

/// Where each row goes: its place in the work order (`seq`) and its chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `(row, chunk)` in work order: lane after lane (in order of first appearance in the fair
    /// order), each lane's rows in the fair order, cut into chunks of at most `per_chunk`.
    pub rows: Vec<(usize, i32)>,
    /// Each lane's chunks in order: the first is enqueued on submit, each next one by the chunk
    /// before it, so a lane's rows are placed in order and lanes run side by side.
    pub chains: Vec<Vec<i32>>,
}

/// Lays out the rows to place (`order`: the fair order; `lane`: [`lanes`], by row index).
pub fn layout(order: &[usize], lane: &[usize], per_chunk: usize) -> Layout {
    let mut by_lane: Vec<Vec<usize>> = Vec::new();
    let mut index: HashMap<usize, usize> = HashMap::new();
    for &row in order {
        let l = *index.entry(lane[row]).or_insert_with(|| {
            by_lane.push(Vec::new());
            by_lane.len() - 1
        });
        by_lane[l].push(row);
    }
    let mut out = Layout {
        rows: Vec::with_capacity(order.len()),
        chains: Vec::with_capacity(by_lane.len()),
    };
    let mut chunk = 0i32;
    for rows in by_lane {
        let mut chain = Vec::new();
        for part in rows.chunks(per_chunk.max(1)) {
            chain.push(chunk);
            out.rows.extend(part.iter().map(|r| (*r, chunk)));
            chunk += 1;
        }
        out.chains.push(chain);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> RawRow {
        RawRow {
            line: 2,
            client_id: Some("0190b2a4-0000-7000-8000-000000000001".into()),
            provider_id: Some("0190b2a4-0000-7000-8000-000000000002".into()),
            type_name: Some("Intake".into()),
            window_from: Some("2026-12-01".into()),
            window_until: Some("2026-12-05".into()),
            preferred_times: Some("09:00-12:00".into()),
            ..RawRow::default()
        }
    }

    #[test]
    fn a_full_row_parses() {
        let p = parse(&row()).expect("parses");
        assert!(matches!(p.target, Target::Provider(_)));
        assert_eq!(p.type_ref, TypeRef::Name("Intake".into()));
        assert!(matches!(p.window, Window::Dates(_, _)));
        assert!(p.preferred.is_some());
    }

    #[test]
    fn each_fault_has_a_reason() {
        let cases: Vec<(RawRow, &str)> = vec![
            (
                RawRow {
                    client_id: None,
                    ..row()
                },
                "client_id or client_email is required",
            ),
            (
                RawRow {
                    client_email: Some("a@b".into()),
                    ..row()
                },
                "not both",
            ),
            (
                RawRow {
                    provider_id: Some("x".into()),
                    ..row()
                },
                "provider_id is not a UUID",
            ),
            (
                RawRow {
                    window_until: Some("2026-11-01".into()),
                    ..row()
                },
                "before",
            ),
            (
                RawRow {
                    window_until: Some("2027-06-01".into()),
                    ..row()
                },
                "at most",
            ),
            (
                RawRow {
                    window_until: Some("2026-12-05T10:00:00Z".into()),
                    ..row()
                },
                "both",
            ),
            (
                RawRow {
                    window_from: Some("soon".into()),
                    ..row()
                },
                "window_from must be",
            ),
            (
                RawRow {
                    preferred_times: Some("12:00-09:00".into()),
                    ..row()
                },
                "end after",
            ),
            (
                RawRow {
                    preferred_times: Some("morning".into()),
                    ..row()
                },
                "look like",
            ),
        ];
        for (r, want) in cases {
            let e = parse(&r).expect_err(want);
            assert!(e.contains(want), "{e} should contain {want}");
        }
    }

    #[test]
    fn departments_take_turns() {
        let a = Some(Uuid::from_u128(1));
        let b = Some(Uuid::from_u128(2));
        assert_eq!(fair_order(&[a, a, a, b, b, None]), vec![0, 3, 5, 1, 4, 2]);
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn rows_that_share_a_provider_or_a_client_share_a_lane() {
        let (p1, p2, p3, d) = (id(1), id(2), id(3), id(4));
        let (c1, c2, c3, c4, c5) = (id(11), id(12), id(13), id(14), id(15));
        let calendars = vec![
            vec![c1, p1],    // 0: provider 1
            vec![c2, p2],    // 1: provider 2
            vec![c3, p1],    // 2: provider 1 again
            vec![c4, p3],    // 3: provider 3 ...
            vec![c4, p2],    // 4: ... and the same client with provider 2: joins 3 to 1
            vec![],          // 5: failed on submit
            vec![c5, p3, d], // 6: a department of provider 3
        ];
        assert_eq!(lanes(&calendars), vec![0, 1, 0, 1, 1, 2, 1]);
    }

    #[test]
    fn lanes_are_cut_into_chunks_in_the_fair_order() {
        // Rows 0..7; lanes: even rows one lane, odd rows another; fair order reversed.
        let lane = vec![0, 1, 0, 1, 0, 1, 0];
        let order: Vec<usize> = (0..7).rev().collect();
        let l = layout(&order, &lane, 3);
        // Lane of row 6 first (it leads the order): 6, 4, 2 | 0; then 5, 3, 1.
        assert_eq!(
            l.rows,
            vec![(6, 0), (4, 0), (2, 0), (0, 1), (5, 2), (3, 2), (1, 2)]
        );
        assert_eq!(l.chains, vec![vec![0, 1], vec![2]]);
    }
}
