//! JSON answers whose bytes are made here: bodies that are JSON already, and large answers (a
//! history page of 20 recordings or 50 calls: 10–60 KB) written into a buffer sized for them up
//! front. `axum::Json` starts from 128 bytes and doubles: a 60 KB answer was copied nine times
//! on its way, and the freed buffers kept the allocator busy.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// `body`, JSON already, as an `application/json` answer.
pub(crate) fn json_answer(body: impl Into<Body>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.into(),
    )
        .into_response()
}

/// `value` as an `application/json` answer, written into `capacity` bytes to begin with.
pub(crate) fn large_json<T: Serialize>(value: &T, capacity: usize) -> Response {
    let mut body = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => json_answer(body),
        // What `axum::Json` answers when serialising fails (it cannot for these types).
        Err(error) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            error.to_string(),
        )
            .into_response(),
    }
}
