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
use super::types::{Fields, PageInfo, etag, if_match, page};
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::{ApiError, ApiResult};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum PersonKind {
    Provider,
    Staff,
    Client,
}

#[derive(Enum, Clone, Copy)]
#[oai(rename_all = "snake_case")]
pub enum PersonStatus {
    Active,
    Inactive,
}

impl From<PersonKind> for model::PersonKind {
    fn from(k: PersonKind) -> Self {
        match k {
            PersonKind::Provider => model::PersonKind::Provider,
            PersonKind::Staff => model::PersonKind::Staff,
            PersonKind::Client => model::PersonKind::Client,
        }
    }
}

/// An entry of the organisation's directory.
#[derive(Object)]
pub struct Person {
    pub id: Uuid,
    pub kind: PersonKind,
    pub given_name: String,
    pub family_name: String,
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub department_id: Option<Uuid>,
    pub status: PersonStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    /// Mobile number (E.164) for SMS reminders.
    #[oai(skip_serializing_if_is_none)]
    pub phone: Option<String>,
    /// The person agreed to appointment reminders by text message.
    pub sms_reminders: bool,
}

impl From<model::Person> for Person {
    fn from(p: model::Person) -> Self {
        Person {
            id: p.id,
            kind: match p.kind {
                model::PersonKind::Provider => PersonKind::Provider,
                model::PersonKind::Staff => PersonKind::Staff,
                model::PersonKind::Client => PersonKind::Client,
            },
            given_name: p.given_name,
            family_name: p.family_name,
            email: p.email,
            department_id: p.department_id,
            status: match p.status {
                model::PersonStatus::Active => PersonStatus::Active,
                model::PersonStatus::Inactive => PersonStatus::Inactive,
            },
            created_at: p.created_at,
            updated_at: p.updated_at,
            version: p.version,
            phone: p.phone,
            sms_reminders: p.sms_reminders,
        }
    }
}

#[derive(Object)]
pub struct CreatePerson {
    pub kind: PersonKind,
    #[oai(validator(max_length = 1000))]
    pub given_name: String,
    #[oai(validator(max_length = 1000))]
    pub family_name: String,
    #[oai(validator(max_length = 1000))]
    pub email: Option<String>,
    pub department_id: Option<Uuid>,
}

#[derive(Object)]
pub struct UpdatePerson {
    #[oai(validator(max_length = 1000))]
    pub given_name: Option<String>,
    #[oai(validator(max_length = 1000))]
    pub family_name: Option<String>,
    /// `null` removes the email.
    #[oai(nullable)]
    pub email: MaybeUndefined<String>,
    /// `null` detaches the person from any department.
    #[oai(nullable)]
    pub department_id: MaybeUndefined<Uuid>,
    pub status: Option<PersonStatus>,
    /// Mobile number with its country code (`+1 416 555 0123`); stored in E.164. `null` removes
    /// it.
    #[oai(validator(max_length = 40))]
    #[oai(nullable)]
    pub phone: MaybeUndefined<String>,
    /// Record the person's consent (or its withdrawal) to reminders by text message.
    pub sms_reminders: Option<bool>,
}

#[derive(Object)]
pub struct PersonPage {
    pub items: Vec<Person>,
    pub page: PageInfo,
}

#[derive(ApiResponse)]
pub enum PersonResponse {
    /// The person.
    #[oai(status = 200)]
    Ok(Json<Person>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum PersonCreated {
    /// Created.
    #[oai(status = 201)]
    Created(
        Json<Person>,
        #[oai(header = "ETag")] String,
        #[oai(header = "Location")] String,
    ),
}

fn ok(p: model::Person) -> PersonResponse {
    let tag = etag(p.version);
    PersonResponse::Ok(Json(p.into()), tag)
}

fn name(f: &mut Fields, field: &str, raw: &str) -> Option<model::Name> {
    f.check(field, model::Name::parse(raw, 100))
}

pub struct PeopleApi;

#[OpenApi(prefix_path = "/people", tag = "Tag::People")]
impl PeopleApi {
    /// List the directory entries the caller may see
    #[oai(path = "/", method = "get", operation_id = "listPeople")]
    #[expect(
        clippy::too_many_arguments,
        reason = "poem-openapi takes each query parameter as an argument"
    )]
    async fn list(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        kind: Query<Option<PersonKind>>,
        department_id: Query<Option<Uuid>>,
        /// 1–200, default 50.
        limit: Query<Option<i64>>,
        /// `page.next_after` of the previous page.
        after: Query<Option<Uuid>>,
    ) -> ApiResult<Json<PersonPage>> {
        let filter = model::PeopleFilter {
            kind: kind.0.map(Into::into),
            department_id: department_id.0,
        };
        let p = service::list_people(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            filter,
            page(limit.0, after.0)?,
        )
        .await?;
        Ok(Json(PersonPage {
            items: p.items.into_iter().map(Into::into).collect(),
            page: PageInfo {
                next_after: p.next_after,
            },
        }))
    }

    /// Add a person to the directory
    #[oai(path = "/", method = "post", operation_id = "createPerson")]
    async fn create(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        body: Json<CreatePerson>,
    ) -> ApiResult<PersonCreated> {
        let mut f = Fields::default();
        let given = name(&mut f, "/given_name", &body.given_name);
        let family = name(&mut f, "/family_name", &body.family_name);
        let email = body
            .email
            .as_deref()
            .map(|e| f.check("/email", model::Email::parse(e)));
        f.finish()?;
        let (Some(given), Some(family)) = (given, family) else {
            return Err(ApiError::internal(&"validated names missing"));
        };
        let new = model::NewPerson {
            kind: body.kind.into(),
            name: model::PersonName { given, family },
            email: email.flatten(),
            department_id: body.department_id,
        };
        let p = service::create_person(&state.tenancy, &tenant, &auth.0.principal, new).await?;
        let location = format!("/api/v1/people/{}", p.id);
        let tag = etag(p.version);
        Ok(PersonCreated::Created(Json(p.into()), tag, location))
    }

    /// Get a directory entry
    #[oai(path = "/:person_id", method = "get", operation_id = "getPerson")]
    async fn get(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        person_id: Path<Uuid>,
    ) -> ApiResult<PersonResponse> {
        Ok(ok(service::get_person(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            person_id.0,
        )
        .await?))
    }

    /// Update a directory entry (requires `If-Match`)
    #[oai(path = "/:person_id", method = "patch", operation_id = "updatePerson")]
    async fn update(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        person_id: Path<Uuid>,
        /// The ETag from your last read.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
        body: Json<UpdatePerson>,
    ) -> ApiResult<PersonResponse> {
        let version = if_match(if_match_header.0)?;
        let mut f = Fields::default();
        let given_name = body
            .given_name
            .as_deref()
            .and_then(|n| name(&mut f, "/given_name", n));
        let family_name = body
            .family_name
            .as_deref()
            .and_then(|n| name(&mut f, "/family_name", n));
        let email = match &body.email {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(e) => f.check("/email", model::Email::parse(e)).map(Some),
        };
        let phone = match &body.phone {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(n) => f.check("/phone", model::Phone::parse(n)).map(Some),
        };
        f.finish()?;
        let patch = model::PersonPatch {
            phone,
            sms_reminders: body.sms_reminders,
            given_name,
            family_name,
            email,
            department_id: match body.department_id {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => Some(Some(d)),
            },
            status: body.status.map(|s| match s {
                PersonStatus::Active => model::PersonStatus::Active,
                PersonStatus::Inactive => model::PersonStatus::Inactive,
            }),
        };
        Ok(ok(service::update_person(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            person_id.0,
            version,
            patch,
        )
        .await?))
    }
}
