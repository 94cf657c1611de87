//! The watch page's and WHEP's routes in the OpenAPI document (annotated above the handlers).

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(
    super::page,
    super::status,
    super::whep_offer,
    super::whep_delete,
    super::whep_patch,
    super::asset
))]
pub(crate) struct Doc;
