use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::{ErrorCode, FrtcError};

/// A JSON request body in the FRTC dialect.
///
/// Unlike `axum::Json` it does not insist on a `Content-Type` (FRTC clients differ), treats an
/// empty body as `{}`, and tells apart the ways a body can be wrong, naming the field:
/// `malformed_json` (not JSON at all), `missing_field`, `invalid_field_type`, and for a value
/// of the right type that cannot be read `invalid_time`, `invalid_choice`, `out_of_range` or
/// (no more specific code) `invalid_field`.
/// Unknown fields are ignored so that newer clients keep working.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrtcJson<T>(pub T);

impl<S, T> FromRequest<S> for FrtcJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = FrtcError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                FrtcError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
            } else {
                FrtcError::new(
                    ErrorCode::MalformedJson,
                    "the request body could not be read",
                )
            }
        })?;
        parse(&bytes).map(FrtcJson)
    }
}

/// For `#[serde(default, deserialize_with = "nullable")]` fields: tells an explicit `null`
/// (`Some(None)`) from an absent field (`None`).
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FrtcError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    // Every FRTC body is an object; say so plainly instead of serde's "invalid length 0,
    // expected struct" for `[]`.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(FrtcError::new(
            ErrorCode::MalformedJson,
            "the body must be a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        classify(&path, &inner)
    })?;
    de.end().map_err(|e| {
        FrtcError::new(
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    Ok(value)
}

fn classify(path: &str, e: &serde_json::Error) -> FrtcError {
    use serde_json::error::Category;
    let msg = e.to_string();
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => FrtcError::new(
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON: {msg}"),
        ),
        Category::Data if path == "." && msg.starts_with("invalid type") => {
            FrtcError::new(ErrorCode::MalformedJson, "the body must be a JSON object")
        }
        Category::Data if msg.starts_with("missing field") => {
            // serde says "missing field `x` at line 1 column 2"; keep the useful part.
            let field = msg.split('`').nth(1).unwrap_or("?");
            let full = if path == "." {
                field.to_owned()
            } else {
                format!("{path}.{field}")
            };
            FrtcError::new(ErrorCode::MissingField, format!("missing field `{full}`"))
        }
        Category::Data if msg.starts_with("invalid type") => {
            let detail = msg.split(" at line").next().unwrap_or(&msg);
            FrtcError::new(
                ErrorCode::InvalidFieldType,
                format!("field `{path}` has the wrong type: {detail}"),
            )
        }
        Category::Data => {
            let detail = msg.split(" at line").next().unwrap_or(&msg);
            FrtcError::new(invalid_value(detail), format!("field `{path}`: {detail}"))
        }
    }
}

/// What this dialect's own readers of a field expect (their serde `expecting`): a value of the
/// right JSON type that is not what they expect has a code of its own.
pub(crate) const EXPECTED_MILLIS: &str =
    "milliseconds since the Unix epoch, as a whole number or a string of digits";
pub(crate) const EXPECTED_BOOL: &str = "true or false";

/// Integer fields of bodies, as serde names them in "expected u32".
const INTEGER_TYPES: [&str; 10] = [
    "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize",
];

/// The code of a value of the right JSON type that serde refused ("invalid value: …,
/// expected …").
fn invalid_value(detail: &str) -> ErrorCode {
    let expected = detail
        .rsplit_once(", expected ")
        .map_or("", |(_, expected)| expected);
    if expected == EXPECTED_MILLIS {
        ErrorCode::InvalidTime
    } else if expected == EXPECTED_BOOL {
        ErrorCode::InvalidChoice
    } else if detail.starts_with("invalid value: integer") && INTEGER_TYPES.contains(&expected) {
        ErrorCode::OutOfRange
    } else {
        ErrorCode::InvalidField
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: Option<u32>,
    }

    fn code(bytes: &[u8]) -> ErrorCode {
        parse::<Body>(bytes)
            .map(|_| ())
            .map_err(|e| e.code)
            .err()
            .unwrap_or(ErrorCode::InternalError)
    }

    #[test]
    fn each_kind_of_bad_body_has_its_code() {
        assert_eq!(code(b"{"), ErrorCode::MalformedJson);
        assert_eq!(code(b"not json"), ErrorCode::MalformedJson);
        assert_eq!(code(b"[1]"), ErrorCode::MalformedJson);
        assert_eq!(code(br#"{"name": "a"} {}"#), ErrorCode::MalformedJson);
        assert_eq!(code(b""), ErrorCode::MissingField);
        assert_eq!(code(b"{}"), ErrorCode::MissingField);
        assert_eq!(code(br#"{"name": 5}"#), ErrorCode::InvalidFieldType);
        assert_eq!(
            code(br#"{"name": "a", "count": -1}"#),
            ErrorCode::OutOfRange
        );
        assert_eq!(
            code(br#"{"name": "a", "count": 4294967296}"#),
            ErrorCode::OutOfRange
        );
        assert!(parse::<Body>(br#"{"name": "a", "extra": true}"#).is_ok());
    }

    #[test]
    fn messages_name_the_field() {
        let e = parse::<Body>(br#"{"name": 5}"#)
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(e.contains("`name`"), "{e}");
        let e = parse::<Body>(b"{}")
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(e.contains("`name`"), "{e}");
    }
}
