//! Running jobs from the outbox (see `domain::jobs` for how they are written).
//!
//! Two runners share one handler, [`Runner::handle`]:
//! * **embedded** ([`Runner::poll_once`], looped by `swiftacare serve` when there is no
//!   `SWIFTACARE_AMQP_URL`): due rows are locked with `FOR UPDATE SKIP LOCKED` on each shard and
//!   handled right there, so a single machine needs no broker;
//! * **broker** ([`amqp`], `swiftacare worker`): a relay publishes due rows to RabbitMQ with
//!   publisher confirms; consumers handle deliveries with manual acks, retry with backoff
//!   through a TTL queue and dead-letter after [`domain::jobs::MAX_ATTEMPTS`].
//!
//! Either way a handler re-enters its tenant through `Tenancy::tx` and is idempotent (the
//! tenant's `processed_jobs`), so a job delivered twice has one effect.

pub mod amqp;
pub mod sms;

use std::sync::Arc;

use domain::jobs::{self, Job};
use domain::scheduling::bulk::place::{self as bulk, ChunkJob, ChunkOutcome};
use domain::scheduling::reminders::{self, Begin, ReminderJob};
use domain::scheduling::waitlist;
use tenancy::{DoorError, Tenancy};

use crate::mail::Mailer;

/// Why a job attempt failed: a short code (logged and stored), never personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError(pub &'static str);

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl From<domain::DomainError> for JobError {
    fn from(e: domain::DomainError) -> Self {
        tracing::warn!(error = %e, "job step failed");
        JobError(match e {
            domain::DomainError::Unavailable(_) => "database_unavailable",
            _ => "domain_error",
        })
    }
}

/// What a handled job came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// The tenant had already processed it (a redelivery).
    Duplicate,
    /// Nothing to do (cancelled, moved, no address …).
    Skipped,
}

#[derive(Clone)]
pub struct Runner {
    pub tenancy: Tenancy,
    pub mailer: Arc<Mailer>,
    /// Tenants by registry id for a few seconds: a run of jobs for one tenant (a bulk batch,
    /// a day's reminders) reads the registry once, not once or twice per job.
    tenants: moka::future::Cache<i64, tenancy::TenantRef>,
    /// Texts (`None`: SMS reminders fail with `no_sender`).
    sms: Option<Arc<dyn sms::SmsSender>>,
    /// How many jobs are handled at once (see [`Runner::with_concurrency`]).
    concurrency: usize,
}

/// Jobs handled at once by the embedded runner unless configured: a job is mostly waiting on
/// its database transaction (and chunks of different lanes never wait on each other, see
/// `bulk::input::lanes`), so a few at a time keep the database's cores busy without taking
/// much of the pool from requests.
pub const DEFAULT_CONCURRENCY: usize = 4;

impl Runner {
    pub fn new(tenancy: Tenancy, mailer: Arc<Mailer>) -> Runner {
        Runner {
            tenancy,
            mailer,
            tenants: moka::future::Cache::builder()
                .time_to_live(std::time::Duration::from_secs(5))
                .max_capacity(10_000)
                .build(),
            sms: None,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// Handles up to `n` jobs at once (`SWIFTACARE_JOB_CONCURRENCY`): claimed rows in the
    /// embedded runner, deliveries in the broker consumer.
    pub fn with_concurrency(mut self, n: usize) -> Runner {
        self.concurrency = n.max(1);
        self
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Sends SMS reminders with `sender` (serve and worker use [`sms::WebhookSms`]).
    pub fn with_sms(mut self, sender: Arc<dyn sms::SmsSender>) -> Runner {
        self.sms = Some(sender);
        self
    }

    /// The job's tenant (cached briefly, as the tenant router's registry cache is).
    pub async fn tenant(&self, id: i64) -> Result<tenancy::TenantRef, JobError> {
        if let Some(t) = self.tenants.get(&id).await {
            return Ok(t);
        }
        match self.tenancy.resolve_id(id).await {
            Ok(Some(t)) => {
                self.tenants.insert(id, t.clone()).await;
                Ok(t)
            }
            Ok(None) => Err(JobError("unknown_tenant")),
            Err(_) => Err(JobError("registry_unavailable")),
        }
    }

    /// Runs one job in its tenant. Errors are retried by the caller.
    pub async fn handle(&self, job: &Job) -> Result<Outcome, JobError> {
        let tenant = self.tenant(job.tenant_id).await?;
        let outcome = match job.kind.as_str() {
            reminders::KIND => {
                let r: ReminderJob = serde_json::from_value(job.payload.clone())
                    .map_err(|_| JobError("bad_payload"))?;
                match reminders::begin(&self.tenancy, &tenant, job.id, &r).await? {
                    Begin::AlreadyDone => Outcome::Duplicate,
                    Begin::Skipped(_) => Outcome::Skipped,
                    Begin::Send(m) => {
                        let sent = match (m.channel.as_str(), m.to.as_deref()) {
                            ("email", Some(to)) => self
                                .mailer
                                .send_with_id(
                                    to,
                                    &m.subject,
                                    m.text.clone(),
                                    Some(m.message_id.clone()),
                                )
                                .await
                                .map_err(|_| "mail_error"),
                            ("sms", Some(to)) => match (&self.sms, &m.gateway) {
                                (Some(sender), Some(gateway)) => {
                                    sender
                                        .send(sms::Sms {
                                            to,
                                            text: &m.text,
                                            message_id: &m.message_id,
                                            gateway,
                                        })
                                        .await
                                }
                                _ => Err("no_sender"),
                            },
                            _ => Err("no_sender"),
                        };
                        reminders::finish(&self.tenancy, &tenant, m.delivery_id, sent).await?;
                        // Not retried on a mail error: the delivery log says `failed`, and a
                        // retry could not know whether the first attempt reached the client.
                        Outcome::Done
                    }
                }
            }
            bulk::KIND => {
                let b: ChunkJob = serde_json::from_value(job.payload.clone())
                    .map_err(|_| JobError("bad_payload"))?;
                match bulk::run_chunk(&self.tenancy, &tenant, job.id, &b).await? {
                    ChunkOutcome::AlreadyDone => Outcome::Duplicate,
                    ChunkOutcome::Placed { .. } => Outcome::Done,
                }
            }
            waitlist::NOTIFY_KIND => {
                let n: waitlist::NotifyJob = serde_json::from_value(job.payload.clone())
                    .map_err(|_| JobError("bad_payload"))?;
                match waitlist::notify(&self.tenancy, &tenant, job.id, &n).await? {
                    waitlist::Notify::AlreadyDone => Outcome::Duplicate,
                    waitlist::Notify::Skipped(_) => Outcome::Skipped,
                    waitlist::Notify::Send {
                        to,
                        subject,
                        text,
                        message_id,
                    } => {
                        // Not retried on a mail error (the job is already marked processed):
                        // the offer is still listed on the client's waitlist.
                        if self
                            .mailer
                            .send_with_id(&to, &subject, text, Some(message_id))
                            .await
                            .is_err()
                        {
                            metrics::counter!("swiftacare_waitlist_mail_failed_total").increment(1);
                        }
                        Outcome::Done
                    }
                }
            }
            waitlist::EXPIRE_KIND => {
                // Idempotent by nature: it records what has expired and offers each freed slot
                // to clients not yet offered it.
                waitlist::sweep(&self.tenancy, &tenant).await?;
                Outcome::Done
            }
            _ => return Err(JobError("unknown_kind")),
        };
        let label = match outcome {
            Outcome::Done => "done",
            Outcome::Duplicate => "duplicate",
            Outcome::Skipped => "skipped",
        };
        metrics::counter!("swiftacare_jobs_processed_total", "kind" => kind_label(&job.kind), "outcome" => label)
            .increment(1);
        Ok(outcome)
    }

    /// One embedded round: on every shard, lock up to `batch` due jobs, handle them (up to
    /// [`Runner::with_concurrency`] at once, each in its own tenant transaction), record each
    /// outcome. Returns how many were handled. The claim holds the rows until the outcomes are
    /// recorded, so a crash mid-round leaves them due again (handlers are idempotent).
    pub async fn poll_once(&self, batch: i64) -> Result<usize, DoorError> {
        use futures::StreamExt;
        let mut handled = 0;
        for shard in self.tenancy.shard_ids() {
            let n = self
                .tenancy
                .jobs_tx(&shard, async |c| {
                    let due = jobs::claim_due(c, batch).await?;
                    let n = due.len();
                    let outcomes: Vec<(Job, Result<Outcome, JobError>)> =
                        futures::stream::iter(due)
                            .map(|job| async move {
                                let outcome = self.handle(&job).await;
                                (job, outcome)
                            })
                            .buffer_unordered(self.concurrency)
                            .collect()
                            .await;
                    for (job, outcome) in outcomes {
                        let attempts = job.attempts + 1;
                        match outcome {
                            Ok(_) => {
                                jobs::mark_done(c, job.id, attempts).await?;
                            }
                            Err(e) => {
                                let dead = jobs::record_failure(c, job.id, attempts, e.0).await?;
                                metrics::counter!(if dead { "swiftacare_jobs_dead_total" } else { "swiftacare_jobs_retried_total" }, "kind" => kind_label(&job.kind))
                                    .increment(1);
                                tracing::warn!(job_id = %job.id, kind = %job.kind, attempts, error = %e, dead, "job failed");
                            }
                        }
                    }
                    Ok::<_, DoorError>(n)
                })
                .await?;
            handled += n;
        }
        Ok(handled)
    }

    /// Queue depth per shard as gauges (due now, scheduled, dead).
    pub async fn report_depth(&self) {
        for shard in self.tenancy.shard_ids() {
            let depth = self
                .tenancy
                .jobs_tx(&shard, async |c| {
                    jobs::depth(c).await.map_err(DoorError::from)
                })
                .await;
            if let Ok((due, later, dead)) = depth {
                let s = shard.to_string();
                metrics::gauge!("swiftacare_outbox_jobs", "shard" => s.clone(), "state" => "due")
                    .set(due as f64);
                metrics::gauge!("swiftacare_outbox_jobs", "shard" => s.clone(), "state" => "scheduled").set(later as f64);
                metrics::gauge!("swiftacare_outbox_jobs", "shard" => s, "state" => "dead")
                    .set(dead as f64);
            }
        }
    }

    /// The embedded runner: polls every second (faster while there is work), until cancelled.
    pub async fn run_embedded(self) {
        let mut last_depth = std::time::Instant::now() - std::time::Duration::from_secs(60);
        loop {
            let handled = match self.poll_once(50).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "job poll failed");
                    0
                }
            };
            if last_depth.elapsed() >= std::time::Duration::from_secs(15) {
                self.report_depth().await;
                last_depth = std::time::Instant::now();
            }
            if handled == 0 {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

/// Metrics label for a job kind: known kinds only (payload-free, bounded cardinality).
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        reminders::KIND => reminders::KIND,
        waitlist::EXPIRE_KIND => waitlist::EXPIRE_KIND,
        waitlist::NOTIFY_KIND => waitlist::NOTIFY_KIND,
        bulk::KIND => bulk::KIND,
        _ => "other",
    }
}
