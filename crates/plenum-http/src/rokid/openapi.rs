//! The Rokid surface in the OpenAPI document: its paths (annotated above the handlers) and
//! the shapes it reads and writes by hand (`serde_json::Value`), described here.

use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(paths(super::meeting_history, super::participants))]
pub(crate) struct Doc;

/// A whole number as a JSON number or a numeric string (`""` means not given), as Rokid's
/// Java service reads it.
pub(crate) fn number_or_text() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Integer))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^\s*(-?[0-9]+)?\s*$")),
        )
        .into()
}

/// The body of `meeting/info/page`. Empty strings mean "not given".
#[derive(Debug, ToSchema)]
#[schema(as = RokidMeetingHistoryRequest, rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct MeetingHistoryRequest {
    /// Page number, from 1 (default 1).
    #[schema(schema_with = number_or_text)]
    page_num: Option<i64>,
    /// Page size, 1..=500 (default 10).
    #[schema(schema_with = number_or_text)]
    page_size: Option<i64>,
    /// Part of the meeting's name (case-insensitive), at most 128 characters.
    meeting_name: Option<String>,
    /// The company's id (`GET /api/v1/company`); must be the API key's company.
    #[schema(format = Uuid)]
    company_id: String,
    /// Meetings that started at or after this, `yyyy-MM-dd HH:mm:ss` in the company's time zone.
    #[schema(example = "2026-06-01 00:00:00")]
    start_time: Option<String>,
    /// Meetings that started at or before this (to the second), same format.
    #[schema(example = "2026-06-17 23:59:59")]
    end_time: Option<String>,
}

/// Spring Boot's default error body, as Rokid's Java service answers every error.
#[derive(Debug, ToSchema)]
#[schema(as = RokidError)]
#[allow(dead_code)]
pub(crate) struct ErrorBody {
    /// When it happened, ISO 8601 with milliseconds (`2026-06-17T08:00:00.000+00:00`).
    timestamp: Option<String>,
    /// The HTTP status, again.
    status: u16,
    /// The status's reason phrase (`Bad Request`).
    error: String,
    /// What went wrong.
    message: String,
    /// The request's path.
    path: String,
}
