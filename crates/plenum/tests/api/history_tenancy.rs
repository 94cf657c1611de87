//! No history surface ever returns another company's data: every list, filter and lookup of
//! every surface, made with one company's credentials, is searched for any id or name of
//! the other company's record.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::json;

use crate::history_fixture::{PASSWORD, Recorded, ids, recorded, send};

const ACME_MARKS: [&str; 12] = [
    ids::BOARD,
    ids::LAB,
    ids::REVIEW,
    ids::SYNC,
    ids::LAB_TEST,
    ids::ALICE_IN_REVIEW,
    ids::REC_REVIEW,
    ids::REC_ALICE,
    ids::REC_SYNC,
    ids::REC_LAB,
    "files.example/review",
    "Weekly sync",
];
const GLOBEX_MARKS: [&str; 5] = [
    ids::GLOBEX_ROOM,
    ids::GLOBEX_SESSION,
    ids::GLOBEX_ATTENDANCE,
    ids::GLOBEX_RECORDING,
    "globex.webm",
];

/// Every read of every surface a company's integration could make, aimed at `targets` (the
/// other company's ids as well as its own), with that company's credentials.
async fn every_read(
    r: &Recorded,
    key: &str,
    company_id: &str,
    user: &str,
    targets: &[&str],
) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let bearer = format!("Bearer {key}");
    let mut record =
        |what: String, reply: plenum_testkit::Reply| seen.push((what, reply.body.to_string()));

    // Telnyx.
    let mut queries = vec![String::new(), "?page[size]=250".to_owned()];
    for t in targets {
        for f in ["room_id", "session_id", "participant_id"] {
            queries.push(format!("?filter[{f}]={t}"));
        }
    }
    for q in &queries {
        let reply = send(
            &r.app,
            Method::GET,
            &format!("/v2/room_recordings{q}"),
            &[("authorization", &bearer)],
            None,
        )
        .await;
        record(format!("telnyx {q}"), reply);
    }
    for t in targets {
        let reply = send(
            &r.app,
            Method::GET,
            &format!("/v2/room_recordings/{t}"),
            &[("authorization", &bearer)],
            None,
        )
        .await;
        record(format!("telnyx get {t}"), reply);
    }

    // Rokid.
    for body in [
        json!({"companyId": company_id}),
        json!({"companyId": company_id, "meetingName": "Review"}),
        json!({"companyId": company_id, "pageSize": 500}),
    ] {
        let reply = send(
            &r.app,
            Method::POST,
            "/ar/corporation/openapi/rtc/meeting/info/page",
            &[("authorization", &bearer)],
            Some(body.clone()),
        )
        .await;
        record(format!("rokid page {body}"), reply);
    }
    for t in targets {
        let reply = send(
            &r.app,
            Method::GET,
            &format!("/ar/corporation/openapi/rtc/meeting/record/list?id={t}"),
            &[("authorization", &bearer)],
            None,
        )
        .await;
        record(format!("rokid participants {t}"), reply);
    }
    for seq in 1..=8 {
        let reply = send(
            &r.app,
            Method::GET,
            &format!("/ar/corporation/openapi/rtc/meeting/record/list?id={seq}"),
            &[("authorization", &bearer)],
            None,
        )
        .await;
        record(format!("rokid participants #{seq}"), reply);
    }

    // Rocket.Chat, as a user of the company.
    let login = send(
        &r.app,
        Method::POST,
        "/api/v1/login",
        &[],
        Some(json!({"username": user, "password": PASSWORD})),
    )
    .await;
    let (uid, token) = (
        login.body["data"]["userId"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        login.body["data"]["authToken"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    for t in targets {
        r.app.clock.advance(std::time::Duration::from_secs(1));
        let reply = send(
            &r.app,
            Method::GET,
            &format!("/api/v1/video-conference.list?roomId={t}&count=100"),
            &[("x-user-id", &uid), ("x-auth-token", &token)],
            None,
        )
        .await;
        record(format!("rocket.chat {t}"), reply);
    }

    // Huawei, with a token of the company's admin.
    let basic = format!("Basic {}", STANDARD.encode(format!("{user}:{PASSWORD}")));
    let auth = send(
        &r.app,
        Method::POST,
        "/v1/usg/acs/auth/account",
        &[("authorization", &basic)],
        Some(json!({"account": user})),
    )
    .await;
    let access = auth.body["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for t in targets {
        let reply = send(
            &r.app,
            Method::GET,
            &format!(
                "/v1/mmc/management/conferences/history/confAttendeeRecord?confUUID={t}&limit=500"
            ),
            &[("x-access-token", &access)],
            None,
        )
        .await;
        record(format!("huawei {t}"), reply);
    }
    seen
}

#[tokio::test]
async fn no_surface_returns_another_companys_record() {
    let r = recorded().await;
    let all_targets: Vec<&str> = ACME_MARKS[..10]
        .iter()
        .chain(GLOBEX_MARKS[..4].iter())
        .chain([ids::BOB_IN_REVIEW].iter())
        .copied()
        .collect();

    let globex_view = every_read(&r, &r.globex_key, &r.globex_id, "gina", &all_targets).await;
    for (what, body) in &globex_view {
        for mark in ACME_MARKS {
            assert!(
                !body.contains(mark),
                "Globex saw Acme's {mark} through {what}: {body}"
            );
        }
    }
    let acme_view = every_read(&r, &r.acme_key, &r.acme_id, "alice", &all_targets).await;
    for (what, body) in &acme_view {
        for mark in GLOBEX_MARKS {
            assert!(
                !body.contains(mark),
                "Acme saw Globex's {mark} through {what}: {body}"
            );
        }
    }
    // The reads are real: each company does see its own record through them.
    let joined =
        |view: &[(String, String)]| view.iter().map(|(_, b)| b.as_str()).collect::<String>();
    for mark in GLOBEX_MARKS {
        assert!(
            joined(&globex_view).contains(mark),
            "Globex does not see its own {mark}"
        );
    }
    for mark in ACME_MARKS {
        assert!(
            joined(&acme_view).contains(mark),
            "Acme does not see its own {mark}"
        );
    }
    // Bulk deletion with the other company's filters deletes nothing of it.
    for t in [ids::BOARD, ids::REVIEW, ids::ALICE_IN_REVIEW] {
        for f in ["room_id", "session_id", "participant_id"] {
            let reply = send(
                &r.app,
                Method::DELETE,
                &format!("/v2/room_recordings?filter[{f}]={t}"),
                &[("authorization", &format!("Bearer {}", r.globex_key))],
                None,
            )
            .await;
            assert_eq!(reply.body["data"]["room_recordings"], 0, "{f}={t}");
        }
    }
    let _ = &r.gina;
}

#[tokio::test]
async fn rokid_ids_count_only_the_companys_own_meetings() {
    let r = recorded().await;
    // Acme's sessions were recorded before Globex's: Globex's still start at 1, so neither
    // can count the other's meetings from its own ids.
    for (key, company) in [(&r.acme_key, &r.acme_id), (&r.globex_key, &r.globex_id)] {
        let reply = send(
            &r.app,
            Method::POST,
            "/ar/corporation/openapi/rtc/meeting/info/page",
            &[("authorization", &format!("Bearer {key}"))],
            Some(json!({"companyId": company, "pageSize": 500})),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        let mut ids: Vec<i64> = reply.body["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_i64().unwrap())
            .collect();
        ids.sort_unstable();
        let expected: Vec<i64> = (1..=ids.len() as i64).collect();
        assert_eq!(ids, expected, "{company}");
    }
}
