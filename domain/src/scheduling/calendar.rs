//! Wall-clock calendars → instants, and slot generation. Pure functions, no database: the
//! services load rows and hand them here, and the B3 benchmark's in-memory floor calls the
//! same code on preloaded rows.
//!
//! Rules are stored as local wall-clock times plus an IANA zone and expanded with the tz
//! database (chrono-tz) for each date, never by adding a fixed offset. Two edge cases follow
//! RFC 5545 §3.3.5:
//! * a local time that does not exist (the spring-forward gap) is read with the offset in
//!   force before the gap, so 02:30 on the transition day becomes 03:30 daylight time;
//! * a local time that happens twice (fall back) starts at its first occurrence and ends at
//!   its second, so a working period spanning the repeated hour keeps both hours.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc,
};
use chrono_tz::Tz;
use uuid::Uuid;

/// Parses an IANA zone name ("America/Toronto"); the message names what was wrong.
pub fn parse_zone(raw: &str) -> Result<Tz, String> {
    raw.parse::<Tz>()
        .map_err(|_| format!("`{raw}` is not an IANA time zone (e.g. America/Toronto)"))
}

fn offset_before(tz: Tz, local: NaiveDateTime) -> Duration {
    // Walk back to the last wall-clock time that exists; its offset is the one in force before
    // the gap. Gaps are at most a few hours in the tz database.
    let mut probe = local;
    for _ in 0..96 {
        probe -= Duration::minutes(15);
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(dt) => {
                return Duration::seconds(dt.offset().fix().local_minus_utc() as i64);
            }
            LocalResult::Ambiguous(a, _) => {
                return Duration::seconds(a.offset().fix().local_minus_utc() as i64);
            }
            LocalResult::None => {}
        }
    }
    Duration::zero()
}

/// The instant a period starting at this wall-clock time starts.
pub fn local_start(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(dt) => dt.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => (local - offset_before(tz, local)).and_utc(),
    }
}

/// The instant a period ending at this wall-clock time ends.
pub fn local_end(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(dt) => dt.with_timezone(&Utc),
        LocalResult::Ambiguous(_, second) => second.with_timezone(&Utc),
        LocalResult::None => (local - offset_before(tz, local)).and_utc(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeeklyRule {
    /// ISO weekday, 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub location_id: Option<Uuid>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

impl WeeklyRule {
    fn applies(&self, date: NaiveDate) -> bool {
        date.weekday().number_from_monday() as u8 == self.weekday
            && self.valid_from.is_none_or(|f| date >= f)
            && self.valid_until.is_none_or(|u| date <= u)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverrideKind {
    Extra,
    TimeOff,
}

impl OverrideKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideKind::Extra => "extra",
            OverrideKind::TimeOff => "time_off",
        }
    }
    pub fn parse(raw: &str) -> Option<OverrideKind> {
        match raw {
            "extra" => Some(OverrideKind::Extra),
            "time_off" => Some(OverrideKind::TimeOff),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateOverride {
    pub id: Uuid,
    pub date: NaiveDate,
    pub kind: OverrideKind,
    /// `None` with `TimeOff`: the whole day.
    pub hours: Option<(NaiveTime, NaiveTime)>,
    pub location_id: Option<Uuid>,
}

/// A provider's working calendar: weekly rules and date overrides in one zone.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub tz: Tz,
    pub rules: Vec<WeeklyRule>,
    pub overrides: Vec<DateOverride>,
}

/// A half-open span of time `[start, end)`.
pub type Span = (DateTime<Utc>, DateTime<Utc>);

/// Subtracts `cut` from every interval of `xs` (local wall-clock intervals of one day).
fn subtract(
    xs: Vec<(NaiveTime, NaiveTime)>,
    cut: (NaiveTime, NaiveTime),
) -> Vec<(NaiveTime, NaiveTime)> {
    let mut out = Vec::with_capacity(xs.len() + 1);
    for (s, e) in xs {
        if cut.1 <= s || cut.0 >= e {
            out.push((s, e));
            continue;
        }
        if cut.0 > s {
            out.push((s, cut.0));
        }
        if cut.1 < e {
            out.push((cut.1, e));
        }
    }
    out
}

/// Sorts and unions spans (touching spans join).
pub fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable_by_key(|s| s.0);
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.0 <= last.1 => last.1 = last.1.max(s.1),
            _ => out.push(s),
        }
    }
    out
}

impl Schedule {
    /// Local working hours on one date, for one location (`None` = any location; rules
    /// without a location serve every location).
    pub fn local_hours(
        &self,
        date: NaiveDate,
        location: Option<Uuid>,
    ) -> Vec<(NaiveTime, NaiveTime)> {
        let here = |l: Option<Uuid>| location.is_none() || l.is_none() || l == location;
        let todays: Vec<&DateOverride> = self.overrides.iter().filter(|o| o.date == date).collect();
        if todays
            .iter()
            .any(|o| o.kind == OverrideKind::TimeOff && o.hours.is_none())
        {
            return Vec::new();
        }
        let mut hours: Vec<(NaiveTime, NaiveTime)> = self
            .rules
            .iter()
            .filter(|r| r.applies(date) && here(r.location_id))
            .map(|r| (r.start, r.end))
            .collect();
        hours.extend(
            todays
                .iter()
                .filter(|o| o.kind == OverrideKind::Extra && here(o.location_id))
                .filter_map(|o| o.hours),
        );
        for o in todays.iter().filter(|o| o.kind == OverrideKind::TimeOff) {
            if let Some(cut) = o.hours {
                hours = subtract(hours, cut);
            }
        }
        hours
    }

    /// Working spans whose local date lies in `first..=last`, as merged instants.
    pub fn working(&self, first: NaiveDate, last: NaiveDate, location: Option<Uuid>) -> Vec<Span> {
        let mut spans = Vec::new();
        let mut date = first;
        while date <= last {
            for (s, e) in self.local_hours(date, location) {
                let start = local_start(self.tz, date.and_time(s));
                let end = local_end(self.tz, date.and_time(e));
                if end > start {
                    spans.push((start, end));
                }
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        merge(spans)
    }

    /// Whether `[start, end)` lies inside one working span.
    pub fn covers(&self, start: DateTime<Utc>, end: DateTime<Utc>, location: Option<Uuid>) -> bool {
        let first = start.with_timezone(&self.tz).date_naive() - Duration::days(1);
        let last = end.with_timezone(&self.tz).date_naive() + Duration::days(1);
        self.working(first, last, location)
            .iter()
            .any(|(s, e)| *s <= start && end <= *e)
    }
}

/// What a slot must satisfy besides the working hours.
#[derive(Clone, Copy, Debug)]
pub struct SlotRules {
    pub duration: Duration,
    pub interval: Duration,
    pub buffer_before: Duration,
    pub buffer_after: Duration,
    /// Earliest start (now + minimum notice).
    pub earliest: DateTime<Utc>,
    /// Latest start (now + maximum advance).
    pub latest: DateTime<Utc>,
    /// Only starts inside `[from, to)` are returned.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Whether `[s, e)` overlaps any of `busy` (merged: sorted, disjoint).
pub fn overlaps(busy: &[Span], s: DateTime<Utc>, e: DateTime<Utc>) -> bool {
    let i = busy.partition_point(|b| b.1 <= s);
    busy.get(i).is_some_and(|b| b.0 < e)
}

/// Free slot starts: every `interval` from the start of each working span, where the
/// appointment fits the span, and it with its buffers overlaps nothing busy.
pub fn free_slots(working: &[Span], busy: &[Span], r: &SlotRules) -> Vec<DateTime<Utc>> {
    let lo = r.from.max(r.earliest);
    let hi = r.to.min(r.latest + Duration::seconds(1));
    let mut out = Vec::new();
    if r.interval <= Duration::zero() {
        return out;
    }
    for (ws, we) in working {
        if *we <= lo || *ws >= hi {
            continue;
        }
        // Skip whole intervals before `lo` without iterating them.
        let mut t = *ws;
        if t < lo {
            let steps = (lo - t).num_seconds().div_euclid(r.interval.num_seconds());
            t += r.interval * steps as i32;
            if t < lo {
                t += r.interval;
            }
        }
        while t < hi && t + r.duration <= *we {
            if !overlaps(busy, t - r.buffer_before, t + r.duration + r.buffer_after) {
                out.push(t);
            }
            t += r.interval;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
    }
    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }
    fn every_day(tz: Tz, s: NaiveTime, e: NaiveTime) -> Schedule {
        Schedule {
            tz,
            rules: (1..=7)
                .map(|w| WeeklyRule {
                    weekday: w,
                    start: s,
                    end: e,
                    location_id: None,
                    valid_from: None,
                    valid_until: None,
                })
                .collect(),
            overrides: vec![],
        }
    }
    fn rules(interval_min: i64, from: DateTime<Utc>, to: DateTime<Utc>) -> SlotRules {
        SlotRules {
            duration: Duration::minutes(60),
            interval: Duration::minutes(interval_min),
            buffer_before: Duration::zero(),
            buffer_after: Duration::zero(),
            earliest: from,
            latest: to,
            from,
            to,
        }
    }

    #[test]
    fn spring_forward_has_no_missing_or_duplicated_hour() {
        let tz: Tz = "America/Toronto".parse().expect("zone");
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT.
        let s = every_day(tz, t(0, 0), t(5, 0));
        let w = s.working(d(2026, 3, 8), d(2026, 3, 8), None);
        assert_eq!(w.len(), 1);
        assert_eq!(
            w[0].1 - w[0].0,
            Duration::hours(4),
            "00:00–05:00 is 4 real hours"
        );
        let slots = free_slots(&w, &[], &rules(60, w[0].0, w[0].1));
        let local: Vec<String> = slots
            .iter()
            .map(|x| x.with_timezone(&tz).format("%H:%M%z").to_string())
            .collect();
        assert_eq!(
            local,
            ["00:00-0500", "01:00-0500", "03:00-0400", "04:00-0400"]
        );
    }

    #[test]
    fn fall_back_keeps_both_repeated_hours() {
        let tz: Tz = "America/Toronto".parse().expect("zone");
        // 2026-11-01: 02:00 EDT falls back to 01:00 EST.
        let s = every_day(tz, t(0, 0), t(5, 0));
        let w = s.working(d(2026, 11, 1), d(2026, 11, 1), None);
        assert_eq!(w[0].1 - w[0].0, Duration::hours(6));
        let slots = free_slots(&w, &[], &rules(60, w[0].0, w[0].1));
        assert_eq!(slots.len(), 6);
        assert!(slots.windows(2).all(|p| p[1] - p[0] == Duration::hours(1)));
    }

    #[test]
    fn gap_times_read_with_the_offset_before() {
        let tz: Tz = "Europe/London".parse().expect("zone");
        // 2026-03-29 01:30 does not exist in London (01:00 GMT → 02:00 BST).
        let at = local_start(tz, d(2026, 3, 29).and_time(t(1, 30)));
        assert_eq!(at.with_timezone(&tz).format("%H:%M").to_string(), "02:30");
    }

    #[test]
    fn overrides_and_busy_time() {
        let tz: Tz = "America/Vancouver".parse().expect("zone");
        let mut s = every_day(tz, t(9, 0), t(12, 0));
        s.overrides.push(DateOverride {
            id: Uuid::nil(),
            date: d(2026, 6, 1),
            kind: OverrideKind::TimeOff,
            hours: Some((t(10, 0), t(11, 0))),
            location_id: None,
        });
        s.overrides.push(DateOverride {
            id: Uuid::nil(),
            date: d(2026, 6, 1),
            kind: OverrideKind::Extra,
            hours: Some((t(14, 0), t(15, 0))),
            location_id: None,
        });
        s.overrides.push(DateOverride {
            id: Uuid::nil(),
            date: d(2026, 6, 2),
            kind: OverrideKind::TimeOff,
            hours: None,
            location_id: None,
        });
        assert_eq!(
            s.local_hours(d(2026, 6, 1), None),
            vec![
                (t(9, 0), t(10, 0)),
                (t(11, 0), t(12, 0)),
                (t(14, 0), t(15, 0))
            ]
        );
        assert!(s.local_hours(d(2026, 6, 2), None).is_empty());
        let w = s.working(d(2026, 6, 1), d(2026, 6, 1), None);
        let at = |h| local_start(tz, d(2026, 6, 1).and_time(t(h, 0)));
        let busy = merge(vec![(at(11), at(12))]);
        let slots = free_slots(&w, &busy, &rules(30, at(0), at(23)));
        assert_eq!(slots, vec![at(9), at(14)]);
        assert!(s.covers(at(9), at(10), None));
        assert!(!s.covers(at(9), at(11), None));
    }

    #[test]
    fn buffers_and_notice() {
        let tz: Tz = "UTC".parse().expect("zone");
        let s = every_day(tz, t(9, 0), t(13, 0));
        let w = s.working(d(2026, 6, 1), d(2026, 6, 1), None);
        let at = |h, m| local_start(tz, d(2026, 6, 1).and_time(t(h, m)));
        let busy = merge(vec![(at(11, 0), at(12, 0))]);
        let mut r = rules(30, at(0, 0), at(23, 0));
        r.buffer_after = Duration::minutes(15);
        r.earliest = at(9, 30);
        let slots = free_slots(&w, &busy, &r);
        // 09:30 ends 10:30 + 15 buffer = 10:45 < 11:00 → free; 10:00 → 11:15 overlaps.
        assert_eq!(slots, vec![at(9, 30), at(12, 0)]);
    }
}
