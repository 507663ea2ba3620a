//! Access tokens: HS256-signed JWTs, valid for [`ACCESS_TTL`], whose audience is the tenant
//! they were issued in and whose subject and `sid` name the account and session.
//!
//! A valid signature is necessary but not sufficient: every request also finds the session live
//! in the tenant's database (so sign-out and revocation apply on the next request) and reads the
//! account's roles fresh. Only HS256 is accepted (`alg: none` and every other algorithm fail).

use chrono::{DateTime, Duration, TimeZone, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const ACCESS_TTL: Duration = Duration::minutes(10);
const ISSUER: &str = "swiftacare";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// `tenant:<id>`
    pub aud: String,
    pub sub: Uuid,
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
    /// `client` for OAuth2 client-credentials tokens (then `sub` = `sid` = the client id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Space-separated scopes (client tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the signing key must be at least 32 bytes")]
    KeyTooShort,
    #[error("invalid access token")]
    Invalid,
    #[error("could not sign the token: {0}")]
    Sign(String),
}

/// Signs and checks access tokens with one secret key (shared by every server).
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    sealer: super::mfa::Sealer,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(HS256)")
    }
}

pub fn audience(tenant_id: i64) -> String {
    format!("tenant:{tenant_id}")
}

/// The audience of platform-operator tokens: accepted by `/platform/v1` only, never by a tenant.
pub const PLATFORM_AUDIENCE: &str = "platform";

impl TokenSigner {
    pub fn new(key: &[u8]) -> Result<TokenSigner, TokenError> {
        if key.len() < 32 {
            return Err(TokenError::KeyTooShort);
        }
        Ok(TokenSigner {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            sealer: super::mfa::Sealer::derive(key),
        })
    }

    /// Encrypts MFA secrets at rest, under a key derived from the same server key.
    pub fn sealer(&self) -> &super::mfa::Sealer {
        &self.sealer
    }

    /// A client-credentials token for an integration: audience the tenant, with its scopes.
    pub fn issue_client(
        &self,
        tenant_id: i64,
        client: Uuid,
        scopes: &[String],
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), TokenError> {
        let exp = now + ACCESS_TTL;
        let claims = Claims {
            iss: ISSUER.into(),
            aud: audience(tenant_id),
            sub: client,
            sid: client,
            iat: now.timestamp(),
            exp: exp.timestamp(),
            typ: Some("client".into()),
            scope: Some(scopes.join(" ")),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Sign(e.to_string()))?;
        Ok((
            token,
            Utc.timestamp_opt(exp.timestamp(), 0)
                .single()
                .unwrap_or(exp),
        ))
    }

    /// A token for a platform operator's session.
    pub fn issue_platform(
        &self,
        operator: Uuid,
        session: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), TokenError> {
        self.issue_for(PLATFORM_AUDIENCE.to_owned(), operator, session, now)
    }

    pub fn verify_platform(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_for(PLATFORM_AUDIENCE, token)
    }

    pub fn issue(
        &self,
        tenant_id: i64,
        account: Uuid,
        session: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), TokenError> {
        self.issue_for(audience(tenant_id), account, session, now)
    }

    fn issue_for(
        &self,
        aud: String,
        account: Uuid,
        session: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), TokenError> {
        let exp = now + ACCESS_TTL;
        let claims = Claims {
            iss: ISSUER.into(),
            aud,
            sub: account,
            sid: session,
            iat: now.timestamp(),
            exp: exp.timestamp(),
            typ: None,
            scope: None,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Sign(e.to_string()))?;
        Ok((
            token,
            Utc.timestamp_opt(exp.timestamp(), 0)
                .single()
                .unwrap_or(exp),
        ))
    }

    /// Signature (HS256 only), issuer, audience = this tenant, and expiry (5 s leeway).
    pub fn verify(&self, token: &str, tenant_id: i64) -> Result<Claims, TokenError> {
        self.verify_for(&audience(tenant_id), token)
    }

    fn verify_for(&self, aud: &str, token: &str) -> Result<Claims, TokenError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[aud]);
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        v.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|_| TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> TokenSigner {
        TokenSigner::new(&[7u8; 32]).expect("key")
    }

    #[test]
    fn round_trip_and_audience() {
        let s = signer();
        let (a, s_id) = (Uuid::now_v7(), Uuid::now_v7());
        let (t, _) = s.issue(1, a, s_id, Utc::now()).expect("issue");
        let c = s.verify(&t, 1).expect("valid");
        assert_eq!((c.sub, c.sid), (a, s_id));
        assert!(s.verify(&t, 2).is_err(), "another tenant's audience");
        assert!(
            TokenSigner::new(&[8u8; 32])
                .expect("key")
                .verify(&t, 1)
                .is_err(),
            "another key"
        );
        assert!(TokenSigner::new(b"short").is_err());
    }

    #[test]
    fn expired_and_unsigned_tokens_are_rejected() {
        let s = signer();
        let (t, _) = s
            .issue(
                1,
                Uuid::now_v7(),
                Uuid::now_v7(),
                Utc::now() - Duration::minutes(11),
            )
            .expect("issue");
        assert!(s.verify(&t, 1).is_err(), "expired");
        // alg: none, with otherwise valid claims.
        use base64::Engine;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let claims = format!(
            r#"{{"iss":"swiftacare","aud":"tenant:1","sub":"{}","sid":"{}","iat":0,"exp":{}}}"#,
            Uuid::now_v7(),
            Uuid::now_v7(),
            Utc::now().timestamp() + 600
        );
        let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(&claims));
        assert!(s.verify(&none, 1).is_err(), "alg none");
        let hs512 = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"HS512","typ":"JWT"}"#),
            b64(&claims),
            b64("sig")
        );
        assert!(s.verify(&hs512, 1).is_err(), "other algorithm");
    }
}
