use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};
use tenancy::TenantRef;

use super::Tag;
use crate::auth::SessionAuth;
use crate::problem::ApiResult;

#[derive(Enum, Clone, Copy)]
#[oai(rename_all = "snake_case")]
pub enum TenantKind {
    Government,
    Hospital,
    Corporate,
    Clinic,
    Practice,
}

impl From<tenancy::TenantKind> for TenantKind {
    fn from(k: tenancy::TenantKind) -> Self {
        use tenancy::TenantKind as K;
        match k {
            K::Government => TenantKind::Government,
            K::Hospital => TenantKind::Hospital,
            K::Corporate => TenantKind::Corporate,
            K::Clinic => TenantKind::Clinic,
            K::Practice => TenantKind::Practice,
        }
    }
}

impl From<TenantKind> for tenancy::TenantKind {
    fn from(k: TenantKind) -> Self {
        use tenancy::TenantKind as K;
        match k {
            TenantKind::Government => K::Government,
            TenantKind::Hospital => K::Hospital,
            TenantKind::Corporate => K::Corporate,
            TenantKind::Clinic => K::Clinic,
            TenantKind::Practice => K::Practice,
        }
    }
}

/// The organisation this request is addressed to.
#[derive(Object)]
pub struct Tenant {
    pub slug: String,
    pub name: String,
    pub kind: TenantKind,
}

pub struct TenantApi;

#[OpenApi(tag = "Tag::Tenant")]
impl TenantApi {
    /// The current tenant
    #[oai(path = "/tenant", method = "get", operation_id = "getTenant")]
    async fn get(&self, tenant: Data<&TenantRef>, _auth: SessionAuth) -> ApiResult<Json<Tenant>> {
        use tenancy::TenantKind as K;
        let kind = match tenant.kind {
            K::Government => TenantKind::Government,
            K::Hospital => TenantKind::Hospital,
            K::Corporate => TenantKind::Corporate,
            K::Clinic => TenantKind::Clinic,
            K::Practice => TenantKind::Practice,
        };
        Ok(Json(Tenant {
            slug: tenant.slug.to_string(),
            name: tenant.name.clone(),
            kind,
        }))
    }
}
