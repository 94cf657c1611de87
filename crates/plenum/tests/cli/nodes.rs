//! Several `plenum serve` processes on one PostgreSQL database, as one installation
//! (docs/scaling.md): any node answers any call, a meeting runs on the node that holds its
//! lease, and a join or a control call reaching another node is relayed to it.
//!
//! Each node has a data directory of its own, so whatever one sees of another can only have
//! come through PostgreSQL or the relay. Skipped (with a notice) without
//! `PLENUM_TEST_DATABASE_URL`, unless `CI` is set, like `postgres.rs`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use plenum_client::Participant;
use plenum_store_postgres::testing::{self, TestDatabase};
use serde_json::json;

use crate::{ADMIN_PASSWORD, Sandbox, Server, free_port, loopback};

async fn database(test: &str) -> Option<TestDatabase> {
    let server = testing::server(test)?;
    Some(TestDatabase::create(&server).await)
}

/// The secrets every node holds in its data directory (docs/scaling.md).
const SECRETS: [&str; 2] = ["app-key.secret", "recording-links.secret"];

/// A node: its own sandbox, serving on a port of its own, which is also its node address.
/// Every node after the first has the first's secrets, as an operator copies them.
async fn node(url: &str, lease_secs: u64, first: Option<&Sandbox>) -> (Sandbox, Server) {
    let sandbox = Sandbox::new();
    if let Some(first) = first {
        std::fs::create_dir_all(sandbox.data_dir()).expect("a data directory");
        for secret in SECRETS {
            std::fs::copy(
                first.data_dir().join(secret),
                sandbox.data_dir().join(secret),
            )
            .expect("copying a secret");
        }
    }
    match start(&sandbox, url, lease_secs).await {
        Ok(server) => (sandbox, server),
        Err(e) => panic!("{e}"),
    }
}

/// `plenum serve` as a node on `sandbox`; `Err` with its output if it does not start.
async fn start(sandbox: &Sandbox, url: &str, lease_secs: u64) -> Result<Server, String> {
    let config = sandbox.write("plenum.toml", &format!("node_lease_secs = {lease_secs}\n"));
    let config = config.to_string_lossy().into_owned();
    let mut failures = Vec::new();
    for _ in 0..3 {
        let addr: SocketAddr = loopback(free_port());
        let listen = addr.to_string();
        let address = format!("http://{addr}");
        let started = sandbox
            .serve_at(
                addr,
                &[
                    "--config",
                    &config,
                    "--listen",
                    &listen,
                    "--database-url",
                    url,
                    "--node-address",
                    &address,
                    "--admin-password",
                    ADMIN_PASSWORD,
                ],
                &[],
            )
            .await;
        match started {
            Ok(server) => return Ok(server),
            Err(e) if e.contains("cannot listen on") => failures.push(e),
            Err(e) => return Err(e),
        }
    }
    Err(format!("no free port for a node: {failures:#?}"))
}

/// A guest in `number` (password 1234) through `server`, and the session joined; `Err` says
/// why the join failed.
async fn join(server: &Server, number: &str, name: &str) -> Result<(Participant, String), String> {
    let (p, joined) = crate::live::try_join(server, number, name).await?;
    Ok((p, joined.session_id))
}

/// Makes the room `number` (password 1234) through `server`; the admin's token there and
/// the room's id.
async fn room(server: &Server, number: &str) -> (String, String) {
    let admin = server.sign_in("admin", ADMIN_PASSWORD).await;
    let room = server
        .post(
            "/api/v1/meeting_room",
            Some(&admin),
            Some(json!({"meetingroom_name": "Ops", "meeting_number": number, "meeting_password": "1234"})),
        )
        .await;
    assert_eq!(room.status.as_u16(), 200, "{room:?}");
    let id = room.body["meeting_room_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    (admin, id)
}

fn names_in(detail: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = detail["participants"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn two_nodes_serve_one_installation_and_one_meeting() {
    let Some(db) = database("two_nodes_serve_one_installation_and_one_meeting").await else {
        return;
    };
    let url = db.url();
    let (a_dir, a) = node(&url, 15, None).await;
    // A node with secrets of its own would refuse the others' app tokens and links: it
    // does not start, and says what to do.
    let stranger = start(&Sandbox::new(), &url, 15)
        .await
        .err()
        .unwrap_or_default();
    assert!(
        stranger.contains("are not the installation's") && stranger.contains("app-key.secret"),
        "{stranger}"
    );
    let (_b_dir, b) = node(&url, 15, Some(&a_dir)).await;

    // Made through A, read through B.
    let (admin_a, room_id) = room(&a, "7300001").await;
    let admin_b = b.sign_in("admin", ADMIN_PASSWORD).await;
    let read = b
        .get(&format!("/api/v1/meeting_room/{room_id}"), Some(&admin_a))
        .await;
    assert_eq!(read.status.as_u16(), 200, "{read:?}");

    // Ann joins through A, which starts the meeting there; Bob's join reaches B and is
    // relayed to A: one meeting, one session.
    let (_ann, session_a) = join(&a, "7300001", "Ann").await.expect("Ann joins");
    let (_bob, session_b) = join(&b, "7300001", "Bob").await.expect("Bob joins");
    assert_eq!(session_a, session_b);
    // B counted the join it relayed; A relayed none.
    for (server, relayed) in [(&a, 0), (&b, 1)] {
        let scrape = reqwest::get(server.url("/metrics"))
            .await
            .expect("the node's metrics")
            .text()
            .await
            .expect("a body");
        let line = format!("plenum_relays_total{{kind=\"join\"}} {relayed}\n");
        assert!(scrape.contains(&line), "{line} in {scrape}");
    }

    // Either node answers for the meeting, with both participants.
    for (server, token) in [(&a, &admin_a), (&b, &admin_b)] {
        let detail = server
            .post("/api/v1/meeting/7300001", Some(token), None)
            .await;
        assert_eq!(detail.status.as_u16(), 200, "{detail:?}");
        assert_eq!(names_in(&detail.body), ["Ann", "Bob"], "{detail:?}");
    }

    // A second meeting starts on B. Either node lists both running meetings.
    room(&b, "7300003").await;
    let (_carol, _) = join(&b, "7300003", "Carol").await.expect("Carol joins");
    for (server, token) in [(&a, &admin_a), (&b, &admin_b)] {
        let list = server.get("/api/v1/meeting", Some(token)).await;
        let numbers: Vec<&str> = list.body["meetings"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .filter_map(|m| m["meeting_number"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(numbers, ["7300001", "7300003"], "{list:?}");
    }

    // Live streaming started through B runs on A; its stream is found through B too (the
    // watch address names no meeting: B asks the nodes that run meetings).
    let live = b
        .post(
            "/api/v1/meeting/7300001/live",
            Some(&admin_b),
            Some(json!({"live_password": "123456"})),
        )
        .await;
    assert_eq!(live.status.as_u16(), 204, "{live:?}");
    let detail = a
        .post("/api/v1/meeting/7300001", Some(&admin_a), None)
        .await;
    let live_url = detail.body["live_url"]
        .as_str()
        .expect("a live URL")
        .to_owned();
    let live_path = &live_url[live_url.find("/live/").expect("a watch path")..];
    let status = b.get(&format!("{live_path}/status"), None).await;
    assert_eq!(status.status.as_u16(), 200, "{status:?}");
    b.get("/live/0000000000000000/status", None)
        .await
        .assert_error(404, "not_found");

    // A host's control through B acts on the meeting A runs.
    let locked = b
        .post("/api/v1/meeting/7300001/lock", Some(&admin_b), None)
        .await;
    assert_eq!(locked.status.as_u16(), 204, "{locked:?}");
    let detail = a
        .post("/api/v1/meeting/7300001", Some(&admin_a), None)
        .await;
    assert_eq!(detail.body["locked"], json!(true), "{detail:?}");
    // Locked: a guest is refused, whichever node they reach.
    let refused = join(&b, "7300001", "Late").await.err().unwrap_or_default();
    assert!(refused.contains("locked"), "{refused}");

    // A sign-out on A ends the token on B at once (a notice, not a revalidation).
    let signed_out = a.post("/api/v1/user/sign_out", Some(&admin_a), None).await;
    assert!(signed_out.status.is_success(), "{signed_out:?}");
    b.get(&format!("/api/v1/meeting_room/{room_id}"), Some(&admin_a))
        .await
        .assert_error(401, "token_invalid");

    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_meeting_whose_node_is_killed_starts_again_on_a_live_node() {
    let Some(db) = database("a_meeting_whose_node_is_killed_starts_again_on_a_live_node").await
    else {
        return;
    };
    let url = db.url();
    // Leases of 3 s: a dead node's meetings are free 3 s after its last heartbeat.
    let (a_dir, a) = node(&url, 3, None).await;
    let (_b_dir, b) = node(&url, 3, Some(&a_dir)).await;
    let (admin_b, _) = room(&b, "7300002").await;
    let (_ann, first) = join(&a, "7300002", "Ann").await.expect("Ann joins");

    a.crash().await;
    let killed = Instant::now();
    // Until the lease ends, B relays joins to A, which does not answer; then B starts the
    // meeting itself. Bounded: the lease is 3 s; 30 s is a broken test.
    let (_bob, second) = loop {
        match join(&b, "7300002", "Bob").await {
            Ok(joined) => break joined,
            Err(why) => {
                assert!(killed.elapsed() < Duration::from_secs(30), "{why}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let unavailable = killed.elapsed();
    assert!(unavailable >= Duration::from_secs(1), "{unavailable:?}");
    assert_ne!(first, second);
    eprintln!("the meeting was unavailable for {unavailable:?} after its node was killed");

    // The new session has Bob only; the dead node's session was closed with Ann's stay,
    // as crash recovery closes them.
    let detail = b
        .post("/api/v1/meeting/7300002", Some(&admin_b), None)
        .await;
    assert_eq!(names_in(&detail.body), ["Bob"], "{detail:?}");
    let history = b
        .get(&format!("/api/v1/history/meetings/{first}"), Some(&admin_b))
        .await;
    assert_eq!(history.status.as_u16(), 200, "{history:?}");
    assert!(history.body["end_time"].is_i64(), "{history:?}");
    b.stop().await;
}

#[tokio::test]
async fn media_flows_to_the_node_that_runs_the_meeting_whichever_node_was_joined() {
    use crate::media::MediaBot;
    let Some(db) =
        database("media_flows_to_the_node_that_runs_the_meeting_whichever_node_was_joined").await
    else {
        return;
    };
    let url = db.url();
    let (a_dir, a) = node(&url, 15, None).await;
    let (_b_dir, b) = node(&url, 15, Some(&a_dir)).await;
    room(&a, "7300004").await;
    // Ann starts the meeting on A; Bob's join reaches B, which relays his signalling to A.
    // The answers carry A's media address, so both send to and hear from A's SFU.
    let mut ann = MediaBot::join(&a, "7300004", "Ann", "video").await;
    let mut bob = MediaBot::join(&b, "7300004", "Bob", "video").await;
    let (ann_id, bob_id) = (ann.client_uuid.clone(), bob.client_uuid.clone());
    ann.wait_for_media_from(&[&bob_id]).await;
    bob.wait_for_media_from(&[&ann_id]).await;
    ann.leave().await;
    bob.leave().await;
    a.stop().await;
    b.stop().await;
}
