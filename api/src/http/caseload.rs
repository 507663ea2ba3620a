//! A provider's caseload ("My clients"): their care-team clients with each one's next and
//! last appointment with them (`domain::scheduling::caseload`).

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use tenancy::TenantRef;
use uuid::Uuid;

use domain::scheduling::caseload;

use super::Tag;
use super::appointments::Appointment;
use super::people::Person;
use super::types::{PageInfo, page};
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::ApiResult;

/// A client on the provider's care team.
#[derive(Object)]
pub struct CaseloadClient {
    pub client: Person,
    /// The earliest appointment with this provider that has not started (requested, booked or
    /// already checked in).
    #[oai(skip_serializing_if_is_none)]
    pub next_appointment: Option<Appointment>,
    /// The latest appointment with this provider that has started (not cancelled).
    #[oai(skip_serializing_if_is_none)]
    pub last_appointment: Option<Appointment>,
}

#[derive(Object)]
pub struct CaseloadPage {
    pub items: Vec<CaseloadClient>,
    pub page: PageInfo,
}

pub struct CaseloadApi;

#[OpenApi(tag = "Tag::Appointments")]
impl CaseloadApi {
    /// A provider's clients (care team) with each one's next and last appointment
    ///
    /// The provider themselves, and those who manage the provider's calendar (institution
    /// admins, front desk, sub-admins of the provider's department). Clients are refused (403);
    /// a provider the caller does not manage is not found (404).
    #[oai(
        path = "/providers/:provider_id/clients",
        method = "get",
        operation_id = "listProviderClients"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        provider_id: Path<Uuid>,
        /// 1–200, default 50.
        limit: Query<Option<i64>>,
        /// `page.next_after` of the previous page.
        after: Query<Option<Uuid>>,
    ) -> ApiResult<Json<CaseloadPage>> {
        let p = caseload::list(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            provider_id.0,
            page(limit.0, after.0)?,
        )
        .await?;
        Ok(Json(CaseloadPage {
            items: p
                .items
                .into_iter()
                .map(|x| CaseloadClient {
                    client: x.client.into(),
                    next_appointment: x.next.map(Into::into),
                    last_appointment: x.last.map(Into::into),
                })
                .collect(),
            page: PageInfo {
                next_after: p.next_after,
            },
        }))
    }
}
