//! SSO types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::model::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Oidc,
    Saml,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Oidc => "oidc",
            Protocol::Saml => "saml",
        }
    }
}

/// "Members of IdP group `group` get `role`" (and, for a person created by the mapping, the
/// directory department; for a sub-admin, the subtree they administer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMapping {
    pub group: String,
    pub role: String,
    #[serde(default)]
    pub department_id: Option<Uuid>,
}

impl GroupMapping {
    pub fn role(&self) -> Option<Role> {
        Role::parse(&self.role)
    }
}

/// A connection as the admin sees it (never with its secrets).
#[derive(Clone, Debug)]
pub struct SsoConnection {
    pub id: Uuid,
    pub tenant_id: i64,
    pub name: String,
    pub protocol: Protocol,
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub saml_idp_metadata: Option<String>,
    pub saml_metadata_url: Option<String>,
    pub domains: Vec<String>,
    pub password_login_allowed: bool,
    pub mappings: Vec<GroupMapping>,
    pub scim_enabled: bool,
    pub created_at: DateTime<Utc>,
}

/// What the admin sends to create a connection.
#[derive(Clone, Debug)]
pub struct NewConnection {
    pub name: String,
    pub protocol: NewProtocol,
    pub domains: Vec<String>,
    pub password_login_allowed: bool,
    pub mappings: Vec<GroupMapping>,
}

#[derive(Clone, Debug)]
pub enum NewProtocol {
    Oidc {
        issuer: String,
        client_id: String,
        client_secret: String,
    },
    Saml {
        metadata_xml: Option<String>,
        metadata_url: Option<String>,
    },
}

/// How a person with this email signs in (home-realm discovery).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Realm {
    Password,
    Sso {
        connection_id: Uuid,
        protocol: Protocol,
        password_login_allowed: bool,
    },
}

/// What the identity provider told us about the person, after every check passed.
#[derive(Clone, Debug)]
pub struct ExternalIdentity {
    pub subject: String,
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub groups: Vec<String>,
    /// The IdP says the email is verified (OIDC `email_verified`; a SAML IdP asserts it).
    /// Required before an existing account is linked by email.
    pub email_verified: bool,
}

/// The URLs a connection is reached at, from the server's public URL.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub start: String,
    pub oidc_callback: String,
    pub saml_entity_id: String,
    pub saml_acs: String,
}

impl Endpoints {
    pub fn new(public_url: &str, connection_id: Uuid) -> Endpoints {
        let base = format!(
            "{}/api/v1/auth/sso/{connection_id}",
            public_url.trim_end_matches('/')
        );
        Endpoints {
            start: format!("{base}/start"),
            oidc_callback: format!("{base}/callback"),
            saml_entity_id: format!("{base}/metadata"),
            saml_acs: format!("{base}/acs"),
        }
    }
}

/// Why a sign-in was refused. Each is audited with its `reason` code and answered with a
/// problem whose type names it; none says more than the code to the browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// state / RelayState unknown, used, expired, or of another connection.
    BadState,
    /// The IdP answered with an error, or the code exchange failed.
    IdpError,
    /// ID token or assertion signature does not verify (incl. alg: none).
    BadSignature,
    /// More than one assertion, or signed content does not cover what was used.
    SignatureWrapping,
    WrongIssuer,
    WrongAudience,
    WrongRecipient,
    Expired,
    NotYetValid,
    BadNonce,
    /// SAML InResponseTo does not name the request we sent.
    WrongRequest,
    Replayed,
    /// Anything else malformed (undecodable, missing subject or email).
    Malformed,
    /// Valid, but no group maps to a role in this tenant.
    NoRole,
    /// Valid, but the account is disabled (deprovisioned).
    AccountDisabled,
    /// The email matches an existing account but the IdP does not say it is verified.
    UnverifiedEmail,
}

impl Rejection {
    pub fn code(self) -> &'static str {
        match self {
            Rejection::BadState => "bad_state",
            Rejection::IdpError => "idp_error",
            Rejection::BadSignature => "bad_signature",
            Rejection::SignatureWrapping => "signature_wrapping",
            Rejection::WrongIssuer => "wrong_issuer",
            Rejection::WrongAudience => "wrong_audience",
            Rejection::WrongRecipient => "wrong_recipient",
            Rejection::Expired => "expired",
            Rejection::NotYetValid => "not_yet_valid",
            Rejection::BadNonce => "bad_nonce",
            Rejection::WrongRequest => "wrong_in_response_to",
            Rejection::Replayed => "replayed",
            Rejection::Malformed => "malformed",
            Rejection::NoRole => "no_role_mapped",
            Rejection::AccountDisabled => "account_disabled",
            Rejection::UnverifiedEmail => "unverified_email",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Rejection::BadState => {
                "the sign-in state is unknown, already used or expired; start again"
            }
            Rejection::IdpError => "the identity provider did not complete the sign-in",
            Rejection::BadSignature => "the identity provider's signature does not verify",
            Rejection::SignatureWrapping => "the response holds content outside its signature",
            Rejection::WrongIssuer => {
                "the response comes from an issuer this connection does not trust"
            }
            Rejection::WrongAudience => {
                "the response is addressed to another service provider or client"
            }
            Rejection::WrongRecipient => "the response was meant for another endpoint",
            Rejection::Expired => "the response has expired",
            Rejection::NotYetValid => "the response is not valid yet",
            Rejection::BadNonce => "the ID token does not belong to this sign-in (nonce)",
            Rejection::WrongRequest => "the response does not answer this sign-in's request",
            Rejection::Replayed => "this assertion has already been used",
            Rejection::Malformed => "the identity provider's response is malformed or incomplete",
            Rejection::NoRole => "your organisation has not given you a role in this service",
            Rejection::AccountDisabled => "your account is disabled",
            Rejection::UnverifiedEmail => {
                "the identity provider has not verified this email address, which belongs to an existing account"
            }
        }
    }
}
