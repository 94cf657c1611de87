//! `GET`/`HEAD /files/recordings/{company}/{session}/{recording}.{ext}?expires=&signature=`:
//! recording files behind signed links (`plenum_service::recording_files::links`).
//!
//! - The link is the credential: its HMAC covers the company, session, recording, extension
//!   and expiry, so another company's file, an edited link or an expired one is refused
//!   with `403` and an FRTC error body (`link_invalid`, `link_expired`: 403 rather than 410
//!   for an expired link, so a client needs to know one status for "ask for a new link").
//!   Only an authentic link is told it expired. The query (the signature) is never logged:
//!   the request span records the path alone.
//! - A file that is not (or no longer) there: `404 recording_not_found`; so is every path
//!   when the server keeps no recordings (`AppState::recordings` is `None`).
//! - Ranges: a local file is served by tower-http's `ServeFile` (`Range` → `206`, an
//!   unsatisfiable one → `416`, `If-Range`, `HEAD`, `Last-Modified`). An object in S3
//!   storage is proxied with ranged reads: one `bytes=` range is answered `206` (several:
//!   the whole file, `200`, which RFC 9110 allows), `If-Range` by the object's entity tag or
//!   date.

use std::ops::Range;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use plenum_domain::Timestamp;
use plenum_service::recording_files::{
    Downloads, FileKey, FilesError, LinkError, Location, content_type,
};
use serde::Deserialize;
use tower::ServiceExt as _;
use tower_http::services::ServeFile;

use crate::AppState;
use crate::frtc::{ErrorCode, FrtcError};

pub(crate) mod openapi;

/// The route.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route(
        "/files/recordings/{company}/{session}/{file}",
        get(download),
    )
}

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    expires: Option<String>,
    signature: Option<String>,
}

/// Serves one recording file to the holder of a valid link.
#[utoipa::path(method(get, head), path = "/files/recordings/{company}/{session}/{file}", tag = "Recording files",
    summary = "Download a recording file",
    description = "The links the recording lists hand out (Telnyx `download_url`, Rokid \
        `egressRecordUrl`, FRTC `download_url`). The link is the credential: its signature \
        covers the company, session, recording, extension and expiry. One `bytes=` range is \
        answered `206`.",
    params(
        ("company" = String, Path, description = "The company's id"),
        ("session" = String, Path, description = "The session's id"),
        ("file" = String, Path, description = "`<recording id>.<extension>` (`webm`, ...)"),
        ("expires" = String, Query, description = "The link's expiry (signed)"),
        ("signature" = String, Query, description = "The link's signature"),
        ("Range" = Option<String>, Header, description = "One `bytes=` range"),
        ("If-Range" = Option<String>, Header, description = "The entity tag or date the range is for"),
    ),
    responses(
        (status = 200, description = "The file", content(
            (Vec<u8> = "video/webm"),
            (Vec<u8> = "application/octet-stream"),
        )),
        (status = 206, description = "The range asked for", headers(("Content-Range" = String))),
        (status = 403, description = "`link_invalid`: not a link the server signed (another company's, edited); `link_expired`", body = crate::frtc::ErrorBody),
        (status = 404, description = "`recording_not_found`: deleted, not stored yet, or the server keeps no recordings", body = crate::frtc::ErrorBody),
        (status = 416, description = "The range is beyond the file"),
        (status = 500, description = "`internal_error`: the file cannot be read now", body = crate::frtc::ErrorBody),
    ))]
pub async fn download(
    State(state): State<AppState>,
    Path((company, session, file)): Path<(String, String, String)>,
    Query(query): Query<LinkQuery>,
    request: Request,
) -> Response {
    let Some(downloads) = state.recordings.as_deref() else {
        return not_found();
    };
    let key = match verify(
        downloads,
        &company,
        &session,
        &file,
        &query,
        state.plenum.now(),
    ) {
        Ok(key) => key,
        Err(LinkError::Invalid) => {
            return FrtcError::new(ErrorCode::LinkInvalid, LinkError::Invalid.to_string())
                .into_response();
        }
        Err(LinkError::Expired) => {
            return FrtcError::new(ErrorCode::LinkExpired, LinkError::Expired.to_string())
                .into_response();
        }
    };
    let location = match downloads.files.locate(&key).await {
        Ok(location) => location,
        Err(e) => return files_error(e),
    };
    let mut response = match location {
        Location::File(path) => {
            let mut response = match ServeFile::new(path).oneshot(request).await {
                Ok(response) => response.map(Body::new),
                Err(never) => match never {},
            };
            // The type of the recording's format, not a guess from the file name.
            if response.headers().contains_key(header::CONTENT_TYPE) {
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(content_type(key.extension)),
                );
            }
            response
        }
        Location::Object {
            size,
            etag,
            last_modified,
        } => {
            serve_object(
                downloads,
                &key,
                request.method(),
                request.headers(),
                size,
                etag,
                last_modified,
            )
            .await
        }
    };
    if response.status().is_success() {
        // A link is a credential with an expiry: shared caches keep nothing.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    }
    response
}

fn verify(
    downloads: &Downloads,
    company: &str,
    session: &str,
    file: &str,
    query: &LinkQuery,
    now: Timestamp,
) -> Result<FileKey, LinkError> {
    let (recording, extension) = file.rsplit_once('.').ok_or(LinkError::Invalid)?;
    let (Some(expires), Some(signature)) = (&query.expires, &query.signature) else {
        return Err(LinkError::Invalid);
    };
    downloads.links.verify(
        company, session, recording, extension, expires, signature, now,
    )
}

fn not_found() -> Response {
    FrtcError::new(
        ErrorCode::RecordingNotFound,
        "no such recording file: it was deleted, or is not stored yet",
    )
    .into_response()
}

fn files_error(error: FilesError) -> Response {
    match error {
        FilesError::NotFound(_) => not_found(),
        other => {
            tracing::error!(error = %other, "cannot serve a recording file");
            FrtcError::new(
                ErrorCode::InternalError,
                "the recording file cannot be read now; the server log has the details under this request's x-request-id",
            )
            .into_response()
        }
    }
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Whole,
    Part(Range<u64>),
    Unsatisfiable,
}

/// Reads a `Range` header: one `bytes=` range (`a-b`, `a-`, `-n`). Anything else (other
/// units, several ranges, a malformed header) is ignored, which means the whole file.
fn wanted(header: Option<&HeaderValue>, size: u64) -> Wanted {
    let Some(spec) = header
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.trim().strip_prefix("bytes="))
    else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let range = match (first.trim().is_empty(), last.trim().is_empty()) {
        // -n: the last n bytes.
        (true, false) => match number(last) {
            Some(0) => return Wanted::Unsatisfiable,
            Some(n) => size.saturating_sub(n)..size,
            None => return Wanted::Whole,
        },
        // a-: from a to the end.
        (false, true) => match number(first) {
            Some(a) => a..size,
            None => return Wanted::Whole,
        },
        (false, false) => match (number(first), number(last)) {
            (Some(a), Some(b)) if a <= b => a..b.saturating_add(1).min(size),
            _ => return Wanted::Whole,
        },
        (true, true) => return Wanted::Whole,
    };
    if range.start >= size {
        Wanted::Unsatisfiable
    } else {
        Wanted::Part(range)
    }
}

/// `Last-Modified`'s format (IMF-fixdate).
fn http_date(t: Timestamp) -> String {
    t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

async fn serve_object(
    downloads: &Downloads,
    key: &FileKey,
    method: &Method,
    headers: &HeaderMap,
    size: u64,
    etag: Option<String>,
    last_modified: Timestamp,
) -> Response {
    let last_modified = http_date(last_modified);
    // If-Range: the range only if the file is still the one the client has part of.
    let current = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| {
            let v = v.trim();
            match &etag {
                _ if v.starts_with("W/") => false,
                Some(tag) if v.starts_with('"') => v == tag,
                _ => v == last_modified,
            }
        });
    let wanted = if current {
        wanted(headers.get(header::RANGE), size)
    } else {
        Wanted::Whole
    };
    let mut builder = Response::builder()
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::LAST_MODIFIED, &last_modified);
    if let Some(tag) = &etag {
        builder = builder.header(header::ETAG, tag);
    }
    let (status, range) = match wanted {
        Wanted::Unsatisfiable => {
            return builder
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .body(Body::empty())
                .unwrap_or_else(|_| StatusCode::RANGE_NOT_SATISFIABLE.into_response());
        }
        Wanted::Whole => (StatusCode::OK, 0..size),
        Wanted::Part(range) => {
            builder = builder.header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size}", range.start, range.end - 1),
            );
            (StatusCode::PARTIAL_CONTENT, range)
        }
    };
    builder = builder
        .status(status)
        .header(header::CONTENT_TYPE, content_type(key.extension))
        .header(header::CONTENT_LENGTH, range.end - range.start);
    let body = if method == Method::HEAD || range.is_empty() {
        Body::empty()
    } else {
        match downloads.files.read(key, range).await {
            Ok(stream) => Body::from_stream(stream),
            Err(e) => return files_error(e),
        }
    };
    builder
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str, size: u64) -> Wanted {
        wanted(
            Some(&HeaderValue::from_str(text).unwrap_or_else(|e| panic!("{e}"))),
            size,
        )
    }

    #[test]
    fn ranges() {
        assert_eq!(wanted(None, 10), Wanted::Whole);
        assert_eq!(range("bytes=0-99", 1000), Wanted::Part(0..100));
        assert_eq!(range("bytes=990-2000", 1000), Wanted::Part(990..1000));
        assert_eq!(range("bytes=500-", 1000), Wanted::Part(500..1000));
        assert_eq!(range("bytes=-100", 1000), Wanted::Part(900..1000));
        assert_eq!(range("bytes=-5000", 1000), Wanted::Part(0..1000));
        assert_eq!(range("bytes=1000-", 1000), Wanted::Unsatisfiable);
        assert_eq!(range("bytes=-0", 1000), Wanted::Unsatisfiable);
        assert_eq!(range("bytes=0-0", 0), Wanted::Unsatisfiable);
        for ignored in [
            "items=0-1",
            "bytes=0-1,5-6",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=-",
        ] {
            assert_eq!(range(ignored, 1000), Wanted::Whole, "{ignored}");
        }
    }
}
