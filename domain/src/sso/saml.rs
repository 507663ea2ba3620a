//! SAML 2.0 service provider with `samael` (feature `xmlsec`: signatures verified by libxmlsec1
//! against the certificates in the IdP's metadata, and only the signed part of a response is
//! read). HTTP-Redirect AuthnRequest, HTTP-POST assertion consumer service.
//!
//! On top of samael's checks (signature, issuer, destination/recipient, InResponseTo,
//! NotBefore/NotOnOrAfter with 3 minutes of clock skew, audience when present; signature
//! algorithms pinned to RSA/ECDSA with SHA-256 or stronger) this module
//! requires exactly one assertion in the response (signature-wrapping), an audience restriction
//! naming this connection, and refuses an assertion id it has seen before (replay).

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use samael::crypto::AllowedSignatureAlgorithm as Allowed;
use samael::metadata::{EntityDescriptor, HTTP_REDIRECT_BINDING};
use samael::schema::Assertion;
use samael::service_provider::{Error as SpError, ServiceProvider, ServiceProviderBuilder};
use samael::traits::ToXml;
use tenancy::schema::sso_seen_assertions;
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::connections::{self, Loaded};
use super::model::*;
use super::signin::{self, Pending};
use crate::error::{DomainError, DomainResult};
use crate::identity::mfa::Sealer;

const EMAIL_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// Fetches IdP metadata once, when the connection is created from a URL.
pub(crate) async fn fetch_metadata(url: &str) -> Result<String, String> {
    let http = reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|_| "could not be fetched".to_owned())?;
    if !resp.status().is_success() {
        return Err(format!("answered HTTP {}", resp.status().as_u16()));
    }
    let body = resp.text().await.map_err(|e| e.to_string())?;
    if body.len() > 1_000_000 {
        return Err("is larger than 1 MB".into());
    }
    Ok(body)
}

fn parse_metadata(xml: &str) -> Result<EntityDescriptor, String> {
    xml.parse::<EntityDescriptor>()
        .map_err(|_| "is not SAML 2.0 entity metadata".to_owned())
}

/// An IdP's metadata is usable when it has an entity id, an HTTP-Redirect sign-in endpoint and
/// at least one signing certificate (without one samael would skip signature checks).
pub fn check_idp_metadata(xml: &str) -> Result<(), String> {
    let md = parse_metadata(xml)?;
    if md.entity_id.as_deref().unwrap_or_default().is_empty() {
        return Err("has no entityID".into());
    }
    let sp = ServiceProviderBuilder::default()
        .idp_metadata(md)
        .build()
        .map_err(|e| e.to_string())?;
    if sp.sso_binding_location(HTTP_REDIRECT_BINDING).is_none() {
        return Err("has no SingleSignOnService with the HTTP-Redirect binding".into());
    }
    match sp.idp_signing_certs() {
        Ok(Some(certs)) if !certs.is_empty() => Ok(()),
        Ok(_) => Err("has no signing certificate".into()),
        Err(_) => Err("has a signing certificate that cannot be read".into()),
    }
}

fn service_provider(c: &SsoConnection, public_url: &str) -> DomainResult<ServiceProvider> {
    let xml = c.saml_idp_metadata.as_deref().unwrap_or_default();
    let md = parse_metadata(xml).map_err(DomainError::Internal)?;
    let e = Endpoints::new(public_url, c.id);
    ServiceProviderBuilder::default()
        .entity_id(Some(e.saml_entity_id.clone()))
        .metadata_url(Some(e.saml_entity_id))
        .acs_url(Some(e.saml_acs))
        .slo_url(None::<String>)
        .idp_metadata(md)
        .authn_name_id_format(Some(EMAIL_FORMAT.to_owned()))
        // Pinned: samael accepts every algorithm otherwise, SHA-1 included.
        .allowed_signature_algorithms(Some(vec![
            Allowed::RsaSha256,
            Allowed::RsaSha384,
            Allowed::RsaSha512,
            Allowed::EcdsaSha256,
            Allowed::EcdsaSha384,
            Allowed::EcdsaSha512,
        ]))
        .build()
        .map_err(|e| DomainError::Internal(e.to_string()))
}

/// This connection's SP metadata (what the IdP administrator imports).
pub async fn sp_metadata(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    sealer: &Sealer,
    public_url: &str,
    connection_id: Uuid,
) -> DomainResult<String> {
    let loaded = connections::load(tenancy, tenant, sealer, connection_id).await?;
    if loaded.connection.protocol != Protocol::Saml {
        return Err(DomainError::NotFound("sso connection"));
    }
    let mut sp = service_provider(&loaded.connection, public_url)?;
    // samael insists on a logout endpoint; we offer none, so it is removed again below.
    sp.slo_url = sp.acs_url.clone();
    let mut md = sp
        .metadata()
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    for d in md.sp_sso_descriptors.iter_mut().flatten() {
        d.single_logout_services = None;
    }
    md.to_string()
        .map_err(|e| DomainError::Internal(format!("{e:?}")))
}

/// The AuthnRequest as an HTTP-Redirect URL; its id is kept to match `InResponseTo`.
pub(crate) async fn start(
    tenancy: &Tenancy,
    public_url: &str,
    loaded: &Loaded,
) -> DomainResult<String> {
    let relay_state = crate::identity::secret::new_token("rs")?;
    let (url, request_id) = {
        let sp = service_provider(&loaded.connection, public_url)?;
        let sso = sp
            .sso_binding_location(HTTP_REDIRECT_BINDING)
            .ok_or_else(|| DomainError::Internal("IdP has no redirect binding".into()))?;
        let req = sp
            .make_authentication_request(&sso)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        let url = req
            .redirect(&relay_state)
            .map_err(|e| DomainError::Internal(e.to_string()))?
            .ok_or_else(|| DomainError::Internal("AuthnRequest has no destination".into()))?;
        (url.to_string(), req.id.clone())
    };
    signin::store_pending(
        tenancy,
        loaded.connection.id,
        &relay_state,
        Pending {
            nonce: None,
            pkce_verifier: None,
            saml_request_id: Some(request_id),
        },
    )
    .await?;
    Ok(url)
}

/// How many `Assertion` elements (any prefix) the document has.
fn assertion_count(xml: &str) -> usize {
    let mut n = 0;
    let mut rest = xml;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let name: String = rest
            .chars()
            .take_while(|ch| !ch.is_whitespace() && *ch != '>' && *ch != '/')
            .collect();
        let local = name.rsplit(':').next().unwrap_or_default();
        if local == "Assertion" || local == "EncryptedAssertion" {
            n += 1;
        }
    }
    n
}

fn rejection_for(e: &SpError) -> Rejection {
    match e {
        SpError::FailedToValidateSignature | SpError::CryptoXmlError(_) => Rejection::BadSignature,
        SpError::AssertionIssuerMismatch { .. } | SpError::ResponseIssuerMismatch { .. } => {
            Rejection::WrongIssuer
        }
        SpError::AssertionConditionAudienceRestrictionFailed { .. } => Rejection::WrongAudience,
        SpError::DestinationValidationError { .. } | SpError::AssertionRecipientMismatch { .. } => {
            Rejection::WrongRecipient
        }
        SpError::AssertionExpired { .. }
        | SpError::AssertionSubjectConfirmationExpired { .. }
        | SpError::AssertionConditionExpired { .. }
        | SpError::ResponseExpired { .. } => Rejection::Expired,
        SpError::AssertionSubjectConfirmationExpiredBefore { .. }
        | SpError::AssertionConditionExpiredBefore { .. } => Rejection::NotYetValid,
        SpError::AssertionInResponseToInvalid { .. }
        | SpError::ResponseInResponseToInvalid { .. } => Rejection::WrongRequest,
        _ => Rejection::Malformed,
    }
}

/// Verifies a decoded SAML response for this connection and the request id we sent. Pure (no
/// I/O), so the attack tests can call it on tampered copies of real responses.
pub fn verify_response(
    c: &SsoConnection,
    public_url: &str,
    xml: &str,
    request_id: &str,
) -> Result<Assertion, Rejection> {
    if assertion_count(xml) != 1 {
        return Err(Rejection::SignatureWrapping);
    }
    let sp = service_provider(c, public_url).map_err(|_| Rejection::Malformed)?;
    let assertion = sp
        .parse_xml_response(xml, Some(&[request_id]))
        .map_err(|e| rejection_for(&e))?;
    // samael checks the audience only when the assertion has a restriction; require one.
    let ours = Endpoints::new(public_url, c.id).saml_entity_id;
    let audience_ok = assertion
        .conditions
        .as_ref()
        .and_then(|cond| cond.audience_restrictions.as_ref())
        .is_some_and(|rs| rs.iter().any(|r| r.audience.iter().any(|a| a == &ours)));
    if !audience_ok {
        return Err(Rejection::WrongAudience);
    }
    Ok(assertion)
}

fn identity_of(a: &Assertion) -> Option<ExternalIdentity> {
    let name_id = a
        .subject
        .as_ref()?
        .name_id
        .as_ref()?
        .value
        .trim()
        .to_owned();
    let mut email = None;
    let mut groups = Vec::new();
    let (mut given, mut family) = (None, None);
    for st in a.attribute_statements.iter().flatten() {
        for at in &st.attributes {
            let name = at
                .name
                .as_deref()
                .or(at.friendly_name.as_deref())
                .unwrap_or_default();
            let values = at.values.iter().filter_map(|v| v.value.clone());
            match name.rsplit(['/', ':']).next().unwrap_or_default() {
                "email" | "mail" | "emailaddress" => email = values.into_iter().next(),
                "groups" | "memberOf" | "groupsid" => groups.extend(values),
                "givenName" | "givenname" => given = values.into_iter().next(),
                "sn" | "surname" => family = values.into_iter().next(),
                _ => {}
            }
        }
    }
    let email = email.or_else(|| name_id.contains('@').then(|| name_id.clone()))?;
    Some(ExternalIdentity {
        // SAML has no verified flag: the IdP's signed assertion is the organisation's word.
        email_verified: true,
        subject: name_id,
        email,
        given_name: given,
        family_name: family,
        groups,
    })
}

/// The assertion's id read without trusting it: only to tell a replay from a stale state in the
/// audit log.
fn unverified_assertion_id(xml: &str) -> Option<String> {
    let i = xml
        .find(":Assertion ")
        .or_else(|| xml.find("<Assertion "))?;
    let rest = &xml[i..];
    let j = rest.find(" ID=\"")? + 5;
    let end = rest[j..].find('"')?;
    Some(rest[j..j + end].to_owned())
}

async fn seen_before(tenancy: &Tenancy, connection_id: Uuid, id: &str) -> DomainResult<bool> {
    tenancy
        .control_tx(async |c| {
            Ok::<_, DomainError>(
                sso_seen_assertions::table
                    .filter(sso_seen_assertions::connection_id.eq(connection_id))
                    .filter(sso_seen_assertions::assertion_id.eq(id))
                    .count()
                    .get_result::<i64>(c)
                    .await?
                    > 0,
            )
        })
        .await
}

/// Remembers an accepted assertion id; `false` if it was already there (a replay).
async fn remember(tenancy: &Tenancy, connection_id: Uuid, id: &str) -> DomainResult<bool> {
    tenancy
        .control_tx(async |c| {
            diesel::delete(
                sso_seen_assertions::table.filter(sso_seen_assertions::expires_at.lt(Utc::now())),
            )
            .execute(c)
            .await?;
            let n = diesel::insert_into(sso_seen_assertions::table)
                .values((
                    sso_seen_assertions::connection_id.eq(connection_id),
                    sso_seen_assertions::assertion_id.eq(id),
                    sso_seen_assertions::expires_at.eq(Utc::now() + Duration::hours(24)),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            Ok::<_, DomainError>(n == 1)
        })
        .await
}

/// The HTTP-POST binding's form: `SAMLResponse` (base64) and `RelayState`.
#[expect(
    clippy::too_many_arguments,
    reason = "the form's fields and the request context"
)]
pub async fn acs(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    sealer: &Sealer,
    public_url: &str,
    connection_id: Uuid,
    saml_response: &str,
    relay_state: Option<&str>,
    request_id: Option<String>,
) -> DomainResult<String> {
    let loaded = connections::load(tenancy, tenant, sealer, connection_id).await?;
    let c = &loaded.connection;
    if c.protocol != Protocol::Saml {
        return Err(DomainError::NotFound("sso connection"));
    }
    let reject = async |why: Rejection| {
        signin::reject(
            tenancy,
            tenant,
            connection_id,
            Protocol::Saml,
            why,
            request_id.clone(),
        )
        .await
    };
    use base64::Engine as _;
    let xml = base64::engine::general_purpose::STANDARD
        .decode(saml_response.trim().replace(['\r', '\n'], ""))
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let Some(xml) = xml else {
        return Err(reject(Rejection::Malformed).await);
    };
    let pending = match relay_state {
        Some(rs) => signin::take_pending(tenancy, connection_id, rs).await?,
        None => None,
    };
    let Some(request_id_sent) = pending.and_then(|p| p.saml_request_id) else {
        let replay = match unverified_assertion_id(&xml) {
            Some(id) => seen_before(tenancy, connection_id, &id).await?,
            None => false,
        };
        let why = if replay {
            Rejection::Replayed
        } else {
            Rejection::BadState
        };
        return Err(reject(why).await);
    };
    let verified = verify_response(c, public_url, &xml, &request_id_sent);
    let assertion = match verified {
        Ok(a) => a,
        Err(why) => return Err(reject(why).await),
    };
    if !remember(tenancy, connection_id, &assertion.id).await? {
        return Err(reject(Rejection::Replayed).await);
    }
    let Some(identity) = identity_of(&assertion) else {
        return Err(reject(Rejection::Malformed).await);
    };
    signin::complete(tenancy, tenant, c, identity, request_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assertions_are_counted_whatever_their_prefix() {
        assert_eq!(
            assertion_count("<samlp:Response><saml:Assertion ID=\"a\"/></samlp:Response>"),
            1
        );
        assert_eq!(
            assertion_count("<Response><Assertion/><x:Assertion>..</x:Assertion></Response>"),
            2
        );
        assert_eq!(
            assertion_count("<Response><saml:EncryptedAssertion/></Response>"),
            1
        );
        assert_eq!(
            assertion_count("<Response><saml:AssertionIDRef/></Response>"),
            0
        );
        assert_eq!(
            unverified_assertion_id(
                "<r><saml:Assertion xmlns:saml=\"x\" ID=\"_abc\" Version=\"2.0\">"
            ),
            Some("_abc".to_owned())
        );
    }
}
