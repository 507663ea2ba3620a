//! B8 — publishing with publisher confirms: the outbox relay against a bare lapin loop.
//!
//! Both arms run on a fresh RabbitMQ vhost (`swiftacare_bench_<pid>`, created with
//! `rabbitmqctl add_vhost` + `set_permissions` for `guest`, deleted at the end, also on error),
//! over one connection opened by `jobs::amqp::connect` (confirm mode, the production topology
//! declared). Per round:
//!
//! * **relay** (timed): `--messages` due rows are written to `swiftacare_jobs.outbox` (untimed,
//!   one `INSERT … SELECT`), then `jobs::amqp::relay_once(runner, channel, 200)` runs until it
//!   returns 0: claim with `FOR UPDATE SKIP LOCKED`, publish each row persistent and wait for its
//!   confirm, mark the batch published, commit.
//! * **lapin** (timed, the ceiling): the same number of `basic_publish` calls on the same channel,
//!   to the same exchange and routing key, the same properties (persistent, message id, content
//!   type, attempt header) and a body of the same size (a serialised `Job` with the same
//!   payload), each confirm awaited before the next publish, as the relay does.
//!
//! The queue is purged after each arm (untimed). Rounds alternate which arm goes first; the
//! verdict is median relay msgs/s / median lapin msgs/s (QUALITY target ≥ 0.8, there against
//! RabbitMQ PerfTest, a Java tool not obtainable on this machine: see ops/bench/README.md).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, anyhow, ensure};
use lapin::options::{BasicPublishOptions, QueuePurgeOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};
use serde_json::{Value, json};
use swiftacare_api::jobs::{Runner, amqp};

use crate::Args;
use crate::common::{App, BenchDb, fmt_load, median, progress, psql_on, verdict};

/// A fresh vhost, deleted when dropped.
struct Vhost {
    name: String,
}

fn rabbitmqctl(args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .context("running rabbitmqctl (is RabbitMQ installed?)")?;
    ensure!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

impl Vhost {
    fn create() -> anyhow::Result<Vhost> {
        let name = format!("swiftacare_bench_{}", std::process::id());
        rabbitmqctl(&["add_vhost", &name])?;
        let v = Vhost { name };
        rabbitmqctl(&["set_permissions", "-p", &v.name, "guest", ".*", ".*", ".*"])?;
        Ok(v)
    }

    fn url(&self) -> String {
        let base = std::env::var("SCHED_AMQP_BASE")
            .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672".into());
        format!("{base}/{}", self.name)
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        match rabbitmqctl(&["delete_vhost", &self.name]) {
            Ok(()) => eprintln!("scheduling: deleted vhost {}", self.name),
            Err(e) => eprintln!("scheduling: could not delete vhost {}: {e:#}", self.name),
        }
    }
}

const PAYLOAD: &str = r#"{"appointment_id":"0193a5c2-7d1e-7c3a-9f4b-2a6e8d0c1b3f","offset_minutes":1440,"channel":"email","starts_at":"2026-12-01T15:00:00Z"}"#;

/// The message the relay would send for one of the rows below (same size: uuids and
/// timestamps have fixed widths).
fn sample_body() -> anyhow::Result<Vec<u8>> {
    let job = domain::jobs::Job {
        id: uuid::Uuid::now_v7(),
        tenant_id: 1,
        kind: "reminder.send".into(),
        payload: serde_json::from_str(PAYLOAD)?,
        available_at: chrono::Utc::now(),
        attempts: 0,
    };
    Ok(serde_json::to_vec(&job)?)
}

async fn lapin_loop(ch: &Channel, n: usize, body: &[u8]) -> anyhow::Result<()> {
    for _ in 0..n {
        let mut headers = FieldTable::default();
        headers.insert("x-swiftacare-attempt".into(), AMQPValue::LongInt(0));
        let props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(uuid::Uuid::now_v7().to_string().as_str().into())
            .with_content_type("application/json".into())
            .with_headers(headers);
        let confirm = ch
            .basic_publish(
                amqp::EXCHANGE.into(),
                "job".into(),
                BasicPublishOptions::default(),
                body,
                props,
            )
            .await?
            .await?;
        ensure!(confirm.is_ack(), "nacked by the broker");
    }
    Ok(())
}

async fn purge(ch: &Channel) -> anyhow::Result<()> {
    ch.queue_purge(amqp::QUEUE.into(), QueuePurgeOptions::default())
        .await?;
    Ok(())
}

pub async fn run(
    args: &Args,
    db: &BenchDb,
    started: Instant,
    load: Option<f64>,
) -> anyhow::Result<Value> {
    let n: usize = args.get("messages", 2000)?;
    let rounds: usize = args.get("rounds", 5)?;
    ensure!(n >= 1 && rounds >= 1, "--messages and --rounds must be ≥ 1");

    let app = App::new(&db.url, 4)?;
    app.migrate_control().await?;
    let mailer = swiftacare_api::mail::Mailer::new(
        None,
        "Bench <bench@swiftacare.test>",
        std::env::temp_dir().join("swiftacare-bench-mail"),
    )
    .context("mailer")?;
    let runner = Runner::new(app.tenancy.clone(), Arc::new(mailer));
    let vhost = Vhost::create()?;
    let (_conn, ch, _consume) = amqp::connect(&vhost.url())
        .await
        .map_err(|e| anyhow!("connecting to {}: {e}", vhost.url()))?;
    let body = sample_body()?;
    progress(
        started,
        &format!(
            "b8: vhost {} ready, {} bytes per message",
            vhost.name,
            body.len()
        ),
    );

    let insert = format!(
        "INSERT INTO swiftacare_jobs.outbox (id, tenant_id, kind, payload, available_at)
         SELECT gen_random_uuid(), 1, 'reminder.send', '{PAYLOAD}'::jsonb, now() - interval '1 second'
         FROM generate_series(1, {n}); ANALYZE swiftacare_jobs.outbox"
    );
    let mut relay_rates = Vec::new();
    let mut lapin_rates = Vec::new();
    let mut lines = Vec::new();
    let mut rounds_json = Vec::new();
    for r in 0..rounds {
        let relay_first = r % 2 == 0;
        for step in 0..2 {
            let relay = (step == 0) == relay_first;
            let secs = if relay {
                psql_on(&db.url, &insert)?;
                let t0 = Instant::now();
                let mut sent = 0;
                loop {
                    let k = amqp::relay_once(&runner, &ch, 200)
                        .await
                        .map_err(|e| anyhow!("relay: {e}"))?;
                    if k == 0 {
                        break;
                    }
                    sent += k;
                }
                let secs = t0.elapsed().as_secs_f64();
                ensure!(sent == n, "the relay published {sent} of {n}");
                secs
            } else {
                let t0 = Instant::now();
                lapin_loop(&ch, n, &body).await?;
                t0.elapsed().as_secs_f64()
            };
            purge(&ch).await?;
            let rate = n as f64 / secs;
            let arm = if relay { "relay" } else { "lapin" };
            if relay {
                relay_rates.push(rate);
            } else {
                lapin_rates.push(rate);
            }
            lines.push(format!(
                "  {}. {arm:<8} {secs:>8.3} s  {rate:>9.0} msgs/s",
                r + 1
            ));
            rounds_json.push(json!({"round": r + 1, "arm": arm, "secs": secs, "msgs_per_s": rate}));
            progress(
                started,
                &format!("b8 round {}: {arm} {rate:.0} msgs/s", r + 1),
            );
        }
    }
    drop(ch);
    drop(_consume);
    drop(_conn);
    drop(vhost);

    let (mr, ml) = (median(&relay_rates), median(&lapin_rates));
    let ratio = mr / ml;
    println!(
        "B8 publishing with confirms — {}",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    println!(
        "messages = {n} per arm and round ({} bytes, persistent, publisher confirms, one in flight), rounds = {rounds} (alternating)",
        body.len()
    );
    println!(
        "machine: {} CPUs; RabbitMQ on 127.0.0.1, fresh vhost; relay = jobs::amqp::relay_once(200) over due outbox rows",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "1-minute load average before the run: {} (more than ~0.5 = something else was running; rerun)",
        fmt_load(load)
    );
    println!(
        "ceiling: a bare lapin publish loop, same flags (RabbitMQ PerfTest is not obtainable here)"
    );
    println!();
    for l in &lines {
        println!("{l}");
    }
    println!();
    println!("  median msgs/s: relay {mr:.0}, lapin loop {ml:.0}");
    println!(
        "  relay / lapin = {ratio:.3} (target ≥ 0.8) {}",
        verdict(ratio >= 0.8)
    );
    println!(
        "  per-round relay / lapin: {}",
        relay_rates
            .iter()
            .zip(&lapin_rates)
            .map(|(a, b)| format!("{:.3}", a / b))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!();
    println!("total run time {:.1} s", started.elapsed().as_secs_f64());
    Ok(json!({
        "benchmark": "B8", "messages": n, "rounds": rounds, "message_bytes": body.len(),
        "load_average_1m": load, "rounds_detail": rounds_json,
        "median_msgs_per_s": {"relay": mr, "lapin": ml}, "ratio_relay_over_lapin": ratio,
        "ceiling": "lapin loop (PerfTest not obtainable)", "target": 0.8, "pass": ratio >= 0.8,
    }))
}
