//! The web app's routes in the OpenAPI document (annotated above the handlers).

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(super::page, super::asset))]
pub(crate) struct Doc;
