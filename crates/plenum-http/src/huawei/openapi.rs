//! The Huawei surface in the OpenAPI document: its paths (annotated above the handlers) and
//! the bodies it reads and writes with `json!`, described here.

use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(paths(super::account_auth, super::app_auth, super::attendee_records))]
pub(crate) struct Doc;

/// The language of error messages.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub(crate) struct Language {
    /// `en-US` (any `en...`) for English; anything else (default `zh-CN`) simplified Chinese.
    #[serde(rename = "Accept-Language")]
    accept_language: Option<String>,
}

/// What `huaweicloudsdkmeeting` sends; only `account` is read, and must be the user of the
/// `Basic` credentials. The body may be empty.
#[derive(Debug, ToSchema)]
#[schema(as = HuaweiAccountAuthRequest)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct AccountAuthRequest {
    account: Option<String>,
    client_type: Option<i32>,
}

/// What `huaweicloudsdkmeeting` sends to `appauth`.
#[derive(Debug, ToSchema)]
#[schema(as = HuaweiAppAuthRequest)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct AppAuthRequest {
    /// The app's id; `access` in `Authorization` must name it too.
    app_id: String,
    /// Signed over; any value.
    user_id: Option<String>,
    /// The app's company id, when given (the SDK's multi-tenant form signs over it).
    corp_id: Option<String>,
    /// Unix seconds when the signature expires: in the future, at most a day ahead.
    expire_time: i64,
    /// 1 to 128 characters, signed over.
    #[schema(min_length = 1, max_length = 128)]
    nonce: String,
    client_type: Option<i32>,
    dept_code: Option<String>,
}

/// Huawei's error body. Messages are in the language `Accept-Language` asks for.
#[derive(Debug, ToSchema)]
#[schema(as = HuaweiError)]
#[allow(dead_code)]
pub(crate) struct ErrorBody {
    #[schema(example = "MMC.111000001")]
    error_code: String,
    error_msg: String,
}
