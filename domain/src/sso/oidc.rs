//! OpenID Connect sign-in (authorization code + PKCE, state and nonce) with the `openidconnect`
//! crate. The provider's discovery document and JWKS are fetched at every start and callback,
//! so a rotated signing key is picked up without a restart and nothing stale is cached.

use openidconnect::core::{
    CoreClient, CoreGenderClaim, CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier,
    CoreJwsSigningAlgorithm as Alg, CoreProviderMetadata, CoreResponseType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::connections::{self, Loaded};
use super::model::*;
use super::signin::{self, Pending};
use crate::error::{DomainError, DomainResult};
use crate::identity::mfa::Sealer;

/// The `groups` claim (userinfo), which the core claims do not have.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct GroupsClaim {
    #[serde(default)]
    pub groups: Vec<String>,
}
impl AdditionalClaims for GroupsClaim {}

fn http_client() -> DomainResult<reqwest::Client> {
    // No redirects: a redirect from a token endpoint would be an SSRF vector.
    reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| DomainError::Internal(format!("http client: {e}")))
}

async fn discover(issuer: &str, http: &reqwest::Client) -> Result<CoreProviderMetadata, String> {
    let issuer = IssuerUrl::new(issuer.to_owned()).map_err(|e| e.to_string())?;
    CoreProviderMetadata::discover_async(issuer, http)
        .await
        .map_err(|e| e.to_string())
}

/// Builds the authorization request and stores state, nonce and PKCE verifier server-side.
pub(crate) async fn start(
    tenancy: &Tenancy,
    sealer: &Sealer,
    public_url: &str,
    loaded: &Loaded,
) -> DomainResult<String> {
    let c = &loaded.connection;
    let http = http_client()?;
    let issuer = c.oidc_issuer.clone().unwrap_or_default();
    let meta = discover(&issuer, &http).await.map_err(|e| {
        tracing::warn!(connection_id = %c.id, error = %e, "oidc discovery failed");
        DomainError::Upstream("the organisation's identity provider cannot be reached")
    })?;
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(c.oidc_client_id.clone().unwrap_or_default()),
        loaded.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(
        RedirectUrl::new(Endpoints::new(public_url, c.id).oidc_callback)
            .map_err(|e| DomainError::Internal(e.to_string()))?,
    );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("groups".into()))
        .set_pkce_challenge(challenge)
        .url();
    signin::store_pending(
        tenancy,
        c.id,
        state.secret(),
        Pending {
            nonce: Some(nonce.secret().clone()),
            pkce_verifier: Some(sealer.seal(verifier.secret().as_bytes())?),
            saml_request_id: None,
        },
    )
    .await?;
    Ok(url.to_string())
}

/// ID tokens must be signed with the provider's keys: asymmetric algorithms only, whatever the
/// provider advertises, so neither `none` nor an HMAC keyed with the client secret (which we
/// share with the provider) is ever accepted.
pub fn asymmetric_algs() -> [Alg; 10] {
    [
        Alg::RsaSsaPkcs1V15Sha256,
        Alg::RsaSsaPkcs1V15Sha384,
        Alg::RsaSsaPkcs1V15Sha512,
        Alg::RsaSsaPssSha256,
        Alg::RsaSsaPssSha384,
        Alg::RsaSsaPssSha512,
        Alg::EcdsaP256Sha256,
        Alg::EcdsaP384Sha384,
        Alg::EcdsaP521Sha512,
        Alg::EdDsa,
    ]
}

/// Maps the crate's verification errors onto what we audit and answer.
pub fn rejection_for(e: &ClaimsVerificationError) -> Rejection {
    match e {
        ClaimsVerificationError::Expired(_) => Rejection::Expired,
        ClaimsVerificationError::InvalidAudience(_) => Rejection::WrongAudience,
        ClaimsVerificationError::InvalidIssuer(_) => Rejection::WrongIssuer,
        ClaimsVerificationError::InvalidNonce(_) => Rejection::BadNonce,
        ClaimsVerificationError::SignatureVerification(_) => Rejection::BadSignature,
        ClaimsVerificationError::Unsupported(_) => Rejection::BadSignature,
        _ => Rejection::Malformed,
    }
}

/// Signature (from the JWKS; `alg: none` and HMAC are refused), issuer, audience, expiry and
/// nonce of a raw ID token.
pub fn check_id_token(
    raw: &str,
    verifier: &CoreIdTokenVerifier<'_>,
    nonce: &str,
) -> Result<CoreIdTokenClaims, Rejection> {
    let token: CoreIdToken = raw.parse().map_err(|_| Rejection::Malformed)?;
    token
        .claims(verifier, &Nonce::new(nonce.to_owned()))
        .cloned()
        .map_err(|e| rejection_for(&e))
}

/// A verifier for an issuer's current JWKS (fetched now), for this client id.
pub async fn verifier_for(
    issuer: &str,
    client_id: &str,
) -> Result<CoreIdTokenVerifier<'static>, String> {
    let http = http_client().map_err(|e| e.to_string())?;
    let meta = discover(issuer, &http).await?;
    Ok(CoreIdTokenVerifier::new_public_client(
        ClientId::new(client_id.to_owned()),
        meta.issuer().clone(),
        meta.jwks().clone(),
    )
    .set_allowed_algs(asymmetric_algs()))
}

/// The redirect back from the provider: check state, exchange the code with the PKCE verifier,
/// validate the ID token, read userinfo, then provision and hand off.
#[expect(clippy::too_many_arguments, reason = "the callback's query parameters")]
pub async fn callback(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    sealer: &Sealer,
    public_url: &str,
    connection_id: Uuid,
    code: Option<String>,
    state: Option<String>,
    idp_error: Option<String>,
    request_id: Option<String>,
) -> DomainResult<String> {
    let loaded = connections::load(tenancy, tenant, sealer, connection_id).await?;
    if loaded.connection.protocol != Protocol::Oidc {
        return Err(DomainError::NotFound("sso connection"));
    }
    let reject = async |why: Rejection| {
        signin::reject(
            tenancy,
            tenant,
            connection_id,
            Protocol::Oidc,
            why,
            request_id.clone(),
        )
        .await
    };
    let pending = match &state {
        Some(s) => signin::take_pending(tenancy, connection_id, s).await?,
        None => None,
    };
    let Some(pending) = pending else {
        return Err(reject(Rejection::BadState).await);
    };
    if idp_error.is_some() {
        return Err(reject(Rejection::IdpError).await);
    }
    let Some(code) = code else {
        return Err(reject(Rejection::Malformed).await);
    };
    let verifier_secret = match &pending.pkce_verifier {
        Some(v) => String::from_utf8(sealer.open(v)?)
            .map_err(|_| DomainError::Internal("pkce verifier".into()))?,
        None => return Err(reject(Rejection::BadState).await),
    };
    let c = &loaded.connection;
    let http = http_client()?;
    let meta = match discover(c.oidc_issuer.as_deref().unwrap_or_default(), &http).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(connection_id = %c.id, error = %e, "oidc discovery failed");
            return Err(reject(Rejection::IdpError).await);
        }
    };
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(c.oidc_client_id.clone().unwrap_or_default()),
        loaded.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(
        RedirectUrl::new(Endpoints::new(public_url, c.id).oidc_callback)
            .map_err(|e| DomainError::Internal(e.to_string()))?,
    );
    let exchange = match client.exchange_code(AuthorizationCode::new(code)) {
        Ok(r) => r,
        Err(_) => return Err(reject(Rejection::IdpError).await),
    };
    let tokens = match exchange
        .set_pkce_verifier(PkceCodeVerifier::new(verifier_secret))
        .request_async(&http)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::info!(connection_id = %c.id, error = %e, "oidc code exchange failed");
            return Err(reject(Rejection::IdpError).await);
        }
    };
    let Some(id_token) = tokens.id_token() else {
        return Err(reject(Rejection::Malformed).await);
    };
    let nonce = Nonce::new(pending.nonce.clone().unwrap_or_default());
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(asymmetric_algs());
    let claims = match id_token.claims(&verifier, &nonce) {
        Ok(c) => c.clone(),
        Err(e) => return Err(reject(rejection_for(&e)).await),
    };
    let info: Option<UserInfoClaims<GroupsClaim, CoreGenderClaim>> = match client.user_info(
        tokens.access_token().clone(),
        Some(claims.subject().clone()),
    ) {
        Ok(req) => match req.request_async(&http).await {
            Ok(i) => Some(i),
            Err(e) => {
                tracing::info!(connection_id = %c.id, error = %e, "oidc userinfo failed");
                return Err(reject(Rejection::IdpError).await);
            }
        },
        Err(_) => None,
    };
    let email = info
        .as_ref()
        .and_then(|i| i.email())
        .or(claims.email())
        .map(|e| e.as_str().to_owned());
    let Some(email) = email else {
        return Err(reject(Rejection::Malformed).await);
    };
    let groups = info
        .as_ref()
        .map(|i| i.additional_claims().groups.clone())
        .unwrap_or_default();
    let given = |i: &UserInfoClaims<GroupsClaim, CoreGenderClaim>| {
        i.given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned())
    };
    let family = |i: &UserInfoClaims<GroupsClaim, CoreGenderClaim>| {
        i.family_name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned())
    };
    let email_verified = info
        .as_ref()
        .and_then(|i| i.email_verified())
        .or(claims.email_verified())
        .unwrap_or(false);
    let identity = ExternalIdentity {
        email_verified,
        subject: claims.subject().as_str().to_owned(),
        email,
        given_name: info.as_ref().and_then(given),
        family_name: info.as_ref().and_then(family),
        groups,
    };
    signin::complete(tenancy, tenant, c, identity, request_id).await
}
