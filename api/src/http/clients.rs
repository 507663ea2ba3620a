use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use tenancy::TenantRef;
use uuid::Uuid;

use domain::DomainError;
use domain::identity::clients::{self, ClientView};

use super::Tag;
use super::auth::NoContent;
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::{ApiResult, current_request_id};

/// An API client (integration) for the client-credentials grant.
#[derive(Object)]
pub struct ApiClient {
    /// The `client_id`.
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked: bool,
}

impl From<ClientView> for ApiClient {
    fn from(c: ClientView) -> Self {
        ApiClient {
            id: c.id,
            name: c.name,
            scopes: c.scopes,
            created_at: c.created_at,
            revoked: c.revoked,
        }
    }
}

#[derive(Object)]
pub struct CreateApiClient {
    #[oai(validator(max_length = 1000))]
    pub name: String,
    /// `directory:read` and/or `directory:write`.
    #[oai(validator(min_items = 1, max_items = 4))]
    pub scopes: Vec<String>,
}

#[derive(Object)]
pub struct ApiClientCreated {
    pub client: ApiClient,
    /// Shown once: store it in the integration's secret store.
    pub client_secret: String,
}

#[derive(Object)]
pub struct ApiClientList {
    pub items: Vec<ApiClient>,
}

#[derive(ApiResponse)]
pub enum ClientCreated {
    /// Created.
    #[oai(status = 201)]
    Created(Json<ApiClientCreated>),
}

/// RFC 6749 §4.4.2 access-token request (form-encoded).
#[derive(Object, Deserialize)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    pub grant_type: String,
    pub client_id: String,
    pub client_secret: String,
    /// Space-separated; defaults to all of the client's scopes.
    pub scope: Option<String>,
}

#[derive(Object)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub expires_in: i64,
    pub scope: String,
}

/// RFC 6749 §5.2 error.
#[derive(Object)]
pub struct OAuthErrorBody {
    /// invalid_request, invalid_client, unsupported_grant_type, invalid_scope, server_error,
    /// temporarily_unavailable.
    pub error: String,
    pub error_description: String,
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "oauth_bad_request")]
pub enum OAuthError {
    /// The request is malformed, the grant type unsupported or a scope not allowed.
    #[oai(status = 400)]
    BadRequest(Json<OAuthErrorBody>),
    /// Client authentication failed.
    #[oai(status = 401)]
    InvalidClient(Json<OAuthErrorBody>),
    /// Unexpected failure.
    #[oai(status = 500)]
    ServerError(Json<OAuthErrorBody>),
    /// The service is temporarily unavailable.
    #[oai(status = 503)]
    Unavailable(Json<OAuthErrorBody>, #[oai(header = "Retry-After")] String),
}

fn body(error: &str, description: impl Into<String>) -> Json<OAuthErrorBody> {
    Json(OAuthErrorBody {
        error: error.into(),
        error_description: description.into(),
    })
}

fn oauth_bad_request(e: poem::Error) -> OAuthError {
    OAuthError::BadRequest(body("invalid_request", e.to_string()))
}

impl From<DomainError> for OAuthError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(f) => OAuthError::BadRequest(body(
                "invalid_scope",
                f.into_iter()
                    .map(|x| format!("{}: {}", x.field, x.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
            DomainError::Unavailable(_) => OAuthError::Unavailable(
                body("temporarily_unavailable", "retry shortly"),
                "2".into(),
            ),
            other => {
                tracing::error!(error = %other, "token endpoint failed");
                OAuthError::ServerError(body("server_error", "unexpected error"))
            }
        }
    }
}

pub struct ClientsApi;

#[OpenApi(tag = "Tag::Auth")]
impl ClientsApi {
    /// Create an API client for an integration (institution admins; secret shown once)
    #[oai(
        path = "/oauth-clients",
        method = "post",
        operation_id = "createApiClient"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        b: Json<CreateApiClient>,
    ) -> ApiResult<ClientCreated> {
        let (client, secret) = clients::create(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            &b.name,
            &b.scopes,
        )
        .await?;
        Ok(ClientCreated::Created(Json(ApiClientCreated {
            client: client.into(),
            client_secret: secret,
        })))
    }

    /// List API clients (institution admins)
    #[oai(
        path = "/oauth-clients",
        method = "get",
        operation_id = "listApiClients"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<Json<ApiClientList>> {
        let items = clients::list(&state.tenancy, &tenant, &auth.0.principal)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(Json(ApiClientList { items }))
    }

    /// Revoke an API client (its tokens stop working on the next request)
    #[oai(
        path = "/oauth-clients/:client_id",
        method = "delete",
        operation_id = "revokeApiClient"
    )]
    async fn revoke(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        client_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        clients::revoke(&state.tenancy, &tenant, &auth.0.principal, client_id.0).await?;
        Ok(NoContent::Done)
    }

    /// OAuth2 token endpoint: client-credentials grant (RFC 6749 §4.4)
    ///
    /// Errors follow RFC 6749 §5.2 (`error`, `error_description`), not problem+json.
    #[oai(
        path = "/oauth/token",
        method = "post",
        operation_id = "issueClientToken"
    )]
    async fn token(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        form: Form<TokenRequest>,
    ) -> Result<Json<TokenResponse>, OAuthError> {
        let f = form.0;
        if f.grant_type != "client_credentials" {
            return Err(OAuthError::BadRequest(body(
                "unsupported_grant_type",
                "only client_credentials is supported",
            )));
        }
        let invalid_client =
            || OAuthError::InvalidClient(body("invalid_client", "client authentication failed"));
        let client_id = Uuid::parse_str(f.client_id.trim()).map_err(|_| invalid_client())?;
        match clients::issue_token(
            &state.tenancy,
            &tenant,
            &state.signer,
            client_id,
            &f.client_secret,
            f.scope.as_deref(),
            current_request_id(),
        )
        .await?
        {
            Some((access_token, expires_at, scopes)) => Ok(Json(TokenResponse {
                access_token,
                token_type: "Bearer".into(),
                expires_in: (expires_at - Utc::now()).num_seconds().max(0),
                scope: scopes.join(" "),
            })),
            None => Err(invalid_client()),
        }
    }
}
