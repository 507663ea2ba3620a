//! `swiftacare serve`: the HTTP server with graceful shutdown on SIGINT / SIGTERM.

use poem::Server;
use poem::listener::TcpListener;
use tenancy::Tenancy;

use crate::app::{self, AppState};
use crate::config::Config;

pub async fn serve(config: &Config, tenancy: Tenancy) -> anyhow::Result<()> {
    let state = AppState {
        tenancy,
        base_domain: config.base_domain.clone(),
        metrics: crate::telemetry::metrics_handle(),
        public_url: config.public_url(),
        mailer: std::sync::Arc::new(config.mailer()?),
        throttle: std::sync::Arc::new(config.throttle()?),
        signer: std::sync::Arc::new(config.token_signer()?),
        trust_forwarded_for: config.trust_forwarded_for,
    };
    let web_dir = config.web_dir.clone().or_else(|| {
        let built = std::path::PathBuf::from("web/out");
        built.join("index.html").exists().then_some(built)
    });
    // Without a broker, this process runs the job outbox itself (`swiftacare worker` does it
    // over RabbitMQ when SWIFTACARE_AMQP_URL is set).
    let sms = crate::jobs::sms::WebhookSms::new(state.signer.clone(), config.sms_allow_private);
    let embedded_jobs = config.amqp_url.is_none().then(|| {
        tracing::info!("no SWIFTACARE_AMQP_URL: running jobs from the outbox in this process");
        tokio::spawn(
            crate::jobs::Runner::new(state.tenancy.clone(), state.mailer.clone())
                .with_sms(std::sync::Arc::new(sms))
                .with_concurrency(config.job_concurrency)
                .run_embedded(),
        )
    });
    let endpoint = app::build(state, config.max_body_bytes, web_dir);
    let listener = TcpListener::bind(config.addr);
    println!(
        "Swiftacare is listening on {}  (API docs: {}/docs)",
        config.addr,
        config.public_url()
    );
    tracing::info!(addr = %config.addr, "listening");
    Server::new(listener)
        .run_with_graceful_shutdown(
            endpoint,
            shutdown_signal(),
            Some(std::time::Duration::from_secs(10)),
        )
        .await?;
    if let Some(j) = embedded_jobs {
        j.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
