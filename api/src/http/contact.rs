//! A client's own contact preferences (`/me/contact`): their mobile number and consent to
//! reminders by text message (`domain::org::contact`). Staff and administrators change the same
//! fields on the directory entry (`PATCH /people/{id}`).

use poem::web::Data;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use tenancy::TenantRef;

use domain::org::{contact, model};

use super::Tag;
use super::types::{Fields, etag, if_match};
use crate::app::AppState;
use crate::auth::SessionAuth;
use crate::problem::ApiResult;

/// The signed-in client's contact preferences.
#[derive(Object)]
pub struct Contact {
    /// Mobile number (E.164) for reminders by text message.
    #[oai(skip_serializing_if_is_none)]
    pub phone: Option<String>,
    /// The client agreed to appointment reminders by text message.
    pub sms_reminders: bool,
    /// The version of the client's entry; send it back as `If-Match: "<version>"`.
    pub version: i32,
}

#[derive(Object)]
pub struct UpdateContact {
    /// Mobile number with its country code (`+1 416 555 0123`); stored in E.164. `null` removes
    /// it (and then consent must be withdrawn in the same request, or already be off).
    #[oai(validator(max_length = 40))]
    #[oai(nullable)]
    pub phone: MaybeUndefined<String>,
    /// Give (`true`) or withdraw (`false`) consent to reminders by text message. A withdrawal
    /// applies to every reminder not yet sent.
    pub sms_reminders: Option<bool>,
}

#[derive(ApiResponse)]
pub enum ContactResponse {
    /// The contact preferences.
    #[oai(status = 200)]
    Ok(Json<Contact>, #[oai(header = "ETag")] String),
}

fn ok(p: model::Person) -> ContactResponse {
    let tag = etag(p.version);
    ContactResponse::Ok(
        Json(Contact {
            phone: p.phone,
            sms_reminders: p.sms_reminders,
            version: p.version,
        }),
        tag,
    )
}

pub struct ContactApi;

#[OpenApi(prefix_path = "/me/contact", tag = "Tag::People")]
impl ContactApi {
    /// Your own contact preferences (clients)
    ///
    /// The mobile number and consent to text-message reminders on the signed-in client's
    /// directory entry. Anyone who is not a client is refused (403): staff and administrators
    /// read these fields on the entry (`GET /people/{id}`).
    #[oai(path = "/", method = "get", operation_id = "getMyContact")]
    async fn get(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
    ) -> ApiResult<ContactResponse> {
        Ok(ok(contact::get_own(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
        )
        .await?))
    }

    /// Change your own contact preferences (clients; requires `If-Match`)
    ///
    /// Same rules as the directory: the number must be a valid international number (422 on
    /// `/phone`), and consent needs a number (422 on `/sms_reminders`).
    #[oai(path = "/", method = "patch", operation_id = "updateMyContact")]
    async fn update(
        &self,
        state: Data<&AppState>,
        tenant: Data<&TenantRef>,
        auth: SessionAuth,
        /// The ETag from your last read.
        #[oai(name = "If-Match")]
        if_match_header: Header<Option<String>>,
        body: Json<UpdateContact>,
    ) -> ApiResult<ContactResponse> {
        let version = if_match(if_match_header.0)?;
        let mut f = Fields::default();
        let phone = match &body.phone {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(n) => f.check("/phone", model::Phone::parse(n)).map(Some),
        };
        f.finish()?;
        let patch = contact::ContactPatch {
            phone,
            sms_reminders: body.sms_reminders,
        };
        Ok(ok(contact::update_own(
            &state.tenancy,
            &tenant,
            &auth.0.principal,
            version,
            patch,
        )
        .await?))
    }
}
