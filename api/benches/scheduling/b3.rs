//! B3 — slot search latency through the whole app, against the in-memory floor.
//!
//! Data: providers work every day 00:00–23:55 in America/Toronto. The single provider has
//! `--bookings` (5,000) five-minute appointments inside the 28-day window (five busy cells out
//! of every eight, from the window's first local midnight on: the window is about 60 % busy);
//! each of the 20 department providers has `--team-bookings` (default the same 5,000, shifted
//! by one cell per provider), i.e. 100,000 appointments in the department's window. Rows are
//! inserted with SQL (this benchmark is about reading them), then `ANALYZE`d — the dev server
//! runs without autovacuum.
//!
//! Search: a 15-minute type with 15-minute slot starts, 28 local days, as the tenant admin
//! (staff rules: no notice or advance limit), `GET /api/v1/slots?provider=…` or
//! `?department=…`, body read to the end.
//!
//! The API answers a page at a time (`limit`, default 200, and a `next_after` cursor). Arms,
//! alternated per round for each scenario:
//! * `floor` — `slots::compute_page` on the type, schedules and busy spans the first page
//!   reads, loaded once: the pure slot generation the request does after its queries, for the
//!   same page;
//! * `queries` — the reads `slots::search` runs for that page (type, schedules, busy spans) in
//!   one `Tenancy::tx`, no HTTP: where the database time goes;
//! * `http` — the first page through the app (session, tenant, queries, compute, JSON);
//! * `floor, window` / `http, all pages` — the whole 28-day window: `slots::compute` on every
//!   busy span of the window, and following `next_after` from the first page to the last
//!   (`--walks` walks per round; their time is the walk's, their slots the window's).
//!
//! Before timing, the pages walked end to end must hold exactly the slots `slots::compute`
//! finds for the whole window (no slot missing or repeated across pages).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, ensure};
use chrono::{NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use domain::scheduling::availability::load_schedules;
use domain::scheduling::busy::{self, BusyPage};
use domain::scheduling::calendar::{Schedule, Span, local_start};
use domain::scheduling::model::AppointmentType;
use domain::scheduling::setup::get_type_row;
use domain::scheduling::slots;
use poem::http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Args;
use crate::common::{
    App, BenchDb, Latency, Tenant, fmt_load, latency, latency_json, median, progress, psql_on,
    verdict,
};

const ZONE: &str = "America/Toronto";
const DAYS: i64 = 28;
const TEAM: usize = 20;
const FLOOR_RATIO: f64 = 2.0;
const P99_SINGLE_MS: f64 = 10.0;
const P99_TEAM_MS: f64 = 50.0;

struct Scenario {
    name: &'static str,
    /// `provider=…` or `department=…`.
    query: String,
    providers: Vec<Uuid>,
    p99_target_ms: f64,
    requests: usize,
}

struct Round {
    scenario: &'static str,
    arm: &'static str,
    round: usize,
    latency: Latency,
}

/// What the floor works on: everything `slots::search` loads for the first page, loaded once.
struct Preloaded {
    t: AppointmentType,
    schedules: HashMap<Uuid, Schedule>,
    busy: BusyPage,
}

struct Window {
    first: NaiveDate,
    last: NaiveDate,
    from: chrono::DateTime<Utc>,
    to: chrono::DateTime<Utc>,
}

async fn load(
    app: &App,
    t: &Tenant,
    type_id: Uuid,
    providers: &[Uuid],
    w: &Window,
) -> anyhow::Result<Preloaded> {
    let (first, last, from, to) = (w.first, w.last, w.from, w.to);
    app.tenancy
        .tx(&t.tenant, async |c| {
            let ty = get_type_row(c, type_id)
                .await?
                .context("the search type is missing")?;
            let schedules = load_schedules(
                c,
                providers,
                first - chrono::Duration::days(2),
                last + chrono::Duration::days(2),
            )
            .await
            .map_err(|e| anyhow!("load_schedules: {e}"))?;
            // Staff rules: the page starts at the window's start (tomorrow), as the search's does.
            let busy = busy::busy_page(
                c,
                providers,
                from,
                to,
                Some(slots::rows_per_provider(providers.len())),
            )
            .await?;
            anyhow::Ok(Preloaded {
                t: ty,
                schedules,
                busy,
            })
        })
        .await
}

/// A plan line with its `'{uuid,…}'` literal cut down to a count (the JSON keeps it whole).
fn shorten_ids(line: &str) -> String {
    match (line.find("'{"), line.find("}'")) {
        (Some(a), Some(b)) if b > a => {
            let n = line[a + 2..b].split(',').count();
            format!("{}'{{… {n} ids …}}'{}", &line[..a], &line[b + 2..])
        }
        _ => line.to_owned(),
    }
}

/// One page through the app; returns its time, its slots (provider, start) and `next_after`.
async fn http_once(
    app: &App,
    t: &Tenant,
    path: &str,
) -> anyhow::Result<(Duration, Vec<(String, String)>, Option<String>)> {
    let started = Instant::now();
    let resp = app
        .client
        .request(Method::GET, path)
        .header("X-Tenant", t.slug())
        .header("Authorization", t.bearer.as_str())
        .send()
        .await
        .0;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .into_bytes()
        .await
        .map_err(|e| anyhow!("reading the body: {e}"))?;
    let took = started.elapsed();
    ensure!(
        status == 200,
        "GET {path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    let v: Value = serde_json::from_slice(&body).context("slot list JSON")?;
    let slots = v["slots"]
        .as_array()
        .context("no slots array")?
        .iter()
        .map(|s| {
            (
                s["provider_id"].as_str().unwrap_or("").to_owned(),
                s["starts_at"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    Ok((took, slots, v["next_after"].as_str().map(str::to_owned)))
}

/// Follows `next_after` from the first page to the last; returns the walk's time, every slot
/// (provider, start instant) and the number of pages.
async fn walk(
    app: &App,
    t: &Tenant,
    path: &str,
) -> anyhow::Result<(Duration, Vec<(Uuid, chrono::DateTime<Utc>)>, usize)> {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let p = match &after {
            Some(a) => format!("{path}&after={a}"),
            None => path.to_owned(),
        };
        let (_, slots, next) = http_once(app, t, &p).await?;
        pages += 1;
        for (provider, start) in slots {
            out.push((
                Uuid::parse_str(&provider)?,
                chrono::DateTime::parse_from_rfc3339(&start)?.with_timezone(&Utc),
            ));
        }
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
        ensure!(pages < 10_000, "{path}: the cursor does not end");
    }
    Ok((started.elapsed(), out, pages))
}

pub async fn run(
    args: &Args,
    db: &BenchDb,
    t_start: Instant,
    load_start: Option<f64>,
) -> anyhow::Result<Value> {
    let bookings: usize = args.get("bookings", 5_000)?;
    let team_bookings: usize = args.get("team-bookings", bookings)?;
    let requests: usize = args.get("requests", 300)?;
    let team_requests: usize = args.get("team-requests", 100)?;
    let walks: usize = args.get("walks", 3)?;
    let rounds: usize = args.get("rounds", 3)?;
    ensure!(rounds >= 1, "--rounds must be at least 1");
    ensure!(
        requests >= 100 && team_requests >= 20,
        "--requests ≥ 100 and --team-requests ≥ 20"
    );
    let cells = (DAYS * 24 * 12) as usize;
    ensure!(
        bookings.max(team_bookings) <= cells * 5 / 8,
        "at most {} bookings fit the 28-day pattern",
        cells * 5 / 8
    );
    let url = db.url.as_str();
    let pg_version =
        psql_on(url, "SHOW server_version").unwrap_or_else(|e| format!("unknown ({e})"));
    let cpus = std::thread::available_parallelism().map_or(0, |c| c.get());
    let tz: Tz = ZONE.parse().map_err(|e| anyhow!("zone {ZONE}: {e}"))?;

    let app: Arc<App> = App::new(url, 16)?;
    app.migrate_control().await?;
    let mut t = app.tenant("b3-slots").await?;
    let dept = app.department(&t, "Team").await?;
    let busy_type = app.appointment_type(&t, "Busy cell", 5, json!({})).await?;
    let search_type = app
        .appointment_type(&t, "Search", 15, json!({"slot_interval_minutes": 15}))
        .await?;
    let mut people: Vec<(String, String)> = Vec::new();
    for i in 0..=TEAM {
        let d = (i > 0).then_some(dept.as_str());
        let provider = app.person(&t, "provider", i, d).await?;
        app.hours(&t, &provider, ZONE, "00:00", "23:55").await?;
        let client = app.person(&t, "client", i, None).await?;
        people.push((provider, client));
    }
    // The window: 28 local days from tomorrow in the provider's zone.
    let first = Utc::now().with_timezone(&tz).date_naive() + chrono::Duration::days(1);
    let last = first + chrono::Duration::days(DAYS - 1);
    let w = Window {
        first,
        last,
        from: local_start(tz, first.and_time(NaiveTime::MIN)),
        to: local_start(
            tz,
            (last + chrono::Duration::days(1)).and_time(NaiveTime::MIN),
        ),
    };
    let schema = t.tenant.schema.as_str().to_owned();
    let mut sql = format!("SET search_path = {schema};\n");
    for (i, (provider, client)) in people.iter().enumerate() {
        let n = if i == 0 { bookings } else { team_bookings };
        // Cell c (5 minutes) of the window is busy when (c + i) mod 8 < 5: five in eight.
        sql.push_str(&format!(
            "INSERT INTO appointments (id, provider_id, client_id, type_id, starts_at, ends_at, \
             busy_from, busy_until, timezone, status) \
             SELECT gen_random_uuid(), '{provider}', '{client}', '{busy_type}', s, s + interval '5 minutes', \
                    s, s + interval '5 minutes', '{ZONE}', 'booked' \
             FROM (SELECT '{from}'::timestamptz + c * interval '5 minutes' AS s \
                   FROM generate_series(0, {last_cell}) AS c WHERE (c + {i}) % 8 < 5 \
                   ORDER BY c LIMIT {n}) AS cells;\n",
            from = w.from.to_rfc3339(),
            last_cell = cells - 1,
        ));
    }
    sql.push_str("ANALYZE appointments;\n");
    psql_on(url, &sql)?;
    progress(
        t_start,
        &format!(
            "b3: tenant with 1 + {TEAM} providers, {} appointments",
            bookings + TEAM * team_bookings
        ),
    );

    let type_id = Uuid::parse_str(&search_type)?;
    let ids: Vec<Uuid> = people
        .iter()
        .map(|(p, _)| Uuid::parse_str(p))
        .collect::<Result<_, _>>()?;
    let scenarios = [
        Scenario {
            name: "single",
            query: format!("provider={}", people[0].0),
            providers: vec![ids[0]],
            p99_target_ms: P99_SINGLE_MS,
            requests,
        },
        Scenario {
            name: "department",
            query: format!("department={dept}"),
            providers: ids[1..].to_vec(),
            p99_target_ms: P99_TEAM_MS,
            requests: team_requests,
        },
    ];

    let mut rounds_out: Vec<Round> = Vec::new();
    let mut facts: Vec<Value> = Vec::new();
    for sc in &scenarios {
        app.login(&mut t).await?;
        let path = format!(
            "/api/v1/slots?type={search_type}&{}&from={first}&to={last}&tz={ZONE}",
            sc.query
        );
        let pre = load(&app, &t, type_id, &sc.providers, &w).await?;
        let rules = slots::rules_for(&pre.t, false, Utc::now(), w.from, w.to);
        let page = |pre: &Preloaded| {
            slots::compute_page(
                &pre.t,
                &sc.providers,
                &pre.schedules,
                &pre.busy,
                &rules,
                None,
                slots::DEFAULT_LIMIT,
            )
        };
        let floor_page = page(&pre);
        // The whole window, for the `floor, window` arm and the check that pages add up to it.
        let window_busy: HashMap<Uuid, Vec<Span>> = app
            .tenancy
            .tx(&t.tenant, async |c| {
                anyhow::Ok(busy::busy_spans(c, &sc.providers, w.from, w.to).await?)
            })
            .await?;
        let window = |busy: &HashMap<Uuid, Vec<Span>>| {
            slots::compute(
                &pre.t,
                &sc.providers,
                &pre.schedules,
                busy,
                &rules,
                first,
                last,
            )
        };
        let window_slots: Vec<(Uuid, chrono::DateTime<Utc>)> = window(&window_busy)
            .into_iter()
            .map(|s| (s.provider_id, s.starts_at))
            .collect();
        // Warm-up (untimed), and the sanity checks: the first page is the floor's page, and
        // the pages walked to the end hold exactly the window's slots, in order.
        let mut http_first = Vec::new();
        let mut http_next = None;
        for _ in 0..20 {
            (_, http_first, http_next) = http_once(&app, &t, &path).await?;
        }
        ensure!(
            http_first.len() == floor_page.slots.len()
                && http_next.is_some() == floor_page.next.is_some(),
            "{}: the API's first page has {} slots (next: {}), the floor's {} (next: {})",
            sc.name,
            http_first.len(),
            http_next.is_some(),
            floor_page.slots.len(),
            floor_page.next.is_some()
        );
        let (_, walked, pages) = walk(&app, &t, &path).await?;
        ensure!(
            walked == window_slots,
            "{}: {} pages hold {} slots, the window {} (or not the same ones)",
            sc.name,
            pages,
            walked.len(),
            window_slots.len()
        );
        let http_slots = http_first.len();
        // The busy query as `slots::busy_spans` sends it, explained: it should be one index
        // range scan on (provider_id, starts_at), not a scan of the table.
        let ids_sql = sc
            .providers
            .iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(",");
        let per_provider = slots::rows_per_provider(sc.providers.len());
        let plan = psql_on(
            url,
            &format!(
                "SET search_path = {schema}; \
                 PREPARE busy(uuid[], timestamptz, timestamptz, timestamptz, bigint) AS {sql}; \
                 EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) \
                 EXECUTE busy(ARRAY[{ids_sql}]::uuid[], '{lo}', '{hi}', '{after}', {per_provider})",
                sql = busy::SQL,
                lo = (w.from - chrono::Duration::days(1)).to_rfc3339(),
                hi = (w.to + chrono::Duration::days(1)).to_rfc3339(),
                after = (w.from - busy::MAX_BUFFER_BEFORE).to_rfc3339(),
            ),
        )?;
        let rows_loaded = pre.busy.rows;
        facts.push(json!({"scenario": sc.name, "providers": sc.providers.len(),
                          "rows_loaded": rows_loaded, "busy_spans_merged": pre.busy.merged,
                          "rows_per_provider": per_provider,
                          "complete_until": pre.busy.complete_until.map(|u| u.to_rfc3339()),
                          "slots": http_slots, "window_slots": window_slots.len(),
                          "window_busy_spans": window_busy.values().map(Vec::len).sum::<usize>(),
                          "pages": pages, "busy_query_plan": plan}));
        progress(
            t_start,
            &format!(
                "b3: {}: first page {} slots ({} busy spans); window {} slots in {} pages",
                sc.name,
                http_slots,
                pre.busy.merged,
                window_slots.len(),
                pages
            ),
        );
        for r in 1..=rounds {
            // floor
            let mut samples = Vec::with_capacity(sc.requests);
            for _ in 0..sc.requests {
                let t0 = Instant::now();
                let out = page(&pre);
                samples.push(t0.elapsed());
                std::hint::black_box(out);
            }
            rounds_out.push(Round {
                scenario: sc.name,
                arm: "floor",
                round: r,
                latency: latency(&samples),
            });
            // queries only
            let mut samples = Vec::with_capacity(sc.requests);
            for _ in 0..sc.requests {
                let t0 = Instant::now();
                let p = load(&app, &t, type_id, &sc.providers, &w).await?;
                samples.push(t0.elapsed());
                std::hint::black_box(p.busy.merged);
            }
            rounds_out.push(Round {
                scenario: sc.name,
                arm: "queries",
                round: r,
                latency: latency(&samples),
            });
            // through the app
            let mut samples = Vec::with_capacity(sc.requests);
            for _ in 0..sc.requests {
                samples.push(http_once(&app, &t, &path).await?.0);
            }
            rounds_out.push(Round {
                scenario: sc.name,
                arm: "http",
                round: r,
                latency: latency(&samples),
            });
            // the whole window: in memory, and every page through the app
            let mut samples = Vec::with_capacity(sc.requests);
            for _ in 0..sc.requests.min(50) {
                let t0 = Instant::now();
                let out = window(&window_busy);
                samples.push(t0.elapsed());
                std::hint::black_box(out);
            }
            rounds_out.push(Round {
                scenario: sc.name,
                arm: "floor, window",
                round: r,
                latency: latency(&samples),
            });
            if walks > 0 {
                let mut samples = Vec::with_capacity(walks);
                for _ in 0..walks {
                    samples.push(walk(&app, &t, &path).await?.0);
                }
                rounds_out.push(Round {
                    scenario: sc.name,
                    arm: "http, all pages",
                    round: r,
                    latency: latency(&samples),
                });
            }
            progress(t_start, &format!("b3: {} round {r}/{rounds} done", sc.name));
        }
    }

    // ------------------------------------------------------------ report
    let when = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    println!();
    println!("B3 slot search — {when}");
    println!(
        "window {first} … {last} ({DAYS} days, {ZONE}); single provider: {bookings} bookings; department: {TEAM} providers × {team_bookings} bookings"
    );
    println!(
        "search type 15 min, starts every 15 min, staff caller, first page of {} slots; rounds = {rounds}; {requests} (single) / {team_requests} (department) sequential searches per arm and round, {walks} walks of every page",
        slots::DEFAULT_LIMIT
    );
    println!("machine: {cpus} CPUs; PostgreSQL {pg_version}; app in-process (poem TestClient)");
    println!(
        "1-minute load average before the run: {} (more than ~0.5 = something else was running; rerun)",
        fmt_load(load_start)
    );
    for f in &facts {
        println!(
            "  {}: {} provider(s); first page: {} appointment rows read (at most {} per provider), {} busy spans once merged (complete until {}), {} free slots",
            f["scenario"].as_str().unwrap_or("?"),
            f["providers"],
            f["rows_loaded"],
            f["rows_per_provider"],
            f["busy_spans_merged"],
            f["complete_until"].as_str().unwrap_or("the window's end"),
            f["slots"]
        );
        println!(
            "    whole window: {} busy spans, {} free slots in {} pages",
            f["window_busy_spans"], f["window_slots"], f["pages"]
        );
        println!("    busy query plan, first page (EXPLAIN ANALYZE):");
        for line in f["busy_query_plan"].as_str().unwrap_or("").lines() {
            println!("      {}", shorten_ids(line));
        }
    }
    println!();
    println!(
        "  {:<34} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "round", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms"
    );
    for r in &rounds_out {
        let l = &r.latency;
        println!(
            "  {:<34} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
            format!("{} {}. {}", r.scenario, r.round, r.arm),
            l.p50,
            l.p90,
            l.p99,
            l.max,
            l.mean
        );
    }
    println!();
    let mut verdicts = Vec::new();
    for sc in &scenarios {
        let med = |arm: &str, f: fn(&Latency) -> f64| -> f64 {
            median(
                &rounds_out
                    .iter()
                    .filter(|r| r.scenario == sc.name && r.arm == arm)
                    .map(|r| f(&r.latency))
                    .collect::<Vec<_>>(),
            )
        };
        let (floor50, floor99) = (med("floor", |l| l.p50), med("floor", |l| l.p99));
        let (q50, q99) = (med("queries", |l| l.p50), med("queries", |l| l.p99));
        let (http50, http99) = (med("http", |l| l.p50), med("http", |l| l.p99));
        let ratio50 = http50 / floor50;
        let ratio99 = http99 / floor99;
        let pass_ratio = ratio50 <= FLOOR_RATIO;
        let pass_p99 = http99 <= sc.p99_target_ms;
        println!(
            "  {}: median p50 / p99 — floor {floor50:.3} / {floor99:.3} ms, queries {q50:.3} / {q99:.3} ms, http {http50:.3} / {http99:.3} ms",
            sc.name
        );
        println!(
            "    http / floor: p50 {ratio50:.2}×, p99 {ratio99:.2}× (target ≤ {FLOOR_RATIO}×) {}",
            verdict(pass_ratio)
        );
        println!(
            "    http p99 {http99:.3} ms (target ≤ {} ms) {}",
            sc.p99_target_ms,
            verdict(pass_p99)
        );
        let (fw50, fw99) = (
            med("floor, window", |l| l.p50),
            med("floor, window", |l| l.p99),
        );
        let (walk50, walk99) = (
            med("http, all pages", |l| l.p50),
            med("http, all pages", |l| l.p99),
        );
        println!(
            "    whole window (informational): floor {fw50:.3} / {fw99:.3} ms, every page through the app {walk50:.3} / {walk99:.3} ms"
        );
        verdicts.push(json!({"scenario": sc.name,
            "window_floor_p50_ms": fw50, "window_floor_p99_ms": fw99,
            "window_walk_p50_ms": walk50, "window_walk_p99_ms": walk99,
            "floor_p50_ms": floor50, "floor_p99_ms": floor99,
            "queries_p50_ms": q50, "queries_p99_ms": q99,
            "http_p50_ms": http50, "http_p99_ms": http99,
            "ratio_p50": ratio50, "ratio_p99": ratio99, "pass_ratio": pass_ratio,
            "p99_target_ms": sc.p99_target_ms, "pass_p99": pass_p99}));
    }
    println!();
    println!("total run time {:.1} s", t_start.elapsed().as_secs_f64());
    Ok(json!({
        "bench": "b3_slots",
        "when": when,
        "args": {"bookings": bookings, "team_bookings": team_bookings, "requests": requests,
                 "team_requests": team_requests, "walks": walks, "rounds": rounds, "days": DAYS,
                 "zone": ZONE, "limit": slots::DEFAULT_LIMIT},
        "machine": {"cpus": cpus, "postgres": pg_version, "load_average_before": load_start},
        "scenarios": facts,
        "rounds": rounds_out.iter().map(|r| json!({"scenario": r.scenario, "arm": r.arm,
            "round": r.round, "latency": latency_json(&r.latency)})).collect::<Vec<_>>(),
        "verdicts": verdicts,
        "target_floor_ratio": FLOOR_RATIO,
        "total_s": t_start.elapsed().as_secs_f64(),
    }))
}
