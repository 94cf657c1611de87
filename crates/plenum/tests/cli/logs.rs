//! What the server logs: no secrets, and a request id on every request's lines.

use serde_json::{Value, json};

use crate::Sandbox;

const SECRET_ADMIN_PASSWORD: &str = "Log-Secret-Adm1n-Pw";
const WRONG_PASSWORD: &str = "Wrong-Secret-Passw0rd-9";

#[tokio::test]
async fn secrets_never_reach_stdout_or_the_json_debug_log_and_requests_carry_their_id() {
    let sandbox = Sandbox::new();
    let server = sandbox
        .serve(
            &[
                "--admin-password",
                SECRET_ADMIN_PASSWORD,
                "--log-format",
                "json",
            ],
            &[("PLENUM_LOG", "debug")],
        )
        .await;
    let signed_in = server.try_sign_in("admin", SECRET_ADMIN_PASSWORD).await;
    assert_eq!(signed_in.status.as_u16(), 200, "{signed_in:?}");
    let token = signed_in.body["user_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let by_query = server
        .post(
            &format!("/api/v1/user/info?client_id=c1&token={token}"),
            None,
            None,
        )
        .await;
    assert_eq!(by_query.status.as_u16(), 200, "{by_query:?}");
    let by_header = server.post("/api/v1/user/info", Some(&token), None).await;
    assert_eq!(by_header.status.as_u16(), 200, "{by_header:?}");
    let wrong = server.try_sign_in("admin", WRONG_PASSWORD).await;
    wrong.assert_error(401, "invalid_credentials");
    // A calendar feed's URL is its credential.
    let feed = server
        .post("/api/v1/user/calendar_feed", Some(&token), None)
        .await;
    assert_eq!(feed.status.as_u16(), 200, "{feed:?}");
    let feed_url = feed.body["calendar_url"].as_str().expect("a feed URL");
    let feed_secret = feed_url
        .rsplit('/')
        .next()
        .and_then(|last| last.strip_suffix(".ics"))
        .expect("a feed secret")
        .to_owned();
    let path = &feed_url[feed_url.find("/api/").expect("a path")..];
    let ics = reqwest::get(server.url(path)).await.expect("GET the feed");
    assert_eq!(ics.status().as_u16(), 200);
    let stopped = server.stop().await;

    for secret in [
        SECRET_ADMIN_PASSWORD,
        WRONG_PASSWORD,
        token.as_str(),
        feed_secret.as_str(),
    ] {
        assert!(!stopped.stdout.contains(secret), "{secret} on stdout");
        assert!(!stopped.stderr.contains(secret), "{secret} in the log");
    }
    // Nor the stored hash of a credential.
    assert!(
        !stopped.stderr.contains("$argon2"),
        "a password hash in the log"
    );

    // Every log line is one JSON object.
    let lines: Vec<Value> = stopped
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    // Every line logged inside a request's span carries its request id.
    let in_request: Vec<&Value> = lines
        .iter()
        .filter(|l| l["span"]["name"] == "request")
        .collect();
    assert!(
        !in_request.is_empty(),
        "no request lines:\n{}",
        stopped.stderr
    );
    for line in &in_request {
        assert!(
            line["span"]["request_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty() && id != "-"),
            "a request line without a request id: {line}"
        );
    }
    // The id a client got in x-request-id finds the request's lines, including the one that
    // records its outcome; the logged path has no query string.
    for (reply, status, path) in [
        (&signed_in, 200, "/api/v1/user/sign_in"),
        (&by_query, 200, "/api/v1/user/info"),
        (&by_header, 200, "/api/v1/user/info"),
        (&wrong, 401, "/api/v1/user/sign_in"),
    ] {
        let id = reply.request_id.as_deref().expect("an x-request-id header");
        let mine: Vec<&&Value> = in_request
            .iter()
            .filter(|l| l["span"]["request_id"] == id)
            .collect();
        assert!(
            mine.iter().all(|l| l["span"]["path"] == path),
            "{id}: {mine:?}"
        );
        assert!(
            mine.iter().any(|l| l["status"] == json!(status)),
            "no line with the outcome of request {id}:\n{}",
            stopped.stderr
        );
    }
}
