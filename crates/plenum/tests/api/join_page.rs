//! The browser join page: `/join/{meeting_number}` and the meeting links `/j/{code}` over
//! HTTP, then the page itself in headless Chromium (crate::browser) joining real meetings.

use std::time::Duration;

use plenum_testkit::TestApp;
use serde_json::{Value, json};

use crate::browser::{Browser, Page};
use crate::{HOUR_MS, MINUTE_MS, live_app as app, now_ms, reserve, room, s, user};

async fn control(app: &TestApp, token: &str, number: &str, call: &str, body: Value) {
    let reply = app
        .post(
            &format!("/api/v1/meeting/{number}/{call}"),
            Some(token),
            body,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{call}: {}", reply.body);
}

/// Waits until the meeting's detail (FRTC `GET /api/v1/meeting/{number}`) satisfies `test`.
async fn eventually(app: &TestApp, token: &str, number: &str, test: impl Fn(&Value) -> bool) {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = app
            .get(&format!("/api/v1/meeting/{number}"), Some(token))
            .await
            .body;
        if test(&last) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the meeting's detail never became as expected: {last}");
}

/// A client that does not follow redirects.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"))
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    no_redirects()
        .get(app.url(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path} failed: {e}"))
}

// --- HTTP ------------------------------------------------------------------------------------

#[tokio::test]
async fn the_page_is_served_with_its_security_headers_and_embedded_assets() {
    let app = TestApp::spawn().await;
    let page = get(&app, "/join/123456789?name=Ann").await;
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    let csp = header(&page, "content-security-policy").to_owned();
    for part in [
        "default-src 'self'",
        "script-src 'self';",
        "media-src 'self' blob:",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{part} missing from {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    let host = app.base_url.trim_start_matches("http://");
    assert!(csp.contains(&format!("ws://{host}")), "{csp}");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header(&page, "referrer-policy"), "no-referrer");
    let permissions = header(&page, "permissions-policy").to_owned();
    assert!(
        permissions.contains("camera=(self)") && permissions.contains("microphone=(self)"),
        "{permissions}"
    );
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("<script type=\"module\" src=\"/join/assets/join.js\"></script>"));
    assert!(html.contains("<label for=\"display-name\">"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere"
    );

    for (path, content_type, needle) in [
        (
            "/join/assets/join.js",
            "text/javascript; charset=utf-8",
            "/api/v1/live",
        ),
        ("/join/assets/join.css", "text/css; charset=utf-8", ".tile"),
    ] {
        let asset = get(&app, path).await;
        assert_eq!(asset.status().as_u16(), 200, "{path}");
        assert_eq!(header(&asset, "content-type"), content_type, "{path}");
        assert_eq!(header(&asset, "x-content-type-options"), "nosniff");
        let etag = header(&asset, "etag").to_owned();
        assert!(
            etag.starts_with('"') && etag.len() > 2,
            "{path}: etag {etag}"
        );
        let body = asset.text().await.unwrap_or_default();
        assert!(body.contains(needle), "{path}");
        let again = no_redirects()
            .get(app.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.status().as_u16(), 304, "{path} revalidated");
        assert_eq!(header(&again, "etag"), etag);
    }
    assert_eq!(
        get(&app, "/join/assets/other.js").await.status().as_u16(),
        404
    );

    // Not a meeting number: a page in words, not the page.
    let wrong = get(&app, "/join/12ab").await;
    assert_eq!(wrong.status().as_u16(), 404);
    assert_eq!(header(&wrong, "content-type"), "text/html; charset=utf-8");
    assert!(
        wrong
            .text()
            .await
            .unwrap_or_default()
            .contains("No such meeting")
    );
}

#[tokio::test]
async fn a_meeting_link_opens_the_page_of_its_meeting() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let start = (now_ms(&app) / MINUTE_MS) * MINUTE_MS + 2 * HOUR_MS;
    let meeting = reserve(
        &app,
        &admin,
        "Design review",
        start,
        json!({"meeting_password": "246810"}),
    )
    .await;
    let number = s(&meeting, "meeting_number");
    let url = s(&meeting, "meeting_url");
    let path = &url[url.find("/j/").unwrap_or_else(|| panic!("no /j/ in {url}"))..];
    assert!(
        !path.ends_with(&number),
        "a join code, not the number: {url}"
    );

    // Followed with its query string: a kiosk's link keeps name, password and autojoin.
    let link = get(
        &app,
        &format!("{path}?name=Room%20A&password=246810&autojoin=1"),
    )
    .await;
    assert_eq!(link.status().as_u16(), 303);
    assert_eq!(
        header(&link, "location"),
        format!("/join/{number}?name=Room%20A&password=246810&autojoin=1")
    );
    assert_eq!(header(&link, "referrer-policy"), "no-referrer");
    let plain = get(&app, path).await;
    assert_eq!(plain.status().as_u16(), 303);
    assert_eq!(header(&plain, "location"), format!("/join/{number}"));
    // Followed all the way, it is the page.
    let followed = app
        .client
        .get(app.url(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(followed.status().as_u16(), 200);
    assert!(followed.url().path().ends_with(&format!("/join/{number}")));

    // A room's link names its number (Rocket.Chat's calls, rocketchat.rs).
    room(&app, &admin, "7001001").await;
    let room_link = get(&app, "/j/7001001").await;
    assert_eq!(room_link.status().as_u16(), 303);
    assert_eq!(header(&room_link, "location"), "/join/7001001");
}

#[tokio::test]
async fn an_unknown_link_is_a_404_page_in_words() {
    let app = TestApp::spawn().await;
    let long = format!("/j/{}", "x".repeat(300));
    for path in ["/j/nope-nope-nope", "/j/555000111", long.as_str()] {
        let page = get(&app, path).await;
        assert_eq!(page.status().as_u16(), 404, "{path}");
        assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
        assert!(!header(&page, "content-security-policy").is_empty());
        let text = page.text().await.unwrap_or_default();
        assert!(
            text.contains("This meeting link does not open any meeting"),
            "{text}"
        );
    }
}

// --- in the browser ---------------------------------------------------------------------------

/// Opens `path` of the server in a new tab and waits for the page's script to be running.
async fn open(browser: &Browser, app: &TestApp, path: &str) -> Page {
    let mut page = browser.open(&app.url(path)).await;
    page.wait_for("typeof window.plenum === 'object' && document.readyState === 'complete'")
        .await;
    page
}

/// Waits until the page's visible text contains `words` (case-insensitively).
async fn wait_for_text(page: &mut Page, words: &str) {
    let words = serde_json::to_string(&words.to_lowercase()).unwrap_or_default();
    page.wait_for(&format!(
        "document.body.innerText.toLowerCase().includes({words})"
    ))
    .await;
}

/// The tile of the participant named `name` shows its name (and, if `muted`, the mark).
fn tile_shows(name: &str, muted: bool) -> String {
    let name = serde_json::to_string(name).unwrap_or_default();
    format!(
        "[...document.querySelectorAll('#tiles li.tile')].some(t => \
           t.querySelector('.name').textContent.startsWith({name}) && \
           t.querySelector('.muted-mark').hidden === {hidden} && \
           t.offsetParent !== null)",
        hidden = !muted
    )
}

async fn click(page: &mut Page, id: &str) {
    page.eval(&format!("document.getElementById('{id}').click()"))
        .await;
}

#[tokio::test]
async fn the_form_is_prefilled_refusals_are_in_words_and_the_right_password_joins() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "7002001").await;
    let browser = Browser::launch().await;
    let mut page = open(&browser, &app, "/join/7002001?name=Ann%20Lee&password=9999").await;

    assert_eq!(
        page.eval("document.getElementById('display-name').value")
            .await,
        "Ann Lee"
    );
    assert_eq!(
        page.eval("document.getElementById('meeting-password').value")
            .await,
        "9999"
    );
    // Every control has a label, and is a real control a keyboard reaches.
    let unlabelled = page
        .eval(
            "[...document.querySelectorAll('input, select')].filter(e => !e.labels || !e.labels.length).map(e => e.id)",
        )
        .await;
    assert_eq!(unlabelled, json!([]));
    assert_eq!(
        page.eval("document.querySelectorAll('[onclick], div[role=button]').length")
            .await,
        0
    );
    assert_eq!(page.state().await["joined"], false);
    // The fake camera and microphone are open.
    page.wait_for("window.plenum.state().devices.audio && window.plenum.state().devices.video")
        .await;
    // A keyboard reaches every control of the form.
    page.eval("document.activeElement && document.activeElement.blur()")
        .await;
    let order = page.tab_order(14).await;
    for id in [
        "preview-mic",
        "preview-cam",
        "display-name",
        "meeting-password",
        "microphone",
        "camera",
        "join-button",
        "summary",
    ] {
        assert!(
            order.iter().any(|o| o == id),
            "Tab never reaches {id}: {order:?}"
        );
    }

    page.screenshot("lobby").await;
    click(&mut page, "join-button").await;
    wait_for_text(&mut page, "The meeting password is wrong").await;
    page.screenshot("wrong-password").await;
    assert_eq!(page.state().await["refusal"], "wrong_password");
    assert_eq!(page.state().await["joined"], false);

    page.eval("document.getElementById('meeting-password').value = '1234'")
        .await;
    // The microphone turned off in the preview stays off in the meeting.
    click(&mut page, "preview-mic").await;
    assert_eq!(
        page.eval("document.getElementById('preview-mic').textContent")
            .await,
        "Unmute microphone"
    );
    // Joined from the keyboard: Enter on the focused button.
    page.eval("document.getElementById('join-button').focus()")
        .await;
    page.press("Enter").await;
    page.wait_for("window.plenum.state().joined").await;
    let state = page.state().await;
    let detail = app.get("/api/v1/meeting/7002001", Some(&admin)).await;
    assert_eq!(
        detail.body["participants"][0]["client_uuid"],
        state["client_uuid"]
    );
    assert_eq!(detail.body["participants"][0]["name"], "Ann Lee");
    assert_eq!(detail.body["participants"][0]["device_type"], "web");
    page.wait_for(&tile_shows("Ann Lee (you)", true)).await;
    eventually(&app, &admin, "7002001", |d| {
        d["participants"][0]["mute_audio"] == true
    })
    .await;

    // Leaving says so, and the server knows.
    click(&mut page, "leave-button").await;
    wait_for_text(&mut page, "You left the meeting").await;
    assert_eq!(page.state().await["joined"], false);
}

#[tokio::test]
async fn refusals_before_the_window_and_to_guests_are_in_words_and_members_sign_in() {
    let app = app().await;
    let admin = app.admin_token().await;
    let later = (now_ms(&app) / MINUTE_MS) * MINUTE_MS + 2 * 24 * HOUR_MS;
    reserve(
        &app,
        &admin,
        "Later",
        later,
        json!({"meeting_number": "7003001", "meeting_password": "1234"}),
    )
    .await;
    let soon = (now_ms(&app) / MINUTE_MS) * MINUTE_MS + 5 * MINUTE_MS;
    reserve(
        &app,
        &admin,
        "Members only",
        soon,
        json!({"meeting_number": "7003002", "meeting_password": "1234", "guest_dial_in": false}),
    )
    .await;
    user(&app, &admin, "mira", "Normal").await;
    let browser = Browser::launch().await;

    let mut early = open(&browser, &app, "/join/7003001?name=Ann&password=1234").await;
    // The form fits a phone-size window: nothing sideways, the join button on the first screens.
    early.resize(375, 740).await;
    early
        .wait_for("document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    early
        .wait_for("document.getElementById('join-button').getBoundingClientRect().right <= window.innerWidth")
        .await;
    early.screenshot("phone-lobby").await;
    click(&mut early, "join-button").await;
    wait_for_text(&mut early, "The meeting is not open yet. It opens at").await;
    assert_eq!(early.state().await["refusal"], "not_open_yet");

    let mut guest = open(&browser, &app, "/join/7003002?name=Gus&password=1234").await;
    click(&mut guest, "join-button").await;
    wait_for_text(&mut guest, "does not allow guests").await;

    // A member signs in on the page: a wrong password first, then the right one.
    guest
        .eval(
            "document.getElementById('username').value = 'mira'; \
             document.getElementById('user-password').value = 'wrong-password'",
        )
        .await;
    click(&mut guest, "sign-in-button").await;
    wait_for_text(&mut guest, "Sign-in failed").await;
    guest
        .eval("document.getElementById('user-password').value = 'Passw0rd-123'")
        .await;
    click(&mut guest, "sign-in-button").await;
    guest.wait_for("window.plenum.state().signed_in").await;
    // The token stays in memory.
    assert_eq!(
        guest
            .eval("localStorage.length + sessionStorage.length + document.cookie.length")
            .await,
        0
    );
    click(&mut guest, "join-button").await;
    guest.wait_for("window.plenum.state().joined").await;
    let detail = app.get("/api/v1/meeting/7003002", Some(&admin)).await;
    assert_eq!(
        detail.body["participants"][0]["type"], "USER",
        "{}",
        detail.body
    );
}

#[tokio::test]
async fn locked_full_and_ended_meetings_are_refused_in_words() {
    let app = TestApp::spawn_with(|s| {
        s.policy.live.tick_interval = Duration::from_millis(20);
        s.policy.live.max_participants_per_meeting = 1;
    })
    .await;
    let admin = app.admin_token().await;
    room(&app, &admin, "7008001").await;
    room(&app, &admin, "7008002").await;
    let soon = (now_ms(&app) / MINUTE_MS) * MINUTE_MS + 5 * MINUTE_MS;
    reserve(
        &app,
        &admin,
        "Once",
        soon,
        json!({"meeting_number": "7008003", "meeting_password": "1234"}),
    )
    .await;
    let browser = Browser::launch().await;

    // Locked: someone is in, a host locks it.
    let mut inside = open(
        &browser,
        &app,
        "/join/7008001?name=In&password=1234&autojoin=1",
    )
    .await;
    inside.wait_for("window.plenum.state().joined").await;
    control(&app, &admin, "7008001", "lock", json!({})).await;
    wait_for_text(&mut inside, "Locked").await;
    let mut late = open(
        &browser,
        &app,
        "/join/7008001?name=Late&password=1234&autojoin=1",
    )
    .await;
    wait_for_text(&mut late, "The meeting is locked").await;

    // Full: one participant is all it may have.
    let mut first = open(
        &browser,
        &app,
        "/join/7008002?name=First&password=1234&autojoin=1",
    )
    .await;
    first.wait_for("window.plenum.state().joined").await;
    let mut second = open(
        &browser,
        &app,
        "/join/7008002?name=Second&password=1234&autojoin=1",
    )
    .await;
    wait_for_text(&mut second, "The meeting is full").await;

    // Ended: a host stopped the scheduled meeting for good.
    let mut once = open(
        &browser,
        &app,
        "/join/7008003?name=Once&password=1234&autojoin=1",
    )
    .await;
    once.wait_for("window.plenum.state().joined").await;
    control(&app, &admin, "7008003", "stop", json!({"rejoin": false})).await;
    wait_for_text(&mut once, "The meeting has ended").await;
    click(&mut once, "rejoin-button").await;
    click(&mut once, "join-button").await;
    wait_for_text(&mut once, "The meeting has ended.").await;
    once.wait_for("window.plenum.state().refusal === 'meeting_ended'")
        .await;

    // Unknown: nothing has the number.
    let mut unknown = open(
        &browser,
        &app,
        "/join/7008999?name=X&password=1234&autojoin=1",
    )
    .await;
    wait_for_text(&mut unknown, "There is no meeting with the number 7008999").await;
}

#[tokio::test]
async fn autojoined_pages_see_each_other_and_what_the_hosts_do() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "7004001").await;
    let browser = Browser::launch().await;
    let mut ann = open(
        &browser,
        &app,
        "/join/7004001?name=Ann&password=1234&autojoin=1",
    )
    .await;
    ann.wait_for("window.plenum.state().joined").await;
    let mut bob = open(
        &browser,
        &app,
        "/join/7004001?name=Bob&password=1234&autojoin=1",
    )
    .await;
    bob.wait_for("window.plenum.state().joined").await;

    // Each sees both tiles with their names.
    ann.wait_for(&tile_shows("Ann (you)", false)).await;
    ann.wait_for(&tile_shows("Bob", false)).await;
    bob.wait_for(&tile_shows("Ann", false)).await;
    bob.wait_for(&tile_shows("Bob (you)", false)).await;
    ann.screenshot("two-pages-ann").await;
    let bob_id = s(&bob.state().await, "client_uuid");
    let ann_id = s(&ann.state().await, "client_uuid");

    // A host mutes Bob without letting him unmute himself: both pages show it, and Bob's
    // page says who muted him and offers to ask to speak.
    control(
        &app,
        &admin,
        "7004001",
        "mute",
        json!({"participants": [bob_id], "allow_self_unmute": false}),
    )
    .await;
    ann.wait_for(&tile_shows("Bob", true)).await;
    bob.wait_for(&tile_shows("Bob (you)", true)).await;
    wait_for_text(&mut bob, "Muted by the host").await;
    bob.screenshot("bob-muted-by-host").await;
    bob.wait_for("!document.getElementById('ask-to-speak').hidden && document.getElementById('ask-to-speak').offsetParent !== null")
        .await;
    // Unmuting himself is refused; he asks to speak instead, and a host allows it.
    click(&mut bob, "mic-toggle").await;
    click(&mut bob, "ask-to-speak").await;
    wait_for_text(&mut bob, "You asked to speak").await;
    control(
        &app,
        &admin,
        "7004001",
        "allow_unmute",
        json!({"participants": [bob_id]}),
    )
    .await;
    wait_for_text(&mut bob, "A host allowed you to speak").await;
    click(&mut bob, "mic-toggle").await;
    ann.wait_for(&tile_shows("Bob", false)).await;

    // The lecturer layout puts Ann first and large on Bob's page; the overlay text shows.
    control(
        &app,
        &admin,
        "7004001",
        "lecturer",
        json!({"lecturer": ann_id}),
    )
    .await;
    bob.wait_for(&format!(
        "document.querySelector('#tiles li.featured') && document.querySelector('#tiles li.featured').dataset.id === '{ann_id}'"
    ))
    .await;
    wait_for_text(&mut bob, "Lecturer").await;
    // A pin for everyone comes before the lecturer.
    control(
        &app,
        &admin,
        "7004001",
        "pin",
        json!({"participants": [bob_id]}),
    )
    .await;
    ann.wait_for(&format!(
        "document.querySelector('#tiles li.featured') && document.querySelector('#tiles li.featured').dataset.id === '{bob_id}'"
    ))
    .await;
    wait_for_text(&mut ann, "Pinned").await;
    control(
        &app,
        &admin,
        "7004001",
        "overlay",
        json!({"content": "Break at ten", "repeat": 3, "position": 50, "enable_scroll": true}),
    )
    .await;
    bob.wait_for("!document.getElementById('overlay').hidden && document.getElementById('overlay-text').textContent === 'Break at ten'")
        .await;
    bob.screenshot("bob-lecturer-overlay").await;

    // Bob leaves by the button: Ann's page loses his tile.
    click(&mut bob, "leave-button").await;
    wait_for_text(&mut bob, "You left the meeting").await;
    ann.wait_for("window.plenum.state().participants.length === 1")
        .await;

    // A host stops the meeting: Ann's page says it has ended.
    control(&app, &admin, "7004001", "stop", json!({"rejoin": true})).await;
    wait_for_text(&mut ann, "The meeting has ended").await;
    ann.screenshot("ann-ended").await;
    assert_eq!(ann.state().await["joined"], false);
}

#[tokio::test]
async fn a_disconnected_participant_is_told_so() {
    let app = app().await;
    let admin = app.admin_token().await;
    room(&app, &admin, "7005001").await;
    let browser = Browser::launch().await;
    let mut ann = open(
        &browser,
        &app,
        "/join/7005001?name=Ann&password=1234&autojoin=1",
    )
    .await;
    ann.wait_for("window.plenum.state().joined").await;
    let id = s(&ann.state().await, "client_uuid");

    // The camera toggle turns the camera off for the meeting too.
    click(&mut ann, "cam-toggle").await;
    ann.wait_for("document.getElementById('cam-toggle').dataset.on === 'false'")
        .await;
    ann.wait_for("window.plenum.state().participants[0].mute_video")
        .await;
    eventually(&app, &admin, "7005001", |d| {
        d["participants"][0]["mute_video"] == true
    })
    .await;
    click(&mut ann, "cam-toggle").await;
    ann.wait_for("!window.plenum.state().participants[0].mute_video")
        .await;

    // On a phone-size window nothing overflows sideways, the meeting's controls are on the
    // screen, and a keyboard reaches them.
    ann.resize(375, 740).await;
    ann.wait_for("document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    ann.wait_for(
        "['mic-toggle', 'cam-toggle', 'leave-button'].every(id => { \
           const r = document.getElementById(id).getBoundingClientRect(); \
           return r.width >= 40 && r.height >= 40 && r.left >= 0 && r.right <= window.innerWidth; })",
    )
    .await;
    ann.screenshot("phone-meeting").await;
    let order = ann.tab_order(8).await;
    for control in ["mic-toggle", "cam-toggle", "leave-button"] {
        assert!(
            order.iter().any(|o| o == control),
            "Tab never reaches {control}: {order:?}"
        );
    }

    control(
        &app,
        &admin,
        "7005001",
        "disconnect",
        json!({"participants": [id]}),
    )
    .await;
    wait_for_text(&mut ann, "You were disconnected by a host").await;
}

/// Media end to end: each page receives the others' video and audio, and a host's `mute`
/// stops one page's audio at the others while its video goes on.
#[tokio::test]
async fn pages_exchange_audio_and_video_and_a_host_mute_silences_one() {
    let app = TestApp::spawn_with(|s| {
        s.policy.live.tick_interval = Duration::from_millis(20);
    })
    .await;
    let admin = app.admin_token().await;
    room(&app, &admin, "7006001").await;
    let browser = Browser::launch().await;
    let mut pages = Vec::new();
    for name in ["Ann", "Bob", "Cy"] {
        let mut page = open(
            &browser,
            &app,
            &format!("/join/7006001?name={name}&password=1234&autojoin=1"),
        )
        .await;
        page.wait_for("window.plenum.state().joined && window.plenum.state().media")
            .await;
        pages.push(page);
    }
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for page in &mut pages {
            ids.push(s(&page.state().await, "client_uuid"));
        }
        ids
    };

    // Everyone receives the two others' video and audio, and both grow.
    for page in &mut pages {
        page.wait_for_within(
            "window.plenum.stats().then(s => s.filter(x => x.kind === 'video' && x.framesDecoded > 0).length >= 2 \
               && s.filter(x => x.kind === 'audio' && x.totalAudioEnergy > 0).length >= 2)",
            Duration::from_secs(30),
        )
        .await;
    }
    // The others' tiles show their video, and someone speaks (the fake microphones beep).
    for (i, page) in pages.iter_mut().enumerate() {
        for (j, id) in ids.iter().enumerate() {
            if i != j {
                page.wait_for(&format!(
                    "document.querySelector('li[data-id=\"{id}\"]').classList.contains('has-video')"
                ))
                .await;
            }
        }
        page.wait_for("document.querySelector('li.tile.speaking') !== null")
            .await;
    }
    pages[0].screenshot("media-ann").await;
    let first: Vec<Value> = {
        let mut v = Vec::new();
        for page in &mut pages {
            v.push(page.eval("window.plenum.stats()").await);
        }
        v
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (i, page) in pages.iter_mut().enumerate() {
        let now = page.eval("window.plenum.stats()").await;
        for (j, id) in ids.iter().enumerate() {
            if i == j {
                continue;
            }
            assert!(
                grew(&first[i], &now, id, "video", "framesDecoded"),
                "page {i} decodes no new video of {j}: {now}"
            );
            assert!(
                grew(&first[i], &now, id, "audio", "totalAudioEnergy"),
                "page {i} plays no new audio of {j}: {now}"
            );
        }
    }

    // A host mutes Cy: the others stop receiving Cy's audio (in about a second; up to 10 s
    // is allowed for a machine under load), while Cy's video goes on.
    control(
        &app,
        &admin,
        "7006001",
        "mute",
        json!({"participants": [ids[2]], "allow_self_unmute": true}),
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut before = Vec::new();
        for page in pages.iter_mut().take(2) {
            before.push(page.eval("window.plenum.stats()").await);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut after = Vec::new();
        for page in pages.iter_mut().take(2) {
            after.push(page.eval("window.plenum.stats()").await);
        }
        let still_heard =
            (0..2).find(|&i| grew(&before[i], &after[i], &ids[2], "audio", "totalAudioEnergy"));
        if let Some(i) = still_heard {
            assert!(
                std::time::Instant::now() < deadline,
                "page {i} still plays Cy's audio 10 s after the mute: {}",
                after[i]
            );
            continue;
        }
        for i in 0..2 {
            assert!(
                grew(&before[i], &after[i], &ids[2], "video", "framesDecoded"),
                "page {i} lost Cy's video after an audio mute: {}",
                after[i]
            );
        }
        break;
    }
}

/// Whether the `field` of `kind` received from `id` grew between two `plenum.stats()`.
fn grew(before: &Value, after: &Value, id: &str, kind: &str, field: &str) -> bool {
    let of = |v: &Value| -> f64 {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter(|x| x["client_uuid"] == id && x["kind"] == kind)
                    .map(|x| x[field].as_f64().unwrap_or(0.0))
                    .sum()
            })
            .unwrap_or(0.0)
    };
    of(after) > of(before)
}

/// A stand-in for the media server, inside the page: a WebSocket that speaks the client
/// protocol's "Media" section (docs/client-protocol.md) with real RTCPeerConnections — it
/// answers `publish` and offers `subscribe` with every candidate in its SDP (as the ICE-lite
/// server does) and a `tracks` map. It lets the page's WebRTC handling be tested before the
/// server carries media; `pages_exchange_audio_and_video_and_a_host_mute_silences_one` is the
/// real thing.
const FAKE_MEDIA_SERVER: &str = r#"(() => {
  const server = { published: [], messages: [], pcPub: null, pcSub: null, version: 0, socket: null, tracks: [] };
  window.__fakeServer = server;
  server.emit = (m) => emit(m);
  const gathered = (pc) => new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
  });
  const emit = (m) => setTimeout(() => {
    if (server.socket && server.socket.onmessage) server.socket.onmessage({ data: JSON.stringify(m) });
  }, 0);
  const participant = (id, name) => ({ client_uuid: id, name, type: 'GUEST', mute_audio: false, mute_video: false,
    lecture: false, allow_self_unmute: true, unmute_requested: false, device_type: 'web', media_type: 'video',
    pinned: null, max_views: 9, layout: 'auto', join_time: Date.now() });
  server.offer = async () => {
    const pc = server.pcSub;
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    server.version += 1;
    emit({ type: 'subscribe', version: server.version, sdp: pc.localDescription.sdp,
      tracks: server.tracks.map(([t, id]) => ({ mid: t.mid, client_uuid: id, kind: t.sender.track.kind })) });
  };
  server.addRemote = async (id, name, announce) => {
    if (announce) emit({ type: 'participant_joined', seq: 2, at: Date.now(), participant: participant(id, name) });
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    if (!server.pcSub) server.pcSub = new RTCPeerConnection();
    for (const track of stream.getTracks()) {
      server.tracks.push([server.pcSub.addTransceiver(track, { direction: 'sendonly' }), id]);
    }
    await server.offer();
    emit({ type: 'view', shown: [...new Set(server.tracks.map(([, i]) => i))], max_views: 9, lecturer: null, pinned: null });
  };
  server.receive = async (m) => {
    server.messages.push(m);
    const reply = (r) => emit({ ...r, ref: m.ref });
    switch (m.type) {
      case 'join':
        reply({ type: 'joined', client_uuid: 'me', session_id: 's', seq: 1, you: participant('me', m.display_name),
          participant_count: 2, remaining_participants: 0,
          meeting: { meeting_number: m.meeting_number, meeting_name: 'Fake meeting', locked: false,
            participants: [participant('remote-1', 'Remote One'), participant('me', m.display_name)] },
          media: { ice_servers: [], max_video_bitrate: 2500000, max_audio_bitrate: 128000 } });
        setTimeout(() => server.addRemote('remote-1', 'Remote One', false), 50);
        break;
      case 'publish': {
        const pc = new RTCPeerConnection();
        server.pcPub = pc;
        pc.ontrack = (e) => server.published.push(e.track.kind);
        await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        await pc.setLocalDescription(await pc.createAnswer());
        await gathered(pc);
        reply({ type: 'answer', sdp: pc.localDescription.sdp });
        break;
      }
      case 'subscribe_answer':
        if (m.version !== server.version) {
          reply({ type: 'error', code: 'stale_answer', message: 'an answer to an older offer' });
          break;
        }
        await server.pcSub.setRemoteDescription({ type: 'answer', sdp: m.sdp });
        reply({ type: 'ok' });
        break;
      case 'heartbeat':
        reply({ type: 'heartbeat_ack', server_time: Date.now() });
        break;
      default:
        reply({ type: 'ok' });
    }
  };
  server.inbound = async () => {
    const out = [];
    if (server.pcPub) (await server.pcPub.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp') out.push({ kind: s.kind, packetsReceived: s.packetsReceived || 0 });
    });
    return out;
  };
  class FakeSocket {
    constructor(url) {
      this.url = url; this.readyState = 0; this.onmessage = null; this.onclose = null; this.onerror = null;
      server.socket = this;
      setTimeout(() => { this.readyState = 1; emit({ type: 'hello', protocol: 1, heartbeat_interval_ms: 10000, heartbeat_timeout_ms: 30000 }); }, 0);
    }
    send(text) { server.receive(JSON.parse(text)); }
    close(code) {
      if (this.readyState === 3) return;
      this.readyState = 3;
      const f = this.onclose;
      if (f) setTimeout(() => f({ code: code || 1000 }), 0);
    }
  }
  FakeSocket.CONNECTING = 0; FakeSocket.OPEN = 1; FakeSocket.CLOSING = 2; FakeSocket.CLOSED = 3;
  window.WebSocket = FakeSocket;
})();"#;

/// Whether `plenum.stats()` shows `field` of `kind` from `id` growing over a second.
const GROWING: &str = "(async (id, kind, field) => { \
    const of = (s) => s.filter(x => x.client_uuid === id && x.kind === kind).reduce((a, x) => a + x[field], 0); \
    const a = of(await window.plenum.stats()); \
    await new Promise(r => setTimeout(r, 1000)); \
    const b = of(await window.plenum.stats()); \
    return a > 0 && b > a; })";

#[tokio::test]
async fn the_page_publishes_and_subscribes_as_the_protocol_says() {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await;
    let mut page = browser
        .open_with(
            &app.url("/join/7007001?name=Ann&password=1234&autojoin=1"),
            Some(FAKE_MEDIA_SERVER),
        )
        .await;
    page.wait_for("typeof window.plenum === 'object' && window.plenum.state().joined")
        .await;
    assert_eq!(page.state().await["media"], true);

    // Publish: one sendonly audio and one video m-line, answered; the server receives both.
    page.wait_for("window.__fakeServer.published.length === 2")
        .await;
    let offer = page
        .eval("window.__fakeServer.messages.find(m => m.type === 'publish').sdp")
        .await;
    let offer = offer.as_str().unwrap_or_default();
    assert_eq!(offer.matches("m=audio").count(), 1, "{offer}");
    assert_eq!(offer.matches("m=video").count(), 1, "{offer}");
    assert_eq!(offer.matches("a=sendonly").count(), 2, "{offer}");
    page.wait_for_within(
        "window.__fakeServer.inbound().then(s => s.filter(x => x.packetsReceived > 0).length === 2)",
        Duration::from_secs(20),
    )
    .await;

    // Subscribe: the offer is answered with its version; the tracks land on Remote One's tile.
    page.wait_for(
        "window.__fakeServer.messages.some(m => m.type === 'subscribe_answer' && m.version === 1)",
    )
    .await;
    for (kind, field) in [("video", "framesDecoded"), ("audio", "totalAudioEnergy")] {
        page.wait_for_within(
            &format!("{GROWING}('remote-1', '{kind}', '{field}')"),
            Duration::from_secs(20),
        )
        .await;
    }
    page.wait_for(
        "document.querySelector('li[data-id=\"remote-1\"]').classList.contains('has-video')",
    )
    .await;
    page.wait_for("document.querySelector('li[data-id=\"remote-1\"] audio').srcObject.getAudioTracks().length === 1")
        .await;

    // A renegotiation adds a second participant's tracks on the same connection.
    page.eval("window.__fakeServer.addRemote('remote-2', 'Remote Two', true)")
        .await;
    page.wait_for(
        "window.__fakeServer.messages.some(m => m.type === 'subscribe_answer' && m.version === 2)",
    )
    .await;
    page.wait_for_within(
        &format!("{GROWING}('remote-2', 'video', 'framesDecoded')"),
        Duration::from_secs(20),
    )
    .await;
    page.wait_for(&tile_shows("Remote Two", false)).await;
    page.wait_for(
        "document.querySelector('li[data-id=\"remote-2\"]').classList.contains('has-video')",
    )
    .await;
    // Remote One still plays on the renegotiated connection.
    page.wait_for_within(
        &format!("{GROWING}('remote-1', 'video', 'framesDecoded')"),
        Duration::from_secs(20),
    )
    .await;
    page.screenshot("fake-media").await;

    // The active speaker: the page finds one from the audio levels it receives (the fake
    // microphone beeps), and follows the server when it names one.
    page.wait_for_within(
        "['remote-1', 'remote-2'].includes(window.plenum.state().active_speaker) \
         && document.querySelector('li.tile.speaking') !== null",
        Duration::from_secs(20),
    )
    .await;
    page.eval("window.__fakeServer.emit({type: 'active_speaker', client_uuid: 'me'})")
        .await;
    page.wait_for("document.querySelector('li.tile.speaking').dataset.id === 'me'")
        .await;
    // A speaker the server names while the page is measuring levels is not overridden by
    // that measure: the server stops naming one, the page's next reading of statistics is
    // held (every received voice in it loud), the server names 'me', then the reading ends.
    page.eval(
        r#"(() => {
        const proto = RTCPeerConnection.prototype;
        const realStats = proto.getStats;
        const realSources = RTCRtpReceiver.prototype.getSynchronizationSources;
        window.__held = [];
        window.__release = () => {
          proto.getStats = realStats;
          RTCRtpReceiver.prototype.getSynchronizationSources = realSources;
          window.__held.forEach((release) => release());
        };
        RTCRtpReceiver.prototype.getSynchronizationSources = () => [];
        proto.getStats = function (...args) {
          return realStats.apply(this, args).then((report) => new Promise((resolve) => {
            const loud = new Map();
            report.forEach((s, k) => loud.set(k,
              s.type === 'inbound-rtp' && s.kind === 'audio' ? { ...s, audioLevel: 0.9 } : s));
            window.__held.push(() => resolve(loud));
          }));
        };
      })()"#,
    )
    .await;
    page.eval("window.__fakeServer.emit({type: 'active_speaker', client_uuid: null})")
        .await;
    page.wait_for("window.__held.length > 0").await;
    page.eval("window.__fakeServer.emit({type: 'active_speaker', client_uuid: 'me'})")
        .await;
    page.eval("window.__release()").await;
    assert_eq!(
        page.eval(
            "window.plenum.state().active_speaker + ' ' \
             + document.querySelector('li.tile.speaking').dataset.id"
        )
        .await,
        "me me",
        "the page's own reading overrode the speaker the server named"
    );

    // Pins: the meeting's pin is shown large; the viewer's own pin comes before it.
    page.eval("window.__fakeServer.emit({type: 'meeting_pin_changed', seq: 3, at: 0, client_uuid: 'remote-2'})")
        .await;
    page.wait_for("document.querySelector('#tiles li.featured').dataset.id === 'remote-2'")
        .await;
    page.eval("window.__fakeServer.emit({type: 'participant_pin_changed', seq: 4, at: 0, client_uuid: 'me', pinned: 'remote-1'})")
        .await;
    page.wait_for("document.querySelector('#tiles li.featured').dataset.id === 'remote-1'")
        .await;
    wait_for_text(&mut page, "Pinned for you").await;

    // The microphone toggle says so to the server and silences the track.
    click(&mut page, "mic-toggle").await;
    page.wait_for(
        "window.__fakeServer.messages.some(m => m.type === 'set_mute' && m.audio === true)",
    )
    .await;
    page.wait_for(&tile_shows("Ann (you)", true)).await;

    // A connection lost without a close code of the protocol: the page says so.
    page.eval("window.__fakeServer.socket.close(1006)").await;
    wait_for_text(&mut page, "You were disconnected").await;
    assert_eq!(page.state().await["joined"], false);
}
