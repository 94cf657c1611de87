//! Integration tests of the HTTP API: a real server per test, real HTTP over loopback.

mod companies;
mod errors;
mod openapi;
mod persistence;
mod system;
mod tokens;
mod users;

use serde_json::Value;

/// The keys of a JSON object, sorted: for "exactly the documented fields" checks.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

pub fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

/// Asserts an FRTC error: the status, the code, and the documented shape.
#[track_caller]
pub fn assert_frtc_error(reply: &plenum_testkit::Reply, status: u16, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "body: {}", reply.body);
    assert_eq!(reply.error_code(), code, "body: {}", reply.body);
    assert_eq!(keys(&reply.body), sorted(&["error", "errorCode"]));
    assert!(!reply.body["error"].as_str().unwrap_or("").is_empty());
}
