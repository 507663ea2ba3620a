//! Enterprise SSO: the institution admin's connections (OIDC or SAML), home-realm discovery,
//! and the browser endpoints of a sign-in (start, OIDC callback, SAML metadata and ACS, the
//! hand-off exchange). See `docs/SSO.md`.
//!
//! The browser endpoints name the connection in the path; a browser coming back from an IdP
//! sends no `X-Tenant`, so the tenant router finds the tenant from the connection id.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Form, Json, PlainText};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Deserialize;
use tenancy::TenantRef;
use uuid::Uuid;

use domain::sso::{self, GroupMapping, NewConnection, NewProtocol, Realm, SsoConnection};

use super::Tag;
use super::auth::{NoContent, SessionCreated};
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::{ApiError, ApiResult, current_request_id};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum SsoProtocol {
    Oidc,
    Saml,
}

impl From<sso::Protocol> for SsoProtocol {
    fn from(p: sso::Protocol) -> Self {
        match p {
            sso::Protocol::Oidc => SsoProtocol::Oidc,
            sso::Protocol::Saml => SsoProtocol::Saml,
        }
    }
}

/// IdP group → Swiftacare role (and department).
#[derive(Object, Clone)]
pub struct SsoGroupMapping {
    /// The group name as the IdP sends it (`groups` claim or attribute), case-insensitive.
    #[oai(validator(max_length = 256))]
    pub group: String,
    /// institution_admin, sub_admin, provider, staff or client.
    #[oai(validator(max_length = 64))]
    pub role: String,
    /// The person's directory department; for sub_admin, the subtree they administer.
    pub department_id: Option<Uuid>,
}

#[derive(Object)]
pub struct OidcSettings {
    /// The issuer; discovery is read from `<issuer>/.well-known/openid-configuration`.
    #[oai(validator(max_length = 2048))]
    pub issuer: String,
    #[oai(validator(max_length = 256))]
    pub client_id: String,
    /// Stored encrypted; never returned.
    #[oai(validator(max_length = 1024))]
    pub client_secret: String,
}

#[derive(Object)]
pub struct SamlSettings {
    /// The IdP's metadata XML (upload) …
    #[oai(validator(max_length = 1000000))]
    pub metadata_xml: Option<String>,
    /// … or its URL, fetched once now.
    #[oai(validator(max_length = 2048))]
    pub metadata_url: Option<String>,
}

#[derive(Object)]
pub struct CreateSsoConnection {
    #[oai(validator(max_length = 1000))]
    pub name: String,
    pub protocol: SsoProtocol,
    /// Required when protocol is `oidc`.
    pub oidc: Option<OidcSettings>,
    /// Required when protocol is `saml`.
    pub saml: Option<SamlSettings>,
    /// Email domains whose people sign in through this connection (home-realm discovery).
    #[oai(default, validator(max_items = 100))]
    pub domains: Vec<String>,
    /// Whether people of these domains may still sign in with a password (default true).
    #[oai(default = "default_true")]
    pub password_login_allowed: bool,
    #[oai(default, validator(max_items = 200))]
    pub group_mappings: Vec<SsoGroupMapping>,
}

fn default_true() -> bool {
    true
}

/// A connection, without its secrets; the URLs are what the IdP administrator needs.
#[derive(Object)]
pub struct SsoConnectionView {
    pub id: Uuid,
    pub name: String,
    pub protocol: SsoProtocol,
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub saml_metadata_url: Option<String>,
    pub domains: Vec<String>,
    pub password_login_allowed: bool,
    pub group_mappings: Vec<SsoGroupMapping>,
    /// Whether a SCIM token has been issued.
    pub scim_enabled: bool,
    /// Where a browser starts signing in.
    pub start_url: String,
    /// OIDC redirect URI to register at the IdP.
    pub oidc_redirect_uri: Option<String>,
    /// SAML SP entity id (also the SP metadata URL).
    pub saml_entity_id: Option<String>,
    /// SAML assertion consumer service (HTTP-POST).
    pub saml_acs_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn view(c: SsoConnection, public_url: &str) -> SsoConnectionView {
    let e = sso::Endpoints::new(public_url, c.id);
    let saml = c.protocol == sso::Protocol::Saml;
    SsoConnectionView {
        id: c.id,
        name: c.name,
        protocol: c.protocol.into(),
        oidc_issuer: c.oidc_issuer,
        oidc_client_id: c.oidc_client_id,
        saml_metadata_url: c.saml_metadata_url,
        domains: c.domains,
        password_login_allowed: c.password_login_allowed,
        group_mappings: c
            .mappings
            .into_iter()
            .map(|m| SsoGroupMapping {
                group: m.group,
                role: m.role,
                department_id: m.department_id,
            })
            .collect(),
        scim_enabled: c.scim_enabled,
        start_url: e.start,
        oidc_redirect_uri: (!saml).then_some(e.oidc_callback),
        saml_entity_id: saml.then(|| e.saml_entity_id.clone()),
        saml_acs_url: saml.then_some(e.saml_acs),
        created_at: c.created_at,
    }
}

#[derive(Object)]
pub struct SsoConnectionList {
    pub items: Vec<SsoConnectionView>,
}

#[derive(ApiResponse)]
pub enum SsoConnectionCreated {
    #[oai(status = 201)]
    Created(Json<SsoConnectionView>, #[oai(header = "Location")] String),
}

#[derive(Object)]
pub struct ScimToken {
    /// Shown once: the bearer token for `/scim/v2` (replaces any earlier one).
    pub token: String,
    /// The SCIM base URL to give the IdP.
    pub base_url: String,
}

#[derive(Object)]
pub struct DiscoverRequest {
    #[oai(validator(max_length = 320))]
    pub email: String,
}

#[derive(Enum, Clone, Copy)]
#[oai(rename_all = "snake_case")]
pub enum SignInMethod {
    Password,
    Sso,
}

/// How to sign in with this email.
#[derive(Object)]
pub struct DiscoverResponse {
    pub method: SignInMethod,
    pub connection_id: Option<Uuid>,
    pub protocol: Option<SsoProtocol>,
    /// Send the browser here to sign in with the organisation's IdP.
    pub start_url: Option<String>,
    /// Whether the password form may still be offered.
    pub password_login_allowed: bool,
}

#[derive(ApiResponse)]
pub enum Redirect {
    /// To the identity provider, or back to the web app with the hand-off code.
    #[oai(status = 302)]
    Found(#[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum SamlMetadata {
    /// The SP metadata (SAML 2.0).
    #[oai(status = 200, content_type = "application/samlmetadata+xml")]
    Ok(PlainText<String>),
}

#[derive(Object, Deserialize)]
pub struct AcsForm {
    #[oai(rename = "SAMLResponse", validator(max_length = 1000000))]
    #[serde(rename = "SAMLResponse")]
    pub saml_response: String,
    #[oai(rename = "RelayState", validator(max_length = 256))]
    #[serde(rename = "RelayState")]
    pub relay_state: Option<String>,
}

#[derive(Object)]
pub struct ExchangeRequest {
    /// The `code` from the fragment of `/sso/complete#tenant=…&code=…`.
    #[oai(validator(max_length = 256))]
    pub code: String,
}

/// Where the browser lands after a successful SSO sign-in: the web app's page, with the tenant
/// and a single-use code (60 s) in the fragment, which never reaches a server log.
fn web_landing(state: &AppState, tenant: &TenantRef, code: &str) -> String {
    format!(
        "{}/sso/complete#tenant={}&code={code}",
        state.public_url.trim_end_matches('/'),
        tenant.slug
    )
}

pub struct SsoApi;

#[OpenApi(tag = "Tag::Sso")]
impl SsoApi {
    /// Create an SSO connection
    ///
    /// Institution admins only. OIDC needs issuer, client id and secret; SAML the IdP's metadata
    /// (XML or URL). Register the returned redirect URI (OIDC) or import the SP metadata (SAML)
    /// at the IdP.
    #[oai(
        path = "/sso/connections",
        method = "post",
        operation_id = "createSsoConnection"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        b: Json<CreateSsoConnection>,
    ) -> ApiResult<SsoConnectionCreated> {
        let b = b.0;
        let protocol = match b.protocol {
            SsoProtocol::Oidc => {
                let o = b.oidc.ok_or_else(|| {
                    ApiError::invalid_field("/oidc", "is required when protocol is oidc")
                })?;
                NewProtocol::Oidc {
                    issuer: o.issuer,
                    client_id: o.client_id,
                    client_secret: o.client_secret,
                }
            }
            SsoProtocol::Saml => {
                let s = b.saml.ok_or_else(|| {
                    ApiError::invalid_field("/saml", "is required when protocol is saml")
                })?;
                NewProtocol::Saml {
                    metadata_xml: s.metadata_xml,
                    metadata_url: s.metadata_url,
                }
            }
        };
        let new = NewConnection {
            name: b.name,
            protocol,
            domains: b.domains,
            password_login_allowed: b.password_login_allowed,
            mappings: b
                .group_mappings
                .into_iter()
                .map(|m| GroupMapping {
                    group: m.group,
                    role: m.role,
                    department_id: m.department_id,
                })
                .collect(),
        };
        let c = sso::connections::create(
            &state.tenancy,
            &tenant,
            state.signer.sealer(),
            &auth.0.principal,
            new,
        )
        .await?;
        let location = format!("/api/v1/sso/connections/{}", c.id);
        Ok(SsoConnectionCreated::Created(
            Json(view(c, &state.public_url)),
            location,
        ))
    }

    /// List SSO connections
    #[oai(
        path = "/sso/connections",
        method = "get",
        operation_id = "listSsoConnections"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<Json<SsoConnectionList>> {
        let items = sso::connections::list(&state.tenancy, &tenant, &auth.0.principal).await?;
        Ok(Json(SsoConnectionList {
            items: items
                .into_iter()
                .map(|c| view(c, &state.public_url))
                .collect(),
        }))
    }

    /// Get an SSO connection
    #[oai(
        path = "/sso/connections/:connection_id",
        method = "get",
        operation_id = "getSsoConnection"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        connection_id: Path<Uuid>,
    ) -> ApiResult<Json<SsoConnectionView>> {
        let c = sso::connections::get(&state.tenancy, &tenant, &auth.0.principal, connection_id.0)
            .await?;
        Ok(Json(view(c, &state.public_url)))
    }

    /// Delete an SSO connection
    #[oai(
        path = "/sso/connections/:connection_id",
        method = "delete",
        operation_id = "deleteSsoConnection"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        connection_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        sso::connections::delete(&state.tenancy, &tenant, &auth.0.principal, connection_id.0)
            .await?;
        Ok(NoContent::Done)
    }

    /// Issue a SCIM token for a connection
    ///
    /// Replaces the previous token. The IdP provisions users and groups at `/scim/v2` with it.
    #[oai(
        path = "/sso/connections/:connection_id/scim-token",
        method = "post",
        operation_id = "issueScimToken"
    )]
    async fn scim_token(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        connection_id: Path<Uuid>,
    ) -> ApiResult<Json<ScimToken>> {
        let token = sso::connections::rotate_scim_token(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            connection_id.0,
        )
        .await?;
        Ok(Json(ScimToken {
            token,
            base_url: format!("{}/scim/v2", state.public_url.trim_end_matches('/')),
        }))
    }

    /// Home-realm discovery
    ///
    /// Which way a person with this email signs in: password, or their organisation's IdP.
    #[oai(
        path = "/auth/sso/discover",
        method = "post",
        operation_id = "discoverSignIn"
    )]
    async fn discover(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        b: Json<DiscoverRequest>,
    ) -> ApiResult<Json<DiscoverResponse>> {
        let realm = sso::connections::discover(&state.tenancy, &tenant, &b.email).await?;
        Ok(Json(match realm {
            Realm::Password => DiscoverResponse {
                method: SignInMethod::Password,
                connection_id: None,
                protocol: None,
                start_url: None,
                password_login_allowed: true,
            },
            Realm::Sso {
                connection_id,
                protocol,
                password_login_allowed,
            } => DiscoverResponse {
                method: SignInMethod::Sso,
                connection_id: Some(connection_id),
                protocol: Some(protocol.into()),
                start_url: Some(sso::Endpoints::new(&state.public_url, connection_id).start),
                password_login_allowed,
            },
        }))
    }

    /// Start an SSO sign-in
    ///
    /// Redirects the browser to the organisation's IdP (OIDC authorization request with PKCE,
    /// state and nonce; or SAML AuthnRequest, HTTP-Redirect binding).
    #[oai(
        path = "/auth/sso/:connection_id/start",
        method = "get",
        operation_id = "startSsoSignIn"
    )]
    async fn start(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        connection_id: Path<Uuid>,
    ) -> ApiResult<Redirect> {
        let url = sso::start(
            &state.tenancy,
            &tenant,
            state.signer.sealer(),
            &state.public_url,
            connection_id.0,
        )
        .await?;
        Ok(Redirect::Found(url))
    }

    /// OIDC redirect URI
    ///
    /// The IdP sends the browser here with `code` and `state`; on success the browser goes on to
    /// the web app with a single-use hand-off code.
    #[oai(
        path = "/auth/sso/:connection_id/callback",
        method = "get",
        operation_id = "finishOidcSignIn"
    )]
    async fn callback(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        connection_id: Path<Uuid>,
        code: Query<Option<String>>,
        #[oai(name = "state")] oidc_state: Query<Option<String>>,
        error: Query<Option<String>>,
    ) -> ApiResult<Redirect> {
        let handoff = sso::oidc::callback(
            &state.tenancy,
            &tenant,
            state.signer.sealer(),
            &state.public_url,
            connection_id.0,
            code.0,
            oidc_state.0,
            error.0,
            current_request_id(),
        )
        .await?;
        Ok(Redirect::Found(web_landing(&state, &tenant, &handoff)))
    }

    /// SAML SP metadata
    #[oai(
        path = "/auth/sso/:connection_id/metadata",
        method = "get",
        operation_id = "getSamlMetadata"
    )]
    async fn metadata(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        connection_id: Path<Uuid>,
    ) -> ApiResult<SamlMetadata> {
        let xml = sso::saml::sp_metadata(
            &state.tenancy,
            &tenant,
            state.signer.sealer(),
            &state.public_url,
            connection_id.0,
        )
        .await?;
        Ok(SamlMetadata::Ok(PlainText(xml)))
    }

    /// SAML assertion consumer service (HTTP-POST binding)
    #[oai(
        path = "/auth/sso/:connection_id/acs",
        method = "post",
        operation_id = "finishSamlSignIn"
    )]
    async fn acs(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        connection_id: Path<Uuid>,
        form: Form<AcsForm>,
    ) -> ApiResult<Redirect> {
        let handoff = sso::saml::acs(
            &state.tenancy,
            &tenant,
            state.signer.sealer(),
            &state.public_url,
            connection_id.0,
            &form.saml_response,
            form.relay_state.as_deref(),
            current_request_id(),
        )
        .await?;
        Ok(Redirect::Found(web_landing(&state, &tenant, &handoff)))
    }

    /// Exchange an SSO hand-off code for a session
    ///
    /// The same tokens as a password sign-in. The code is single use and valid for 60 seconds.
    #[oai(
        path = "/auth/sso/exchange",
        method = "post",
        operation_id = "exchangeSsoCode"
    )]
    async fn exchange(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        b: Json<ExchangeRequest>,
    ) -> ApiResult<Json<SessionCreated>> {
        let s = sso::signin::exchange(
            &state.tenancy,
            &tenant,
            &state.signer,
            &b.code,
            current_request_id(),
        )
        .await?;
        Ok(Json(s.into()))
    }
}
