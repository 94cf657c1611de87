//! The OpenAPI document, generated from the handlers' annotations, and a browsable page.

use axum::response::Html;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Plenum",
        description = "Self-hosted meeting server. The FRTC API (`/api/v1`) is Plenum's main API. \
            Errors are `{\"error\": ..., \"errorCode\": ...}`; see docs/errors.md for the codes.",
    ),
    modifiers(&Security),
    tags(
        (name = "User", description = "FRTC: sign-in, tokens and users"),
        (name = "Meeting Schedule", description = "FRTC: instant, reserved and recurring meetings; calendars"),
        (name = "Meeting Room", description = "FRTC: persistent meeting rooms"),
        (name = "System", description = "FRTC: capacity and version"),
        (name = "Company", description = "Plenum extension: companies (tenants)"),
        (name = "Recordings", description = "Plenum extension: recordings of running meetings and the company's recordings, with download links"),
        (name = "History", description = "Plenum extension: integration keys (API keys, Huawei apps) and history import"),
        (name = "Webhooks", description = "Plenum extension: webhook endpoints, their delivery log and replay (docs/webhooks.md)"),
        (name = "Audit", description = "Plenum extension: the audit log of host and administrator actions"),
        (name = "Operations", description = "Liveness"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        // One name, two ways to send it: the header is preferred, the query is what the FRTC
        // document shows.
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "token_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("token"))),
        );
    }
}

/// A self-contained page (no CDN: installations are often offline) that renders the document.
pub async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
