//! The recording files' route in the OpenAPI document (annotated above the handler).

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(super::download))]
pub(crate) struct Doc;
