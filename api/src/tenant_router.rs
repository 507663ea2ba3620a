//! The tenant router: resolves every `/api/v1` request to exactly one tenant, from the
//! `X-Tenant` header or the `<slug>.<SWIFTACARE_BASE_DOMAIN>` host, before any handler runs.
//!
//! * malformed slug, no tenant named, or header and host disagree → 400
//! * unknown (or still provisioning) → 404
//! * suspended → 403
//! * registry unreachable → 503
//!
//! The resolved [`tenancy::TenantRef`] goes into the request's extensions; handlers take it
//! with `Data<&TenantRef>` and hand it to the domain, which enters the schema via `Tenancy::tx`.

use poem::{Endpoint, Middleware, Request};
use tenancy::{Slug, TenantRef, TenantStatus};

use crate::app::AppState;
use crate::problem::ApiError;

pub struct TenantRouter {
    state: AppState,
}

impl TenantRouter {
    pub fn new(state: AppState) -> Self {
        TenantRouter { state }
    }
}

impl<E: Endpoint> Middleware<E> for TenantRouter {
    type Output = TenantRouterEndpoint<E>;
    fn transform(&self, ep: E) -> Self::Output {
        TenantRouterEndpoint {
            inner: ep,
            state: self.state.clone(),
        }
    }
}

pub struct TenantRouterEndpoint<E> {
    inner: E,
    state: AppState,
}

/// The slug the request names, from the header and/or the host.
pub fn named_slug(req: &Request, base_domain: Option<&str>) -> Result<Slug, ApiError> {
    let header = req.header("x-tenant").map(str::trim);
    let from_host = base_domain.and_then(|base| {
        let host = req.header("host")?.split(':').next()?.to_ascii_lowercase();
        let sub = host.strip_suffix(base)?.strip_suffix('.')?;
        (!sub.is_empty() && !sub.contains('.')).then(|| sub.to_owned())
    });
    let raw = match (header, from_host.as_deref()) {
        (Some(h), Some(host)) if h != host => {
            return Err(ApiError::bad_request(
                "tenant-mismatch",
                "the X-Tenant header and the host name different tenants",
            ));
        }
        (Some(h), _) => h,
        (None, Some(host)) => host,
        (None, None) => {
            return Err(ApiError::bad_request(
                "tenant-required",
                "name the tenant with the X-Tenant header (or use the <tenant>.<domain> host)",
            ));
        }
    };
    Slug::parse(raw).map_err(|e| ApiError::bad_request("invalid-tenant", format!("X-Tenant: {e}")))
}

impl<E: Endpoint> Endpoint for TenantRouterEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        let slug = match named_slug(&req, self.state.base_domain.as_deref()) {
            Ok(s) => s,
            // A browser coming back from an identity provider names no tenant; the connection
            // id in the path does.
            Err(e) => match sso_connection_in(req.uri().path()) {
                Some(id) => {
                    match domain::sso::connections::tenant_slug_of(&self.state.tenancy, id).await {
                        Ok(Some(s)) => Slug::parse(&s).map_err(|_| e)?,
                        Ok(None) => return Err(ApiError::not_found("no such tenant").into()),
                        Err(domain::DomainError::Unavailable(_)) => {
                            return Err(ApiError::unavailable().into());
                        }
                        Err(other) => return Err(ApiError::internal(&other).into()),
                    }
                }
                None => return Err(e.into()),
            },
        };
        let tenant: TenantRef = match self.state.tenancy.resolve(&slug).await {
            Ok(Some(t)) if t.status == TenantStatus::Active => t,
            Ok(Some(t)) if t.status == TenantStatus::Suspended => {
                return Err(ApiError::forbidden(
                    "tenant-suspended",
                    "this organisation's account is suspended; contact your administrator",
                )
                .into());
            }
            Ok(_) => return Err(ApiError::not_found("no such tenant").into()),
            Err(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "tenant registry unavailable");
                return Err(ApiError::unavailable().into());
            }
            Err(e) => return Err(ApiError::internal(&e).into()),
        };
        tracing::Span::current().record("tenant_id", tenant.id);
        req.extensions_mut().insert(tenant);
        self.inner.call(req).await
    }
}

/// `…/auth/sso/<uuid>/(start|callback|metadata|acs)` → the connection id.
fn sso_connection_in(path: &str) -> Option<uuid::Uuid> {
    let rest = path.split("/auth/sso/").nth(1)?;
    let (id, tail) = rest.split_once('/')?;
    matches!(tail, "start" | "callback" | "metadata" | "acs")
        .then(|| id.parse().ok())
        .flatten()
}
