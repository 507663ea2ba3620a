//! Placement in memory: a chunk's rows against what was loaded for them once (types, the
//! departments' providers, the providers' schedules and busy spans, the clients' own
//! appointments). Pure: no database, so the rules are unit-tested here and [`super::place`]
//! only loads and writes.
//!
//! Rows are placed one after another in the chunk's (fair) order; each choice is reserved at
//! once — the provider's time with the type's buffers, the client's time without — so later
//! rows of the chunk see it as taken. The rules are the slot search's (`slots::compute` with
//! staff rules: no notice or advance limit, within two years) plus the row's preferred times
//! and the client's own appointments; a department row takes the earliest fitting slot of any
//! of its providers (ties: the lower provider id).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use uuid::Uuid;

use super::super::calendar::{Schedule, SlotRules, Span, local_start, overlaps};
use super::super::model::AppointmentType;
use super::super::schema::bulk_rows;
use super::super::slots::{rules_for, type_location};

/// A pending row of a chunk: what it asks for.
#[derive(Clone, Debug, Default, Queryable, Selectable)]
#[diesel(table_name = bulk_rows)]
pub struct Work {
    pub line: i32,
    pub client_id: Option<Uuid>,
    pub provider_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    pub type_id: Option<Uuid>,
    pub from_date: Option<NaiveDate>,
    pub until_date: Option<NaiveDate>,
    pub from_at: Option<DateTime<Utc>>,
    pub until_at: Option<DateTime<Utc>>,
    pub preferred_from: Option<NaiveTime>,
    pub preferred_until: Option<NaiveTime>,
}

impl Work {
    /// The window's first and last date (UTC dates for a window of instants).
    pub fn days(&self) -> Option<(NaiveDate, NaiveDate)> {
        match (self.from_date, self.until_date, self.from_at, self.until_at) {
            (Some(a), Some(b), _, _) => Some((a, b)),
            (_, _, Some(a), Some(b)) => Some((a.date_naive(), b.date_naive())),
            _ => None,
        }
    }

    /// The window as instants, for a provider in `tz`.
    fn instants(&self, tz: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match (self.from_date, self.until_date, self.from_at, self.until_at) {
            (Some(a), Some(b), _, _) => Some((
                local_start(tz, a.and_time(NaiveTime::MIN)),
                local_start(tz, (b + Duration::days(1)).and_time(NaiveTime::MIN)),
            )),
            (_, _, Some(a), Some(b)) => Some((a, b)),
            _ => None,
        }
    }

    /// Whether an appointment of `dur` starting at `start` lies in the preferred local times.
    fn preferred(&self, tz: Tz, start: DateTime<Utc>, dur: Duration) -> bool {
        let (Some(a), Some(b)) = (self.preferred_from, self.preferred_until) else {
            return true;
        };
        let m = i64::from(start.with_timezone(&tz).time().num_seconds_from_midnight());
        m >= i64::from(a.num_seconds_from_midnight())
            && m + dur.num_seconds() <= i64::from(b.num_seconds_from_midnight())
    }
}

/// Instants that cover the dates `first..=last` in any zone (±14 h), for the range queries of
/// busy spans and clients' appointments.
pub fn query_range(first: NaiveDate, last: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        local_start(chrono_tz::UTC, first.and_time(NaiveTime::MIN)) - Duration::days(1),
        local_start(chrono_tz::UTC, last.and_time(NaiveTime::MIN)) + Duration::days(2),
    )
}

/// Everything a chunk's placement reads, loaded once per chunk.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// Active types only.
    pub types: HashMap<Uuid, AppointmentType>,
    /// A department's active providers (its subtree's), by id.
    pub departments: HashMap<Uuid, Vec<Uuid>>,
    /// Providers who set working hours.
    pub schedules: HashMap<Uuid, Schedule>,
    /// Per provider: appointments with their buffers, merged.
    pub busy: HashMap<Uuid, Vec<Span>>,
    /// Per client: their own appointments (start to end), merged.
    pub clients: HashMap<Uuid, Vec<Span>>,
    /// For types not offered by every provider: the providers who offer them.
    pub offered: HashMap<Uuid, Vec<Uuid>>,
}

/// Where a row goes: everything an appointment row needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub provider_id: Uuid,
    pub client_id: Uuid,
    pub type_id: Uuid,
    pub location_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub busy_from: DateTime<Utc>,
    pub busy_until: DateTime<Utc>,
    pub tz: Tz,
}

pub struct Planner {
    loaded: Loaded,
    now: DateTime<Utc>,
    /// Working spans per (provider, location, first date, last date): rows of a chunk mostly
    /// share them.
    working: HashMap<(Uuid, Option<Uuid>, NaiveDate, NaiveDate), Vec<Span>>,
}

/// Adds `s` to merged spans, keeping them merged (touching spans join, as `merge` does).
fn add(v: &mut Vec<Span>, s: Span) {
    let i = v.partition_point(|b| b.1 < s.0);
    let (mut a, mut e) = s;
    let mut j = i;
    while j < v.len() && v[j].0 <= e {
        a = a.min(v[j].0);
        e = e.max(v[j].1);
        j += 1;
    }
    v.splice(i..j, [(a, e)]);
}

/// The earliest free start that `accept` takes: the grid, the working spans and the rules of
/// `calendar::free_slots`, but lazy, and a start that overlaps a busy span jumps past it at
/// once (every start on the grid before its end plus the buffer overlaps it too).
fn first_free(
    working: &[Span],
    busy: &[Span],
    r: &SlotRules,
    mut accept: impl FnMut(DateTime<Utc>) -> bool,
) -> Option<DateTime<Utc>> {
    let lo = r.from.max(r.earliest);
    let hi = r.to.min(r.latest + Duration::seconds(1));
    let step = r.interval.num_seconds();
    if step <= 0 {
        return None;
    }
    for (ws, we) in working {
        if *we <= lo || *ws >= hi {
            continue;
        }
        let mut t = *ws;
        if t < lo {
            let steps = (lo - t).num_seconds().div_euclid(step);
            t += Duration::seconds(steps * step);
            if t < lo {
                t += r.interval;
            }
        }
        while t < hi && t + r.duration <= *we {
            let (s, e) = (t - r.buffer_before, t + r.duration + r.buffer_after);
            let i = busy.partition_point(|b| b.1 <= s);
            match busy.get(i) {
                Some(b) if b.0 < e => {
                    // b.1 > s, so the target is after t: at least one step.
                    let gap = (b.1 + r.buffer_before - t).num_seconds();
                    t += Duration::seconds((gap + step - 1) / step * step);
                }
                _ => {
                    if accept(t) {
                        return Some(t);
                    }
                    t += r.interval;
                }
            }
        }
    }
    None
}

impl Planner {
    pub fn new(loaded: Loaded, now: DateTime<Utc>) -> Planner {
        Planner {
            loaded,
            now,
            working: HashMap::new(),
        }
    }

    /// The providers a row may go to (before any schedule is looked at).
    pub fn providers(&self, w: &Work) -> Result<Vec<Uuid>, &'static str> {
        let ids = match (w.provider_id, w.department_id) {
            (Some(id), _) => vec![id],
            (None, Some(d)) => self.loaded.departments.get(&d).cloned().unwrap_or_default(),
            (None, None) => return Err("the row names no provider or department"),
        };
        if ids.is_empty() {
            return Err("the department has no active providers");
        }
        let narrowed = w
            .type_id
            .and_then(|t| self.loaded.types.get(&t))
            .filter(|t| !t.offered_by_all);
        if let Some(t) = narrowed {
            let offering = self.loaded.offered.get(&t.id);
            let ids: Vec<Uuid> = ids
                .into_iter()
                .filter(|p| offering.is_some_and(|o| o.contains(p)))
                .collect();
            if ids.is_empty() {
                return Err("no provider named offers this appointment type");
            }
            return Ok(ids);
        }
        Ok(ids)
    }

    /// Chooses the earliest slot that suits the row and reserves it, or says why there is none.
    pub fn place(&mut self, w: &Work) -> Result<Choice, &'static str> {
        let (Some(client), Some(type_id)) = (w.client_id, w.type_id) else {
            return Err("the row names no client or type");
        };
        let t = self
            .loaded
            .types
            .get(&type_id)
            .ok_or("the appointment type is no longer active")?;
        let providers = self.providers(w)?;
        if w.days().is_none() {
            return Err("the row has no window");
        }
        if !providers
            .iter()
            .any(|p| self.loaded.schedules.contains_key(p))
        {
            return Err("the provider has no working hours set");
        }
        let location = type_location(t);
        let dur = t.duration();
        let none: Vec<Span> = Vec::new();
        let mine = self.loaded.clients.get(&client).unwrap_or(&none);
        let mut best: Option<(DateTime<Utc>, Uuid, Tz)> = None;
        for id in &providers {
            let Some(s) = self.loaded.schedules.get(id) else {
                continue;
            };
            let tz = s.tz;
            let Some((from, to)) = w.instants(tz) else {
                continue;
            };
            let rules = rules_for(t, false, self.now, from, to);
            // As `slots::compute`: the local dates of the window, a day either side.
            let first = from.with_timezone(&tz).date_naive() - Duration::days(1);
            let last = to.with_timezone(&tz).date_naive() + Duration::days(1);
            let working = self
                .working
                .entry((*id, location, first, last))
                .or_insert_with(|| s.working(first, last, location));
            let busy = self.loaded.busy.get(id).unwrap_or(&none);
            let found = first_free(working, busy, &rules, |start| {
                w.preferred(tz, start, dur) && !overlaps(mine, start, start + dur)
            });
            if let Some(start) = found
                && best.is_none_or(|(b, bp, _)| (start, *id) < (b, bp))
            {
                best = Some((start, *id, tz));
            }
        }
        let Some((starts_at, provider_id, tz)) = best else {
            return Err(if w.preferred_from.is_some() {
                "no free time in the window at the preferred times (working hours, other appointments and buffers)"
            } else {
                "no free time in the window (working hours, other appointments and buffers)"
            });
        };
        let ends_at = starts_at + dur;
        let choice = Choice {
            provider_id,
            client_id: client,
            type_id,
            location_id: location,
            starts_at,
            ends_at,
            busy_from: starts_at - t.buffer_before(),
            busy_until: ends_at + t.buffer_after(),
            tz,
        };
        add(
            self.loaded.busy.entry(provider_id).or_default(),
            (choice.busy_from, choice.busy_until),
        );
        add(
            self.loaded.clients.entry(client).or_default(),
            (starts_at, ends_at),
        );
        Ok(choice)
    }

    /// Replaces what is known of these providers' and clients' time with freshly loaded spans
    /// (after an insert lost a slot to a concurrent booking).
    pub fn refresh(
        &mut self,
        providers: &[Uuid],
        mut busy: HashMap<Uuid, Vec<Span>>,
        clients: &[Uuid],
        mut theirs: HashMap<Uuid, Vec<Span>>,
    ) {
        for p in providers {
            self.loaded
                .busy
                .insert(*p, busy.remove(p).unwrap_or_default());
        }
        for c in clients {
            self.loaded
                .clients
                .insert(*c, theirs.remove(c).unwrap_or_default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::calendar::{WeeklyRule, merge};
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("time")
    }
    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2031, 3, 10).expect("date")
    }
    fn at(h: u32, m: u32) -> DateTime<Utc> {
        day().and_time(t(h, m)).and_utc()
    }
    fn kind(duration: i32, before: i32, after: i32, interval: i32) -> AppointmentType {
        AppointmentType {
            id: Uuid::from_u128(7),
            name: "Session".into(),
            duration_minutes: duration,
            buffer_before_minutes: before,
            buffer_after_minutes: after,
            slot_interval_minutes: interval,
            min_notice_minutes: 0,
            max_advance_days: 60,
            cancellation_window_minutes: 0,
            modality: "video".into(),
            location_id: None,
            client_bookable: true,
            requires_approval: false,
            department_id: None,
            active: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
            offered_by_all: true,
        }
    }
    /// Providers working `from`–`until` UTC every day.
    fn loaded(
        ty: AppointmentType,
        providers: &[Uuid],
        from: NaiveTime,
        until: NaiveTime,
    ) -> Loaded {
        let schedule = Schedule {
            tz: chrono_tz::UTC,
            rules: (1..=7)
                .map(|weekday| WeeklyRule {
                    weekday,
                    start: from,
                    end: until,
                    location_id: None,
                    valid_from: None,
                    valid_until: None,
                })
                .collect(),
            overrides: vec![],
        };
        Loaded {
            types: [(ty.id, ty)].into(),
            schedules: providers.iter().map(|p| (*p, schedule.clone())).collect(),
            ..Loaded::default()
        }
    }
    fn row(client: u128, provider: Uuid) -> Work {
        Work {
            line: client as i32,
            client_id: Some(Uuid::from_u128(client)),
            provider_id: Some(provider),
            type_id: Some(Uuid::from_u128(7)),
            from_date: Some(day()),
            until_date: Some(day()),
            ..Work::default()
        }
    }
    fn planner(l: Loaded) -> Planner {
        Planner::new(l, at(0, 0) - Duration::days(1))
    }

    #[test]
    fn two_rows_competing_for_the_only_slot_get_it_once() {
        let p = Uuid::from_u128(100);
        let mut pl = planner(loaded(kind(30, 0, 0, 30), &[p], t(9, 0), t(9, 30)));
        let first = pl.place(&row(1, p)).expect("the slot");
        assert_eq!((first.starts_at, first.ends_at), (at(9, 0), at(9, 30)));
        let second = pl.place(&row(2, p)).expect_err("taken by the first row");
        assert!(second.contains("no free time"), "{second}");
    }

    #[test]
    fn buffers_keep_the_next_row_away() {
        let p = Uuid::from_u128(100);
        // 30 minutes with 15 before and after, on a 15-minute grid.
        let mut pl = planner(loaded(kind(30, 15, 15, 15), &[p], t(9, 0), t(12, 0)));
        let a = pl.place(&row(1, p)).expect("first");
        assert_eq!(a.starts_at, at(9, 0));
        assert_eq!((a.busy_from, a.busy_until), (at(8, 45), at(9, 45)));
        let b = pl.place(&row(2, p)).expect("second");
        assert_eq!(
            b.starts_at,
            at(10, 0),
            "its buffer before meets the first one's after"
        );
        let c = pl.place(&row(1, p)).expect("third");
        assert_eq!(c.starts_at, at(11, 0));
        let err = pl
            .place(&row(3, p))
            .expect_err("the next start after the buffers is 12:00, the end of the hours");
        assert!(err.contains("no free time"), "{err}");
    }

    #[test]
    fn the_clients_own_appointments_are_avoided_on_every_provider() {
        let (p, q) = (Uuid::from_u128(100), Uuid::from_u128(101));
        let mut l = loaded(kind(60, 0, 0, 60), &[p, q], t(9, 0), t(13, 0));
        // Client 1 is elsewhere 9:30–10:30 (with another provider, outside this batch).
        l.clients
            .insert(Uuid::from_u128(1), merge(vec![(at(9, 30), at(10, 30))]));
        let mut pl = planner(l);
        let a = pl.place(&row(1, p)).expect("after their own appointment");
        assert_eq!(a.starts_at, at(11, 0));
        // A second row for the same client with a provider free all morning: not at 9, 10
        // (their own appointment) or 11 (the row just placed).
        let b = pl.place(&row(1, q)).expect("after both");
        assert_eq!((b.provider_id, b.starts_at), (q, at(12, 0)));
        let err = pl
            .place(&row(1, q))
            .expect_err("nothing left that day for this client");
        assert!(err.contains("no free time"), "{err}");
        // Another client still gets the provider's free morning.
        let other = pl.place(&row(2, q)).expect("another client");
        assert_eq!(other.starts_at, at(9, 0));
    }

    #[test]
    fn department_rows_take_the_earliest_provider_and_preferred_times_hold() {
        let (p, q) = (Uuid::from_u128(100), Uuid::from_u128(101));
        let mut l = loaded(kind(60, 0, 0, 60), &[p, q], t(9, 0), t(17, 0));
        l.departments.insert(Uuid::from_u128(50), vec![p, q]);
        l.busy.insert(p, vec![(at(9, 0), at(12, 0))]);
        let mut pl = planner(l);
        let dept = |client| Work {
            provider_id: None,
            department_id: Some(Uuid::from_u128(50)),
            ..row(client, p)
        };
        let a = pl.place(&dept(1)).expect("q is free at 9");
        assert_eq!((a.provider_id, a.starts_at), (q, at(9, 0)));
        let afternoon = |client| Work {
            preferred_from: Some(t(14, 0)),
            preferred_until: Some(t(16, 0)),
            ..dept(client)
        };
        let mut got = Vec::new();
        for client in 2..=5 {
            let c = pl.place(&afternoon(client)).expect("an afternoon slot");
            got.push((c.provider_id, c.starts_at));
        }
        // Ties go to the lower provider id; both providers fill 14:00 before 15:00.
        assert_eq!(
            got,
            vec![
                (p, at(14, 0)),
                (q, at(14, 0)),
                (p, at(15, 0)),
                (q, at(15, 0))
            ]
        );
        let err = pl
            .place(&afternoon(6))
            .expect_err("16:00 ends outside the preferred times");
        assert!(err.contains("preferred times"), "{err}");
    }

    #[test]
    fn a_type_offered_by_some_providers_goes_only_to_them() {
        let (p, q) = (Uuid::from_u128(100), Uuid::from_u128(101));
        let mut ty = kind(60, 0, 0, 60);
        ty.offered_by_all = false;
        let mut l = loaded(ty.clone(), &[p, q], t(9, 0), t(17, 0));
        l.departments.insert(Uuid::from_u128(50), vec![p, q]);
        l.offered.insert(ty.id, vec![q]);
        l.busy.insert(q, vec![(at(9, 0), at(12, 0))]);
        let mut pl = planner(l);
        let dept = Work {
            provider_id: None,
            department_id: Some(Uuid::from_u128(50)),
            ..row(1, p)
        };
        // p is free at 9 but does not offer the type: q's first free hour.
        let a = pl.place(&dept).expect("q offers it");
        assert_eq!((a.provider_id, a.starts_at), (q, at(12, 0)));
        assert_eq!(
            pl.place(&row(2, p)).expect_err("p does not offer it"),
            "no provider named offers this appointment type"
        );
    }

    #[test]
    fn reasons_for_rows_that_cannot_be_placed() {
        let p = Uuid::from_u128(100);
        let mut pl = planner(loaded(kind(30, 0, 0, 30), &[p], t(9, 0), t(10, 0)));
        let stranger = Uuid::from_u128(999);
        let no_hours = pl.place(&row(1, stranger)).expect_err("no hours");
        assert_eq!(no_hours, "the provider has no working hours set");
        let mut inactive = row(1, p);
        inactive.type_id = Some(Uuid::from_u128(8));
        assert_eq!(
            pl.place(&inactive).expect_err("type"),
            "the appointment type is no longer active"
        );
        let empty = Work {
            provider_id: None,
            department_id: Some(Uuid::from_u128(51)),
            ..row(1, p)
        };
        assert_eq!(
            pl.place(&empty).expect_err("dept"),
            "the department has no active providers"
        );
    }

    #[test]
    fn first_free_matches_the_slot_search() {
        use super::super::super::calendar::free_slots;
        let busy = merge(vec![
            (at(9, 10), at(9, 40)),
            (at(10, 0), at(11, 5)),
            (at(13, 0), at(13, 15)),
        ]);
        let working = vec![(at(8, 0), at(12, 0)), (at(12, 30), at(17, 0))];
        for (dur, before, after, interval) in [(30, 0, 0, 15), (45, 10, 5, 15), (20, 5, 0, 10)] {
            let r = SlotRules {
                duration: Duration::minutes(dur),
                interval: Duration::minutes(interval),
                buffer_before: Duration::minutes(before),
                buffer_after: Duration::minutes(after),
                earliest: at(8, 20),
                latest: at(16, 0),
                from: at(0, 0),
                to: at(23, 0),
            };
            let all = free_slots(&working, &busy, &r);
            let mut seen = Vec::new();
            // Refusing every start walks the whole grid: it must visit exactly the free ones.
            assert_eq!(
                first_free(&working, &busy, &r, |s| {
                    seen.push(s);
                    false
                }),
                None
            );
            assert_eq!(seen, all, "{dur}/{before}/{after}/{interval}");
        }
    }
}
