//! The HTTP application: shared state, the route table, and the OpenAPI service.

use std::path::PathBuf;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use poem::middleware::CatchPanic;
use poem::web::Data;
use poem::{EndpointExt, IntoEndpoint, Response, Route, get, handler};
use poem_openapi::OpenApiService;
use tenancy::Tenancy;

use crate::http;
use crate::problem::{ApiError, render_poem_error};
use crate::telemetry::{RequestTelemetry, RouteLabel};
use crate::tenant_router::TenantRouter;

/// Everything a request may need; cloned cheaply into each request's extensions.
#[derive(Clone)]
pub struct AppState {
    pub tenancy: Tenancy,
    pub base_domain: Option<String>,
    pub metrics: PrometheusHandle,
    pub public_url: String,
    pub mailer: Arc<crate::mail::Mailer>,
    pub throttle: Arc<crate::throttle::Throttle>,
    pub signer: Arc<domain::identity::tokens::TokenSigner>,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

pub const API_PREFIX: &str = "/api/v1";

pub fn api_service(server_url: &str) -> OpenApiService<http::Api, ()> {
    OpenApiService::new(http::api(), "Swiftacare API", env!("CARGO_PKG_VERSION"))
        .description(
            "Multi-tenant mental-health care platform. Every operation runs inside one tenant, \
             named by the `X-Tenant` header (or the `<slug>.<base domain>` host). Errors are \
             RFC 9457 problem+json.",
        )
        .server(server_url)
}

/// Builds the whole endpoint: API under `/api/v1` behind the tenant router, health, metrics,
/// the spec and its docs, and (when configured) the web app at `/`.
pub fn build(
    state: AppState,
    max_body_bytes: usize,
    web_dir: Option<PathBuf>,
) -> impl poem::Endpoint {
    let api = api_service(API_PREFIX);
    let spec = Arc::new(crate::openapi::spec_json());
    let docs = api.swagger_ui();
    let mut route = Route::new()
        .nest(
            API_PREFIX,
            api.with(TenantRouter::new(state.clone()))
                .with(crate::diagnose::JsonDiagnostics),
        )
        .nest(crate::scim::SCIM_PREFIX, crate::scim::routes())
        .at("/healthz", get(healthz))
        .at("/readyz", get(readyz))
        .at("/metrics", get(metrics_endpoint))
        .at("/openapi.json", get(openapi_json).data(spec))
        .nest("/docs", docs.with_data(RouteLabel("docs")))
        .nest(
            crate::platform::PLATFORM_PREFIX,
            crate::platform::platform_service().with(crate::diagnose::JsonDiagnostics),
        )
        .nest(
            "/platform/docs",
            crate::platform::platform_service()
                .swagger_ui()
                .with_data(RouteLabel("docs")),
        )
        .at("/platform/openapi.json", get(platform_openapi_json))
        .at("/ical/:tenant/:file", get(crate::ical::feed));
    if let Some(web) = web_dir.as_deref().and_then(crate::web::WebApp::open) {
        route = route.nest("/", web);
    } else {
        route = route.at("/", get(root));
    }
    route
        // A bulk scheduling upload holds up to 10,000 rows, more than the general limit.
        .with(crate::body_limit::BodyLimit::new(max_body_bytes).allowing(
            poem::http::Method::POST,
            "/bulk-batches",
            crate::body_limit::UPLOAD_MAX,
        ))
        .with(CatchPanic::new().with_handler(|_| {
            let e: poem::Error = ApiError::internal(&"handler panicked").into();
            render_poem_error(e)
        }))
        .catch_all_error(|e| async move {
            // Keep the operation id for the metrics' route label.
            let op = e.data::<poem_openapi::OperationId>().map(|o| o.0);
            let mut resp = render_poem_error(e);
            if let Some(op) = op {
                resp.set_data(poem_openapi::OperationId(op));
            }
            resp
        })
        .data(state)
        .with(RequestTelemetry)
}

trait WithData: Sized {
    fn with_data(self, label: RouteLabel) -> poem::endpoint::BoxEndpoint<'static>;
}

impl<E: IntoEndpoint> WithData for E
where
    E::Endpoint: 'static,
{
    fn with_data(self, label: RouteLabel) -> poem::endpoint::BoxEndpoint<'static> {
        self.into_endpoint()
            .map_to_response()
            .after(move |r| async move {
                r.map(|mut resp| {
                    resp.set_data(label);
                    resp
                })
            })
            .boxed()
    }
}

fn labelled(label: &'static str, resp: Response) -> Response {
    let mut resp = resp;
    resp.set_data(RouteLabel(label));
    resp
}

/// Process is up.
#[handler]
fn healthz() -> Response {
    labelled(
        "healthz",
        Response::builder()
            .content_type("application/json")
            .body(r#"{"status":"ok"}"#),
    )
}

/// Every shard answers `SELECT 1`.
#[handler]
async fn readyz(state: Data<&AppState>) -> Response {
    let resp = match state.tenancy.ping().await {
        Ok(()) => Response::builder()
            .content_type("application/json")
            .body(r#"{"status":"ready"}"#),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            Response::builder()
                .status(poem::http::StatusCode::SERVICE_UNAVAILABLE)
                .header("Retry-After", "2")
                .content_type("application/json")
                .body(r#"{"status":"unavailable","reason":"database unreachable"}"#)
        }
    };
    labelled("readyz", resp)
}

#[handler]
fn metrics_endpoint(state: Data<&AppState>) -> Response {
    for (shard, size, available, waiting) in state.tenancy.pool_status() {
        let labels = [("shard", shard)];
        metrics::gauge!("swiftacare_db_pool_connections", &labels).set(size as f64);
        metrics::gauge!("swiftacare_db_pool_idle_connections", &labels).set(available as f64);
        metrics::gauge!("swiftacare_db_pool_waiting_requests", &labels).set(waiting as f64);
    }
    labelled(
        "metrics",
        Response::builder()
            .content_type("text/plain; version=0.0.4")
            .body(state.metrics.render()),
    )
}

#[handler]
fn platform_openapi_json() -> Response {
    labelled(
        "openapi",
        Response::builder()
            .content_type("application/json")
            .body(crate::openapi::platform_spec_json()),
    )
}

#[handler]
fn openapi_json(spec: Data<&Arc<String>>) -> Response {
    labelled(
        "openapi",
        Response::builder()
            .content_type("application/json")
            .body(spec.as_str().to_owned()),
    )
}

#[handler]
fn root(state: Data<&AppState>) -> Response {
    let body = format!(
        "Swiftacare API is running.\n\nAPI docs:   {0}/docs\nOpenAPI:    {0}/openapi.json\nReadiness:  {0}/readyz\n\n\
         The web app is not built; see README.md.\n",
        state.public_url
    );
    labelled(
        "root",
        Response::builder()
            .content_type("text/plain; charset=utf-8")
            .body(body),
    )
}
