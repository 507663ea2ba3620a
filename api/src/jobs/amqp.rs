//! The broker runner (`swiftacare worker`): outbox relay and consumer on RabbitMQ (lapin).
//!
//! Topology (all durable; messages persistent):
//! * exchange `swiftacare.jobs` (direct) → queue `swiftacare.jobs` (routing key `job`);
//! * retry: exchanges/queues `swiftacare.jobs.retry.<n>` for n = 1..MAX_ATTEMPTS−1, each queue
//!   with a message TTL of the n-th backoff and dead-lettering back to `swiftacare.jobs`
//!   (one queue per delay, so a long delay never holds a short one behind it);
//! * dead letters: exchange and queue `swiftacare.jobs.dead`.
//!
//! The relay publishes due outbox rows with publisher confirms and marks them published only
//! after every confirm arrived; a crash in between republishes, which the consumers' idempotence
//! absorbs. Consumers ack manually after the job's effect committed (or after handing a failed
//! delivery to the retry or dead queue).

use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

use domain::jobs::{self, Job, MAX_ATTEMPTS};
use tenancy::DoorError;

use super::{Runner, kind_label};

pub const EXCHANGE: &str = "swiftacare.jobs";
pub const QUEUE: &str = "swiftacare.jobs";
pub const DEAD: &str = "swiftacare.jobs.dead";
const ROUTING_KEY: &str = "job";
const ATTEMPT_HEADER: &str = "x-swiftacare-attempt";

fn retry_name(attempt: i32) -> String {
    format!("swiftacare.jobs.retry.{attempt}")
}

fn s(v: &str) -> ShortString {
    v.into()
}

/// Declares the exchanges and queues (idempotent).
pub async fn declare(ch: &Channel) -> lapin::Result<()> {
    let durable_x = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    let durable_q = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    ch.exchange_declare(
        s(EXCHANGE),
        ExchangeKind::Direct,
        durable_x,
        FieldTable::default(),
    )
    .await?;
    ch.queue_declare(s(QUEUE), durable_q, FieldTable::default())
        .await?;
    ch.queue_bind(
        s(QUEUE),
        s(EXCHANGE),
        s(ROUTING_KEY),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    ch.exchange_declare(
        s(DEAD),
        ExchangeKind::Fanout,
        durable_x,
        FieldTable::default(),
    )
    .await?;
    ch.queue_declare(s(DEAD), durable_q, FieldTable::default())
        .await?;
    ch.queue_bind(
        s(DEAD),
        s(DEAD),
        s(""),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    for attempt in 1..MAX_ATTEMPTS {
        let name = retry_name(attempt);
        let mut args = FieldTable::default();
        let ttl = jobs::backoff(attempt).num_milliseconds().max(1);
        args.insert(s("x-message-ttl"), AMQPValue::LongLongInt(ttl));
        args.insert(
            s("x-dead-letter-exchange"),
            AMQPValue::LongString(EXCHANGE.into()),
        );
        args.insert(
            s("x-dead-letter-routing-key"),
            AMQPValue::LongString(ROUTING_KEY.into()),
        );
        ch.exchange_declare(
            s(&name),
            ExchangeKind::Fanout,
            durable_x,
            FieldTable::default(),
        )
        .await?;
        ch.queue_declare(s(&name), durable_q, args).await?;
        ch.queue_bind(
            s(&name),
            s(&name),
            s(""),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    }
    Ok(())
}

fn properties(job: &Job, attempt: i32) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(s(ATTEMPT_HEADER), AMQPValue::LongInt(attempt));
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_message_id(s(&job.id.to_string()))
        .with_content_type(s("application/json"))
        .with_headers(headers)
}

/// Publishes `job` to `exchange` and waits for the broker's confirm.
async fn publish(ch: &Channel, exchange: &str, job: &Job, attempt: i32) -> Result<(), String> {
    let body = serde_json::to_vec(job).map_err(|e| e.to_string())?;
    let confirm = ch
        .basic_publish(
            s(exchange),
            s(ROUTING_KEY),
            BasicPublishOptions::default(),
            &body,
            properties(job, attempt),
        )
        .await
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    if confirm.is_ack() {
        Ok(())
    } else {
        Err("nacked by the broker".into())
    }
}

/// One relay round: on every shard, publish up to `batch` due jobs (confirmed) and mark them
/// published in the same shard transaction that locked them. Returns how many.
pub async fn relay_once(runner: &Runner, ch: &Channel, batch: i64) -> Result<usize, String> {
    let mut total = 0;
    for shard in runner.tenancy.shard_ids() {
        let n = runner
            .tenancy
            .jobs_tx(&shard, async |c| {
                let due = jobs::claim_due(c, batch).await?;
                let mut ids = Vec::with_capacity(due.len());
                for job in &due {
                    // Any failure rolls the batch back: the rows stay pending and are
                    // published again (consumers are idempotent).
                    publish(ch, EXCHANGE, job, job.attempts)
                        .await
                        .map_err(RelayError::Broker)?;
                    ids.push(job.id);
                }
                jobs::mark_published(c, &ids).await?;
                Ok::<_, RelayError>(ids.len())
            })
            .await
            .map_err(|e| e.to_string())?;
        if n > 0 {
            metrics::counter!("swiftacare_jobs_published_total").increment(n as u64);
        }
        total += n;
    }
    Ok(total)
}

#[derive(Debug)]
enum RelayError {
    Broker(String),
    Db(String),
}

impl std::fmt::Display for RelayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RelayError::Broker(e) => write!(f, "broker: {e}"),
            RelayError::Db(e) => write!(f, "database: {e}"),
        }
    }
}

impl From<diesel::result::Error> for RelayError {
    fn from(e: diesel::result::Error) -> Self {
        RelayError::Db(e.to_string())
    }
}

impl From<DoorError> for RelayError {
    fn from(e: DoorError) -> Self {
        RelayError::Db(e.to_string())
    }
}

fn attempt_of(props: &BasicProperties) -> i32 {
    props
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get(ATTEMPT_HEADER).cloned())
        .and_then(|v| match v {
            AMQPValue::LongInt(n) => Some(n),
            AMQPValue::ShortInt(n) => Some(n.into()),
            AMQPValue::LongLongInt(n) => i32::try_from(n).ok(),
            _ => None,
        })
        .unwrap_or(0)
}

/// Records the outbox row's final state (best effort: the job's effect already committed).
async fn settle(runner: &Runner, job: &Job, attempts: i32, dead: Option<&str>) {
    let shard = match runner.tenant(job.tenant_id).await {
        Ok(t) => t.shard,
        Err(_) => return,
    };
    let r = runner
        .tenancy
        .jobs_tx(&shard, async |c| {
            match dead {
                None => jobs::mark_done(c, job.id, attempts).await?,
                Some(e) => jobs::mark_dead(c, job.id, attempts, e).await?,
            };
            Ok::<_, DoorError>(())
        })
        .await;
    if let Err(e) = r {
        tracing::warn!(job_id = %job.id, error = %e, "could not record the job's outcome in the outbox");
    }
}

/// Consumes until the channel or connection fails. Up to the runner's concurrency
/// ([`Runner::with_concurrency`]) deliveries are handled at once (bulk chunks of different
/// lanes, reminders). Each delivery: handle, then ack; a failure goes to the next retry queue
/// (or the dead queue after the last attempt) before the ack, so a crash at any point leaves
/// the message with the broker.
pub async fn consume(runner: &Runner, ch: &Channel, prefetch: u16) -> Result<(), String> {
    use futures::TryStreamExt;
    ch.basic_qos(prefetch, BasicQosOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let consumer = ch
        .basic_consume(
            s(QUEUE),
            s("swiftacare-worker"),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
    consumer
        .map_err(|e| e.to_string())
        .try_for_each_concurrent(runner.concurrency(), |delivery| {
            deliver(runner, ch, delivery)
        })
        .await?;
    Err("consumer cancelled".into())
}

/// Handles one delivery and acks it (see [`consume`]).
async fn deliver(runner: &Runner, ch: &Channel, delivery: Delivery) -> Result<(), String> {
    let attempt = attempt_of(&delivery.properties) + 1;
    match serde_json::from_slice::<Job>(&delivery.data) {
        Err(_) => {
            // A poison message: it can never be handled. Park it for a human.
            let body = delivery.data.clone();
            ch.basic_publish(
                s(DEAD),
                s(""),
                BasicPublishOptions::default(),
                &body,
                delivery.properties.clone(),
            )
            .await
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())?;
            metrics::counter!("swiftacare_jobs_dead_total", "kind" => "unparseable").increment(1);
            tracing::warn!("unparseable job message moved to the dead-letter queue");
        }
        Ok(job) => {
            match runner.handle(&job).await {
                Ok(_) => settle(runner, &job, attempt, None).await,
                Err(e) if attempt < MAX_ATTEMPTS => {
                    publish(ch, &retry_name(attempt), &job, attempt).await?;
                    metrics::counter!("swiftacare_jobs_retried_total", "kind" => kind_label(&job.kind)).increment(1);
                    tracing::warn!(job_id = %job.id, attempt, error = %e, "job failed; retrying after backoff");
                }
                Err(e) => {
                    publish(ch, DEAD, &job, attempt).await?;
                    settle(runner, &job, attempt, Some(e.0)).await;
                    metrics::counter!("swiftacare_jobs_dead_total", "kind" => kind_label(&job.kind)).increment(1);
                    tracing::warn!(job_id = %job.id, attempt, error = %e, "job failed for the last time; dead-lettered");
                }
            }
        }
    }
    delivery
        .ack(BasicAckOptions::default())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Opens a connection and two channels (publishing with confirms; consuming).
pub async fn connect(url: &str) -> Result<(Connection, Channel, Channel), String> {
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .map_err(|e| e.to_string())?;
    let publish = conn.create_channel().await.map_err(|e| e.to_string())?;
    publish
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    declare(&publish).await.map_err(|e| e.to_string())?;
    let consume = conn.create_channel().await.map_err(|e| e.to_string())?;
    consume
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    Ok((conn, publish, consume))
}

/// One broker session: relay every second and consume, until either fails.
async fn session(runner: &Runner, url: &str) -> Result<(), String> {
    let (_conn, publish_ch, consume_ch) = connect(url).await?;
    tracing::info!("connected to the broker");
    let relay = async {
        let mut last_depth = std::time::Instant::now() - std::time::Duration::from_secs(60);
        loop {
            let n = relay_once(runner, &publish_ch, 200).await?;
            if last_depth.elapsed() >= std::time::Duration::from_secs(15) {
                runner.report_depth().await;
                last_depth = std::time::Instant::now();
            }
            if n == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    };
    tokio::select! {
        r = relay => r,
        r = consume(runner, &consume_ch, 16) => r,
    }
}

/// `swiftacare worker`: keeps a broker session up, reconnecting with backoff after any failure
/// (the broker restarting, the network); the outbox keeps every job meanwhile.
pub async fn run_worker(runner: Runner, url: String) {
    let mut delay = std::time::Duration::from_millis(500);
    loop {
        match session(&runner, &url).await {
            Ok(()) => delay = std::time::Duration::from_millis(500),
            Err(e) => {
                metrics::counter!("swiftacare_broker_reconnects_total").increment(1);
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "broker session ended");
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(10));
    }
}
