//! Logs, metrics and the per-request middleware.
//!
//! * Logs: JSON lines via `tracing` (ready for Loki). Each request runs in a span carrying the
//!   request id, tenant id (numeric, not the slug) and — once authenticated — the account id.
//!   Never names, emails, tokens, IPs, paths with ids, or health data (docs/LOGGING.md).
//! * Metrics: `metrics-exporter-prometheus`. Labels are the operation id (route), method and
//!   status — never the tenant (cardinality) nor anything from the path.

use std::sync::OnceLock;
use std::time::Instant;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use tracing::Instrument;

use crate::config::{Config, LogFormat};
use crate::problem::REQUEST_ID;

pub fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the global Prometheus recorder once per process and returns its handle.
pub fn metrics_handle() -> PrometheusHandle {
    PROMETHEUS
        .get_or_init(|| {
            let buckets = [
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("swiftacare_http_request_duration_seconds".into()),
                    &buckets,
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is installed (only possible in tests): keep a detached one.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// The route label for a request: the OpenAPI operation id, or a fixed name.
#[derive(Clone, Copy, Debug)]
pub struct RouteLabel(pub &'static str);

/// Request id, span, access log line and metrics for every request.
pub struct RequestTelemetry;

impl<E: Endpoint> Middleware<E> for RequestTelemetry {
    type Output = RequestTelemetryEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        RequestTelemetryEndpoint(ep)
    }
}

pub struct RequestTelemetryEndpoint<E>(E);

/// Accepts a caller's `X-Request-Id` only if it is short and plain (it is echoed and logged).
fn request_id(req: &Request) -> String {
    req.header("x-request-id")
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

impl<E: Endpoint> Endpoint for RequestTelemetryEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let id = request_id(&req);
        let method = req.method().as_str().to_owned();
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            method = %method,
            tenant_id = tracing::field::Empty,
            account_id = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = REQUEST_ID
            .scope(id.clone(), self.0.call(req).instrument(span.clone()))
            .await;
        let mut error_route = None;
        let mut resp = match result {
            Ok(r) => r.into_response(),
            Err(e) => {
                error_route = e.data::<poem_openapi::OperationId>().map(|o| o.0);
                REQUEST_ID
                    .scope(
                        id.clone(),
                        async move { crate::problem::render_poem_error(e) },
                    )
                    .await
            }
        };
        let route = resp
            .data::<poem_openapi::OperationId>()
            .map(|o| o.0)
            .or(error_route)
            .or_else(|| resp.data::<RouteLabel>().map(|r| r.0))
            .unwrap_or("unmatched");
        let status = resp.status().as_u16();
        let elapsed = started.elapsed().as_secs_f64();
        let labels = [
            ("route", route.to_owned()),
            ("method", method.clone()),
            ("status", status.to_string()),
        ];
        metrics::counter!("swiftacare_http_requests_total", &labels).increment(1);
        metrics::histogram!("swiftacare_http_request_duration_seconds", &labels).record(elapsed);
        if let Ok(v) = poem::http::HeaderValue::from_str(&id) {
            resp.headers_mut().insert("x-request-id", v);
        }
        span.in_scope(|| {
            if status >= 500 {
                tracing::error!(
                    route,
                    status,
                    duration_ms = elapsed * 1000.0,
                    "request failed"
                );
            } else {
                tracing::info!(route, status, duration_ms = elapsed * 1000.0, "request");
            }
        });
        Ok(resp)
    }
}
