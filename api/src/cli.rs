//! The `swiftacare` command line: one binary with roles (`serve`, `migrate`, `tenant`, `demo`,
//! `openapi`). Every command reads the same configuration (docs/CONFIGURATION.md); with no
//! `DATABASE_URL` they all use the embedded PostgreSQL under `SWIFTACARE_DATA_DIR/pg`.

use std::io::Write;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use tenancy::migrate::{self, MigrationReport, TENANT_MIGRATIONS};
use tenancy::{ShardId, Slug, Tenancy, TenantKind, TenantStatus, provision};

use crate::config::Config;
use crate::embedded_pg::EmbeddedPostgres;

#[derive(Parser, Debug)]
#[command(
    name = "swiftacare",
    version,
    about = "Swiftacare: multi-tenant mental-health care platform"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server (migrates first; with --demo, seeds the demo tenant once).
    Serve {
        /// Create the demo institution if it does not exist, and print its sign-ins.
        #[arg(long)]
        demo: bool,
        /// Skip migrations at start-up (when a separate `migrate` step runs them).
        #[arg(long)]
        no_migrate: bool,
    },
    /// Migrate the control schema, then every tenant schema; prints a per-tenant summary.
    Migrate,
    /// Run jobs (reminders, …) over RabbitMQ: relay the outbox and consume (needs
    /// SWIFTACARE_AMQP_URL; without it `serve` runs the jobs itself).
    Worker,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Create the demo institution (departments, providers, staff, clients) and print sign-ins.
    Demo,
    /// Print the OpenAPI spec (the same as openapi/swiftacare.json).
    Openapi,
    /// Platform operators (who create and suspend tenants).
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Audit-log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum OperatorCommand {
    /// Create an operator and print a generated password once.
    Create {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Walk a tenant's hash chain and name the first broken row (exit status 1 if broken).
    Verify {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KindArg {
    Government,
    Hospital,
    Corporate,
    Clinic,
    Practice,
}

impl From<KindArg> for TenantKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Government => TenantKind::Government,
            KindArg::Hospital => TenantKind::Hospital,
            KindArg::Corporate => TenantKind::Corporate,
            KindArg::Clinic => TenantKind::Clinic,
            KindArg::Practice => TenantKind::Practice,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Register a tenant, create and migrate its schema, create its first institution admin,
    /// and print a one-time set-up link.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        kind: KindArg,
        #[arg(long)]
        admin_email: String,
        #[arg(long, default_value = "Institution")]
        admin_given_name: String,
        #[arg(long, default_value = "Administrator")]
        admin_family_name: String,
        /// Shard (PostgreSQL cluster) to place the tenant on.
        #[arg(long, default_value = ShardId::PRIMARY)]
        shard: String,
    },
    /// List tenants with their status and schema version.
    List,
    /// Suspend a tenant: its requests get 403 within the tenant cache TTL.
    Suspend { slug: String },
    /// Reinstate a suspended tenant.
    Activate { slug: String },
}

/// The database the command talks to: configured, or the embedded cluster (kept running
/// for the command's lifetime and stopped on drop when this process started it).
pub struct Database {
    pub url: String,
    pub embedded: Option<EmbeddedPostgres>,
}

pub async fn database(config: &Config) -> anyhow::Result<Database> {
    match &config.database_url {
        Some(url) => Ok(Database {
            url: url.clone(),
            embedded: None,
        }),
        None => {
            let pg = EmbeddedPostgres::start(&config.data_dir.join("pg"))
                .await
                .context(
                    "starting the embedded PostgreSQL (set DATABASE_URL to use an existing server)",
                )?;
            Ok(Database {
                url: pg.database_url(),
                embedded: Some(pg),
            })
        }
    }
}

pub fn parse_slug(raw: &str) -> anyhow::Result<Slug> {
    Slug::parse(raw).map_err(|e| anyhow::anyhow!("--slug {raw:?}: {e}"))
}

pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    if let Command::Openapi = cli.command {
        print!("{}", crate::openapi::spec_json());
        return Ok(());
    }
    let db = database(&config).await?;
    let tenancy = Tenancy::new(config.tenancy_options(&db.url))?;
    let result = run_with(cli.command, &config, &tenancy).await;
    if let Some(pg) = &db.embedded {
        pg.stop().await.ok();
    }
    result
}

async fn run_with(command: Command, config: &Config, tenancy: &Tenancy) -> anyhow::Result<()> {
    match command {
        Command::Openapi => Ok(()),
        Command::Serve { demo, no_migrate } => {
            if !no_migrate {
                let report =
                    migrate::migrate_all(tenancy, TENANT_MIGRATIONS, config.migrate_concurrency)
                        .await?;
                log_report(&report);
            }
            if demo {
                let seeded = crate::demo::ensure(tenancy, config).await?;
                print!("{seeded}");
            }
            crate::serve::serve(config, tenancy.clone()).await
        }
        Command::Worker => {
            let Some(url) = config.amqp_url.clone() else {
                bail!(
                    "SWIFTACARE_AMQP_URL is not set: without a broker, `swiftacare serve` runs the jobs itself"
                );
            };
            let mailer = std::sync::Arc::new(config.mailer()?);
            println!("Swiftacare worker: relaying the outbox to RabbitMQ and consuming jobs.");
            let sms = crate::jobs::sms::WebhookSms::new(
                std::sync::Arc::new(config.token_signer()?),
                config.sms_allow_private,
            );
            let runner = crate::jobs::Runner::new(tenancy.clone(), mailer)
                .with_sms(std::sync::Arc::new(sms))
                .with_concurrency(config.job_concurrency);
            // Its own /metrics and /healthz on SWIFTACARE_ADDR (give a worker beside `serve`
            // another address).
            let handle = crate::telemetry::metrics_handle();
            let probe = poem::Route::new()
                .at(
                    "/metrics",
                    poem::endpoint::make_sync(move |_| handle.render()),
                )
                .at(
                    "/healthz",
                    poem::endpoint::make_sync(|_| r#"{"status":"ok"}"#),
                );
            let listener = poem::listener::TcpListener::bind(config.addr);
            println!("Worker metrics at http://{}/metrics", config.addr);
            tokio::select! {
                () = crate::jobs::amqp::run_worker(runner, url) => Ok(()),
                r = poem::Server::new(listener).run(probe) => r.map_err(Into::into),
                _ = tokio::signal::ctrl_c() => Ok(()),
            }
        }
        Command::Migrate => {
            let report =
                migrate::migrate_all(tenancy, TENANT_MIGRATIONS, config.migrate_concurrency)
                    .await?;
            print_report(&report);
            let failed = report.failed().count();
            if failed > 0 {
                bail!(
                    "{failed} tenant(s) failed to migrate; fix the cause and rerun `swiftacare migrate`"
                );
            }
            Ok(())
        }
        Command::Tenant { command } => tenant_command(command, config, tenancy).await,
        Command::Operator {
            command: OperatorCommand::Create { email },
        } => {
            migrate::migrate_control(tenancy).await?;
            let password = crate::demo::generated_password();
            domain::platform::create_operator(tenancy, &email, &password)
                .await
                .map_err(|e| anyhow::anyhow!("creating the operator: {e}"))?;
            println!("Created platform operator {email}.");
            println!("Password (shown once): {password}");
            println!(
                "Sign in with POST {}/platform/v1/auth/login (docs: {}/platform/docs).",
                config.public_url(),
                config.public_url()
            );
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { tenant },
        } => {
            let slug = parse_slug(&tenant)?;
            let t = tenancy
                .resolve(&slug)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no tenant with slug {slug}"))?;
            let report = domain::audit::service::verify_tenant(tenancy, &t)
                .await
                .map_err(|e| anyhow::anyhow!("reading the audit log: {e}"))?;
            match report.first_broken {
                None => {
                    println!(
                        "audit chain of {slug} intact: {} entries verified",
                        report.rows_checked
                    );
                    Ok(())
                }
                Some((seq, why)) => {
                    println!(
                        "audit chain of {slug} BROKEN at entry seq={seq}: {why} ({} entries before it verified)",
                        report.rows_checked
                    );
                    bail!("the audit chain of {slug} is broken at seq {seq}")
                }
            }
        }
        Command::Demo => {
            migrate::migrate_control(tenancy).await?;
            let seeded = crate::demo::ensure(tenancy, config).await?;
            print!("{seeded}");
            Ok(())
        }
    }
}

async fn tenant_command(
    command: TenantCommand,
    config: &Config,
    tenancy: &Tenancy,
) -> anyhow::Result<()> {
    migrate::migrate_control(tenancy).await?;
    match command {
        TenantCommand::Create {
            slug,
            name,
            kind,
            admin_email,
            admin_given_name,
            admin_family_name,
            shard,
        } => {
            let slug = parse_slug(&slug)?;
            let shard = ShardId::parse(&shard)
                .ok_or_else(|| anyhow::anyhow!("--shard {shard:?} is not a shard name"))?;
            let admin = crate::demo::person_name(&admin_given_name, &admin_family_name)?;
            let record = provision::create(tenancy, &slug, &name, kind.into(), &shard).await?;
            let issued = domain::identity::service::create_first_admin(
                tenancy,
                &record.tenant,
                &admin_email,
                admin,
            )
            .await
            .map_err(|e| anyhow::anyhow!("creating the first administrator: {e}"))?;
            provision::activate(tenancy, &slug).await?;
            let base = config.public_url();
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "Created tenant {slug} ({}) in schema {} on shard {}.",
                record.tenant.kind, record.tenant.schema, record.tenant.shard
            )?;
            writeln!(out)?;
            writeln!(
                out,
                "One-time set-up secret for the first administrator (valid until {}):",
                issued.expires_at.to_rfc3339()
            )?;
            writeln!(out, "  {}", issued.token)?;
            writeln!(
                out,
                "Set-up link: {base}/setup?tenant={slug}#token={}",
                issued.token
            )?;
            writeln!(out)?;
            writeln!(out, "Or complete set-up with the API:")?;
            writeln!(
                out,
                "  curl -X POST {base}/api/v1/auth/setup -H 'X-Tenant: {slug}' -H 'Content-Type: application/json' \\\n    -d '{{\"token\":\"{}\",\"password\":\"<at least 12 characters>\"}}'",
                issued.token
            )?;
            Ok(())
        }
        TenantCommand::List => {
            let tenants = provision::list(tenancy).await?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<24} {:<11} {:<13} {:<10} {:<8} {:<20} NAME",
                "SLUG", "KIND", "STATUS", "SCHEMA", "SHARD", "SCHEMA VERSION"
            )?;
            for t in tenants {
                writeln!(
                    out,
                    "{:<24} {:<11} {:<13} {:<10} {:<8} {:<20} {}",
                    t.tenant.slug.as_str(),
                    t.tenant.kind.as_str(),
                    t.tenant.status.as_str(),
                    t.tenant.schema.as_str(),
                    t.tenant.shard.as_str(),
                    t.schema_version.as_deref().unwrap_or("-"),
                    t.tenant.name
                )?;
            }
            Ok(())
        }
        TenantCommand::Suspend { slug } => {
            provision::set_status(tenancy, &parse_slug(&slug)?, TenantStatus::Suspended).await?;
            println!(
                "Suspended {slug}; its API requests answer 403 within {}s.",
                config.tenant_cache_ttl.as_secs()
            );
            Ok(())
        }
        TenantCommand::Activate { slug } => {
            provision::set_status(tenancy, &parse_slug(&slug)?, TenantStatus::Active).await?;
            println!("Activated {slug}.");
            Ok(())
        }
    }
}

fn log_report(report: &MigrationReport) {
    tracing::info!(
        control_applied = report.control_applied.len(),
        tenants_migrated = report.tenants.len(),
        tenants_up_to_date = report.up_to_date,
        tenants_failed = report.failed().count(),
        "migrations done"
    );
}

pub fn print_report(report: &MigrationReport) {
    println!(
        "control: {} migration(s) applied",
        report.control_applied.len()
    );
    println!(
        "tenants: latest version {}; {} already up to date",
        report.latest_tenant_version, report.up_to_date
    );
    for t in &report.tenants {
        match &t.error {
            None => println!(
                "  ok      {:<24} {:<10} {} -> {} ({} applied, {} ms)",
                t.slug,
                t.schema,
                t.from_version.as_deref().unwrap_or("new"),
                t.applied
                    .last()
                    .map(String::as_str)
                    .or(t.from_version.as_deref())
                    .unwrap_or("-"),
                t.applied.len(),
                t.millis
            ),
            Some(e) => println!("  FAILED  {:<24} {:<10} {e}", t.slug, t.schema),
        }
    }
    let failed = report.failed().count();
    println!(
        "summary: {} migrated, {} failed, {} up to date",
        report.tenants.len() - failed,
        failed,
        report.up_to_date
    );
}
