//! The Rocket.Chat surface in the OpenAPI document: its paths (annotated above the handlers)
//! and the bodies it reads and writes with `json!` or by hand, described here.

use utoipa::{OpenApi, ToSchema};

use super::Call;

#[derive(OpenApi)]
#[openapi(paths(super::login, super::list))]
pub(crate) struct Doc;

/// `username` (or `user`: a username or an e-mail address) and `password`.
#[derive(Debug, ToSchema)]
#[schema(as = RocketChatLoginRequest)]
#[allow(dead_code)]
pub(crate) struct LoginRequest {
    username: Option<String>,
    /// A username or an e-mail address (what `rocketchat_API` sends).
    user: Option<String>,
    password: String,
}

#[derive(Debug, ToSchema)]
#[schema(as = RocketChatLoginResponse)]
#[allow(dead_code)]
pub(crate) struct LoginResponse {
    /// `success`.
    #[schema(example = "success")]
    status: String,
    data: LoginData,
}

#[derive(Debug, ToSchema)]
#[schema(as = RocketChatLoginData)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct LoginData {
    /// A Plenum access token of the user: send it as `X-Auth-Token`.
    auth_token: String,
    /// The user's id: send it as `X-User-Id`.
    #[schema(format = Uuid)]
    user_id: String,
    me: Me,
}

#[derive(Debug, ToSchema)]
#[schema(as = RocketChatMe)]
#[allow(dead_code)]
pub(crate) struct Me {
    #[serde(rename = "_id")]
    #[schema(format = Uuid)]
    id: String,
    username: String,
    /// The real name, or the username when there is none.
    name: String,
}

/// The answer of `video-conference.list`.
#[derive(Debug, ToSchema)]
#[schema(as = RocketChatCallList)]
#[allow(dead_code)]
pub(crate) struct CallList {
    /// Calls in this answer.
    count: u32,
    data: Vec<Call<'static>>,
    offset: u32,
    success: bool,
    /// Calls held in the room.
    total: u64,
}

/// Rocket.Chat's REST layer's error of authentication (401), and of a path it does not have
/// (404, 405: `API endpoint does not exist`).
#[derive(Debug, ToSchema)]
#[schema(as = RocketChatStatusError)]
#[allow(dead_code)]
pub(crate) struct StatusError {
    /// `error`.
    #[schema(example = "error")]
    status: String,
    #[schema(example = "You must be logged in to do this.")]
    message: String,
    /// `Unauthorized` (login only).
    error: Option<String>,
}

/// A refused call (400, 413, 429, 500), as Rocket.Chat's API answers it.
#[derive(Debug, ToSchema)]
#[schema(as = RocketChatFailure)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct Failure {
    /// `false`.
    success: bool,
    #[schema(example = "must have required property 'roomId' [invalid-params]")]
    error: String,
    /// `invalid-params`, when the error has a type.
    error_type: Option<String>,
}
