use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use tenancy::TenantRef;
use uuid::Uuid;

use domain::org::{model, service};

use super::Tag;
use super::types::{PageInfo, etag, if_match, page};
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::{ApiError, ApiResult};

#[derive(Enum, Clone, Copy)]
#[oai(rename_all = "snake_case")]
pub enum DepartmentKind {
    Site,
    Department,
    Unit,
    Program,
}

impl From<DepartmentKind> for model::DepartmentKind {
    fn from(k: DepartmentKind) -> Self {
        match k {
            DepartmentKind::Site => model::DepartmentKind::Site,
            DepartmentKind::Department => model::DepartmentKind::Department,
            DepartmentKind::Unit => model::DepartmentKind::Unit,
            DepartmentKind::Program => model::DepartmentKind::Program,
        }
    }
}

impl From<model::DepartmentKind> for DepartmentKind {
    fn from(k: model::DepartmentKind) -> Self {
        match k {
            model::DepartmentKind::Site => DepartmentKind::Site,
            model::DepartmentKind::Department => DepartmentKind::Department,
            model::DepartmentKind::Unit => DepartmentKind::Unit,
            model::DepartmentKind::Program => DepartmentKind::Program,
        }
    }
}

/// A node of the organisation's department tree.
#[derive(Object)]
pub struct Department {
    pub id: Uuid,
    /// Absent for top-level departments.
    #[oai(skip_serializing_if_is_none)]
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub kind: DepartmentKind,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increments on every change; the ETag is this number in quotes.
    pub version: i32,
}

impl From<model::Department> for Department {
    fn from(d: model::Department) -> Self {
        Department {
            id: d.id,
            parent_id: d.parent_id,
            name: d.name,
            kind: d.kind.into(),
            created_at: d.created_at,
            updated_at: d.updated_at,
            version: d.version,
        }
    }
}

#[derive(Object)]
pub struct CreateDepartment {
    /// The department this one belongs to; omit for a top-level department.
    pub parent_id: Option<Uuid>,
    /// 1 to 200 characters, unique among its siblings.
    #[oai(validator(max_length = 1000))]
    pub name: String,
    pub kind: DepartmentKind,
}

#[derive(Object)]
pub struct UpdateDepartment {
    #[oai(validator(max_length = 1000))]
    pub name: Option<String>,
    pub kind: Option<DepartmentKind>,
    /// Move under another department; `null` moves it to the top level.
    #[oai(nullable)]
    pub parent_id: MaybeUndefined<Uuid>,
}

#[derive(Object)]
pub struct DepartmentPage {
    pub items: Vec<Department>,
    pub page: PageInfo,
}

#[derive(ApiResponse)]
pub enum DepartmentResponse {
    /// The department.
    #[oai(status = 200)]
    Ok(Json<Department>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum DepartmentCreated {
    /// Created.
    #[oai(status = 201)]
    Created(
        Json<Department>,
        #[oai(header = "ETag")] String,
        #[oai(header = "Location")] String,
    ),
}

#[derive(ApiResponse)]
pub enum Deleted {
    /// Deleted.
    #[oai(status = 204)]
    Done,
}

pub struct DepartmentsApi;

fn ok(d: model::Department) -> DepartmentResponse {
    let tag = etag(d.version);
    DepartmentResponse::Ok(Json(d.into()), tag)
}

#[OpenApi(prefix_path = "/departments", tag = "Tag::Departments")]
impl DepartmentsApi {
    /// List departments (flat, in creation order; build the tree from `parent_id`)
    #[oai(path = "/", method = "get", operation_id = "listDepartments")]
    async fn list(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        /// 1–200, default 50.
        limit: Query<Option<i64>>,
        /// `page.next_after` of the previous page.
        after: Query<Option<Uuid>>,
    ) -> ApiResult<Json<DepartmentPage>> {
        let p = service::list_departments(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            page(limit.0, after.0)?,
        )
        .await?;
        Ok(Json(DepartmentPage {
            items: p.items.into_iter().map(Into::into).collect(),
            page: PageInfo {
                next_after: p.next_after,
            },
        }))
    }

    /// Create a department
    #[oai(path = "/", method = "post", operation_id = "createDepartment")]
    async fn create(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        body: Json<CreateDepartment>,
    ) -> ApiResult<DepartmentCreated> {
        let name =
            model::Name::parse(&body.name, 200).map_err(|m| ApiError::invalid_field("/name", m))?;
        let new = model::NewDepartment {
            parent_id: body.parent_id,
            name,
            kind: body.kind.into(),
        };
        let d = service::create_department(&state.tenancy, &tenant, &auth.0.principal, new).await?;
        let location = format!("/api/v1/departments/{}", d.id);
        let tag = etag(d.version);
        Ok(DepartmentCreated::Created(Json(d.into()), tag, location))
    }

    /// Get a department
    #[oai(
        path = "/:department_id",
        method = "get",
        operation_id = "getDepartment"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        department_id: Path<Uuid>,
    ) -> ApiResult<DepartmentResponse> {
        Ok(ok(service::get_department(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            department_id.0,
        )
        .await?))
    }

    /// Update a department (requires `If-Match`)
    #[oai(
        path = "/:department_id",
        method = "patch",
        operation_id = "updateDepartment"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        department_id: Path<Uuid>,
        /// The ETag from your last read.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
        body: Json<UpdateDepartment>,
    ) -> ApiResult<DepartmentResponse> {
        let version = if_match(if_match_header.0)?;
        let name = body
            .name
            .as_deref()
            .map(|n| model::Name::parse(n, 200).map_err(|m| ApiError::invalid_field("/name", m)))
            .transpose()?;
        let patch = model::DepartmentPatch {
            name,
            kind: body.kind.map(Into::into),
            parent_id: match body.parent_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(v)),
            },
        };
        let d = service::update_department(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            department_id.0,
            version,
            patch,
        )
        .await?;
        Ok(ok(d))
    }

    /// Delete a department (requires `If-Match`; refused while it has children or people)
    #[oai(
        path = "/:department_id",
        method = "delete",
        operation_id = "deleteDepartment"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        department_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match_header: Header<Option<String>>,
    ) -> ApiResult<Deleted> {
        let version = if_match(if_match_header.0)?;
        service::delete_department(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            department_id.0,
            version,
        )
        .await?;
        Ok(Deleted::Done)
    }
}
