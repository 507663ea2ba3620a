//! Enterprise SSO per tenant: connections to the organisation's identity providers (OIDC or
//! SAML 2.0), home-realm discovery, just-in-time provisioning with group → role mapping, and
//! SCIM 2.0 provisioning. See `docs/SSO.md`.
//!
//! * [`connections`] — the tenant admin's configuration (control plane, secrets sealed) and
//!   home-realm discovery.
//! * [`oidc`] — OpenID Connect sign-in with the `openidconnect` crate.
//! * [`saml`] — SAML 2.0 service provider with `samael` (xmlsec signature verification).
//! * [`signin`] — what both protocols share: pending state, JIT provisioning, role mapping, the
//!   hand-off code that the web app exchanges for a session, and the audit of every outcome.
//! * [`scim`] — SCIM 2.0 users and groups for one connection.

pub mod connections;
pub mod model;
pub mod oidc;
pub mod saml;
pub mod scim;
pub mod signin;

pub use model::*;

use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use crate::error::DomainResult;
use crate::identity::mfa::Sealer;

/// Where the browser goes to sign in with this connection (the IdP's authorization or SSO URL).
pub async fn start(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    sealer: &Sealer,
    public_url: &str,
    connection_id: Uuid,
) -> DomainResult<String> {
    let loaded = connections::load(tenancy, tenant, sealer, connection_id).await?;
    match loaded.connection.protocol {
        Protocol::Oidc => oidc::start(tenancy, sealer, public_url, &loaded).await,
        Protocol::Saml => saml::start(tenancy, public_url, &loaded).await,
    }
}
