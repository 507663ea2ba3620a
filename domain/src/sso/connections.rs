//! The tenant admin's SSO configuration (control plane) and home-realm discovery.
//!
//! Secrets (the OIDC client secret) are sealed with the server key before they are stored;
//! the SCIM token is stored as SHA-256 only. Reads never return either.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tenancy::schema::{sso_connections, sso_domains, tenants};
use tenancy::{Tenancy, TenantRef};
use uuid::Uuid;

use super::model::*;
use crate::audit::{self, Actor, Event};
use crate::error::{DomainError, DomainResult, FieldError};
use crate::identity::mfa::Sealer;
use crate::identity::model::{Principal, Role};
use crate::identity::secret;

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = sso_connections)]
pub(crate) struct Row {
    pub id: Uuid,
    pub tenant_id: i64,
    pub name: String,
    pub protocol: String,
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<Vec<u8>>,
    pub saml_idp_metadata: Option<String>,
    pub saml_metadata_url: Option<String>,
    pub password_login_allowed: bool,
    pub group_mappings: serde_json::Value,
    pub scim_token_hash: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
}

impl Row {
    pub(crate) fn into_connection(self, domains: Vec<String>) -> SsoConnection {
        SsoConnection {
            id: self.id,
            tenant_id: self.tenant_id,
            name: self.name,
            protocol: if self.protocol == "saml" {
                Protocol::Saml
            } else {
                Protocol::Oidc
            },
            oidc_issuer: self.oidc_issuer,
            oidc_client_id: self.oidc_client_id,
            saml_idp_metadata: self.saml_idp_metadata,
            saml_metadata_url: self.saml_metadata_url,
            domains,
            password_login_allowed: self.password_login_allowed,
            mappings: serde_json::from_value(self.group_mappings).unwrap_or_default(),
            scim_enabled: self.scim_token_hash.is_some(),
            created_at: self.created_at,
        }
    }
}

pub(crate) async fn find_row(
    c: &mut AsyncPgConnection,
    tenant_id: i64,
    id: Uuid,
) -> QueryResult<Option<Row>> {
    sso_connections::table
        .filter(sso_connections::id.eq(id))
        .filter(sso_connections::tenant_id.eq(tenant_id))
        .select(Row::as_select())
        .first(c)
        .await
        .optional()
}

async fn domains_of(c: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<String>> {
    sso_domains::table
        .filter(sso_domains::connection_id.eq(id))
        .select(sso_domains::domain)
        .order(sso_domains::domain)
        .load(c)
        .await
}

/// A connection of this tenant with its sealed secret opened (for the sign-in flows).
pub(crate) struct Loaded {
    pub connection: SsoConnection,
    pub client_secret: Option<String>,
}

pub(crate) async fn load(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    sealer: &Sealer,
    id: Uuid,
) -> DomainResult<Loaded> {
    let tid = tenant.id;
    let (row, domains) = tenancy
        .control_tx(async |c| {
            let row = find_row(c, tid, id)
                .await?
                .ok_or(DomainError::NotFound("sso connection"))?;
            let domains = domains_of(c, id).await?;
            Ok::<_, DomainError>((row, domains))
        })
        .await?;
    let client_secret = match &row.oidc_client_secret {
        Some(sealed) => Some(
            String::from_utf8(sealer.open(sealed)?)
                .map_err(|_| DomainError::Internal("sealed client secret is not UTF-8".into()))?,
        ),
        None => None,
    };
    Ok(Loaded {
        connection: row.into_connection(domains),
        client_secret,
    })
}

/// The slug of the tenant a connection belongs to: how a browser coming back from an IdP (which
/// names no tenant) is routed. `None` for an unknown connection.
pub async fn tenant_slug_of(
    tenancy: &Tenancy,
    connection_id: Uuid,
) -> DomainResult<Option<String>> {
    tenancy
        .control_tx(async |c| {
            Ok::<_, DomainError>(
                sso_connections::table
                    .inner_join(tenants::table)
                    .filter(sso_connections::id.eq(connection_id))
                    .select(tenants::slug)
                    .first::<String>(c)
                    .await
                    .optional()?,
            )
        })
        .await
}

fn require_admin(p: &Principal) -> DomainResult<()> {
    if p.is_integration() || !p.grants.iter().any(|g| g.role == Role::InstitutionAdmin) {
        return Err(DomainError::Forbidden(
            "only an institution admin manages single sign-on",
        ));
    }
    Ok(())
}

/// `example.org` → itself; rejects anything that is not a plausible DNS name.
pub fn parse_domain(raw: &str) -> Result<String, String> {
    let d = raw.trim().trim_start_matches('@').to_ascii_lowercase();
    let ok = (3..=253).contains(&d.len())
        && d.contains('.')
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        });
    if ok {
        Ok(d)
    } else {
        Err("must be a domain name such as example.org".into())
    }
}

fn http_url(raw: &str) -> Result<url::Url, String> {
    let u = url::Url::parse(raw.trim()).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(u.scheme(), "https" | "http") || u.host_str().is_none() {
        return Err("must be an http(s) URL".into());
    }
    Ok(u)
}

pub async fn create(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    sealer: &Sealer,
    p: &Principal,
    new: NewConnection,
) -> DomainResult<SsoConnection> {
    require_admin(p)?;
    let mut errors: Vec<FieldError> = Vec::new();
    let mut bad = |field: &str, m: String| {
        errors.push(FieldError {
            field: field.into(),
            message: m,
        })
    };
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        bad("/name", "must be 1 to 200 characters".into());
    }
    let mut domains = Vec::new();
    for (i, d) in new.domains.iter().enumerate() {
        match parse_domain(d) {
            Ok(d) if !domains.contains(&d) => domains.push(d),
            Ok(_) => {}
            Err(m) => bad(&format!("/domains/{i}"), m),
        }
    }
    for (i, m) in new.mappings.iter().enumerate() {
        match m.role() {
            None => bad(
                &format!("/group_mappings/{i}/role"),
                "must be one of institution_admin, sub_admin, provider, staff, client".into(),
            ),
            Some(Role::SubAdmin) if m.department_id.is_none() => bad(
                &format!("/group_mappings/{i}/department_id"),
                "is required for sub_admin".into(),
            ),
            _ => {}
        }
        if m.group.trim().is_empty() || m.group.len() > 256 {
            bad(
                &format!("/group_mappings/{i}/group"),
                "must be 1 to 256 characters".into(),
            );
        }
    }
    let id = Uuid::now_v7();
    let (protocol, issuer, client_id, sealed, metadata, metadata_url) = match &new.protocol {
        NewProtocol::Oidc {
            issuer,
            client_id,
            client_secret,
        } => {
            if let Err(m) = http_url(issuer) {
                bad("/oidc/issuer", m);
            }
            if client_id.trim().is_empty() || client_id.len() > 256 {
                bad("/oidc/client_id", "must be 1 to 256 characters".into());
            }
            if client_secret.is_empty() || client_secret.len() > 1024 {
                bad("/oidc/client_secret", "must be 1 to 1024 characters".into());
            }
            (
                Protocol::Oidc,
                Some(issuer.trim().trim_end_matches('/').to_owned()),
                Some(client_id.trim().to_owned()),
                Some(sealer.seal(client_secret.as_bytes())?),
                None,
                None,
            )
        }
        NewProtocol::Saml {
            metadata_xml,
            metadata_url,
        } => {
            let xml = match (metadata_xml, metadata_url) {
                (Some(x), _) => Some(x.clone()),
                (None, Some(u)) => match http_url(u) {
                    Err(m) => {
                        bad("/saml/metadata_url", m);
                        None
                    }
                    Ok(u) => match super::saml::fetch_metadata(u.as_str()).await {
                        Ok(x) => Some(x),
                        Err(m) => {
                            bad("/saml/metadata_url", m);
                            None
                        }
                    },
                },
                (None, None) => {
                    bad(
                        "/saml",
                        "give the IdP's metadata as metadata_xml or metadata_url".into(),
                    );
                    None
                }
            };
            let field = if metadata_xml.is_some() {
                "/saml/metadata_xml"
            } else {
                "/saml/metadata_url"
            };
            if let Some(Err(m)) = xml.as_deref().map(super::saml::check_idp_metadata) {
                bad(field, m);
            }
            (Protocol::Saml, None, None, None, xml, metadata_url.clone())
        }
    };
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    // Mapped departments must exist in this tenant.
    let departments: Vec<Uuid> = new
        .mappings
        .iter()
        .filter_map(|m| m.department_id)
        .collect();
    if !departments.is_empty() {
        tenancy
            .tx(tenant, async |c| {
                for (i, m) in new.mappings.iter().enumerate() {
                    let Some(d) = m.department_id else { continue };
                    if crate::org::repo::get_department(c, d).await?.is_none() {
                        return Err(DomainError::invalid(
                            &format!("/group_mappings/{i}/department_id"),
                            "no such department",
                        ));
                    }
                }
                Ok(())
            })
            .await?;
    }
    let mappings =
        serde_json::to_value(&new.mappings).map_err(|e| DomainError::Internal(e.to_string()))?;
    let tid = tenant.id;
    let row = tenancy
        .control_tx(async |c| {
            for d in &domains {
                let taken = sso_domains::table
                    .filter(sso_domains::tenant_id.eq(tid))
                    .filter(sso_domains::domain.eq(d))
                    .count()
                    .get_result::<i64>(c)
                    .await?;
                if taken > 0 {
                    return Err(DomainError::Conflict(format!(
                        "the domain {d} already routes to another connection"
                    )));
                }
            }
            let row: Row = diesel::insert_into(sso_connections::table)
                .values((
                    sso_connections::id.eq(id),
                    sso_connections::tenant_id.eq(tid),
                    sso_connections::name.eq(&name),
                    sso_connections::protocol.eq(protocol.as_str()),
                    sso_connections::oidc_issuer.eq(&issuer),
                    sso_connections::oidc_client_id.eq(&client_id),
                    sso_connections::oidc_client_secret.eq(&sealed),
                    sso_connections::saml_idp_metadata.eq(&metadata),
                    sso_connections::saml_metadata_url.eq(&metadata_url),
                    sso_connections::password_login_allowed.eq(new.password_login_allowed),
                    sso_connections::group_mappings.eq(&mappings),
                ))
                .returning(Row::as_returning())
                .get_result(c)
                .await?;
            for d in &domains {
                diesel::insert_into(sso_domains::table)
                    .values((
                        sso_domains::tenant_id.eq(tid),
                        sso_domains::domain.eq(d),
                        sso_domains::connection_id.eq(id),
                    ))
                    .execute(c)
                    .await?;
            }
            Ok::<_, DomainError>(row)
        })
        .await?;
    let event = Event::new("sso.connection_create")
        .on("sso_connection", id)
        .detail("protocol", protocol.as_str());
    audit::record_alone(tenancy, tenant, &Actor::from(p), event).await?;
    Ok(row.into_connection(domains))
}

pub async fn list(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
) -> DomainResult<Vec<SsoConnection>> {
    require_admin(p)?;
    let tid = tenant.id;
    tenancy
        .control_tx(async |c| {
            let rows: Vec<Row> = sso_connections::table
                .filter(sso_connections::tenant_id.eq(tid))
                .select(Row::as_select())
                .order(sso_connections::id)
                .load(c)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let d = domains_of(c, r.id).await?;
                out.push(r.into_connection(d));
            }
            Ok::<_, DomainError>(out)
        })
        .await
}

pub async fn get(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<SsoConnection> {
    require_admin(p)?;
    let tid = tenant.id;
    tenancy
        .control_tx(async |c| {
            let row = find_row(c, tid, id)
                .await?
                .ok_or(DomainError::NotFound("sso connection"))?;
            let d = domains_of(c, id).await?;
            Ok::<_, DomainError>(row.into_connection(d))
        })
        .await
}

/// Removes a connection (its domains, pending sign-ins and SCIM token go with it). Accounts it
/// created stay, and keep signing in by password only if they have one.
pub async fn delete(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<()> {
    require_admin(p)?;
    let tid = tenant.id;
    let n = tenancy
        .control_tx(async |c| {
            Ok::<_, DomainError>(
                diesel::delete(
                    sso_connections::table
                        .filter(sso_connections::id.eq(id))
                        .filter(sso_connections::tenant_id.eq(tid)),
                )
                .execute(c)
                .await?,
            )
        })
        .await?;
    if n == 0 {
        return Err(DomainError::NotFound("sso connection"));
    }
    let event = Event::new("sso.connection_delete").on("sso_connection", id);
    audit::record_alone(tenancy, tenant, &Actor::from(p), event).await
}

/// Issues (or replaces) the connection's SCIM bearer token; shown once.
pub async fn rotate_scim_token(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    p: &Principal,
    id: Uuid,
) -> DomainResult<String> {
    require_admin(p)?;
    let token = secret::new_token("scim")?;
    let digest = secret::token_digest(&token);
    let tid = tenant.id;
    let n = tenancy
        .control_tx(async |c| {
            Ok::<_, DomainError>(
                diesel::update(
                    sso_connections::table
                        .filter(sso_connections::id.eq(id))
                        .filter(sso_connections::tenant_id.eq(tid)),
                )
                .set(sso_connections::scim_token_hash.eq(&digest))
                .execute(c)
                .await?,
            )
        })
        .await?;
    if n == 0 {
        return Err(DomainError::NotFound("sso connection"));
    }
    let event = Event::new("sso.scim_token_issue").on("sso_connection", id);
    audit::record_alone(tenancy, tenant, &Actor::from(p), event).await?;
    Ok(token)
}

/// Home-realm discovery: which connection (if any) the email's domain routes to.
pub async fn discover(tenancy: &Tenancy, tenant: &TenantRef, email: &str) -> DomainResult<Realm> {
    let email =
        crate::org::model::Email::parse(email).map_err(|m| DomainError::invalid("/email", m))?;
    let domain = email
        .as_str()
        .rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default();
    let tid = tenant.id;
    let found = tenancy
        .control_tx(async |c| {
            Ok::<_, DomainError>(
                sso_domains::table
                    .inner_join(sso_connections::table)
                    .filter(sso_domains::tenant_id.eq(tid))
                    .filter(sso_domains::domain.eq(&domain))
                    .select((
                        sso_connections::id,
                        sso_connections::protocol,
                        sso_connections::password_login_allowed,
                    ))
                    .first::<(Uuid, String, bool)>(c)
                    .await
                    .optional()?,
            )
        })
        .await?;
    Ok(match found {
        None => Realm::Password,
        Some((connection_id, protocol, password_login_allowed)) => Realm::Sso {
            connection_id,
            protocol: if protocol == "saml" {
                Protocol::Saml
            } else {
                Protocol::Oidc
            },
            password_login_allowed,
        },
    })
}

/// Password sign-in is refused for an email whose domain routes to a connection that forbids
/// it (checked by `identity::service::login` before the password).
pub async fn password_login_allowed(
    tenancy: &Tenancy,
    tenant: &TenantRef,
    email: &str,
) -> DomainResult<bool> {
    match discover(tenancy, tenant, email).await {
        Ok(Realm::Sso {
            password_login_allowed,
            ..
        }) => Ok(password_login_allowed),
        Ok(Realm::Password) | Err(DomainError::Invalid(_)) => Ok(true),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_domain;

    #[test]
    fn domains_are_dns_names() {
        assert_eq!(
            parse_domain(" @Clinic.Example ").as_deref(),
            Ok("clinic.example")
        );
        for bad in [
            "localhost",
            "a b.example",
            "-x.example",
            "x..example",
            "ex_ample.org",
        ] {
            assert!(parse_domain(bad).is_err(), "{bad}");
        }
    }
}
