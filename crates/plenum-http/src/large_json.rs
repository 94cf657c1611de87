//! Large JSON answers (a history page of 20 recordings or 50 calls: 10–60 KB), written into a
//! buffer sized for them up front. `axum::Json` starts from 128 bytes and doubles: a 60 KB
//! answer was copied nine times on its way, and the freed buffers kept glibc's allocator busy.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `value` as an `application/json` answer, written into `capacity` bytes to begin with.
pub(crate) fn large_json<T: Serialize>(value: &T, capacity: usize) -> Response {
    let mut body = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        // What `axum::Json` answers when serialising fails (it cannot for these types).
        Err(error) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            error.to_string(),
        )
            .into_response(),
    }
}
