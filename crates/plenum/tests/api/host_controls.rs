//! The host's controls in the join page (docs/join-page.md, "The host's controls"): FRTC
//! Meeting Control through the public API, from a member's page. Over HTTP, the meeting
//! detail's `may_control`; in headless Chromium (crate::browser), a host signed in to the web
//! app joins and runs the meeting while a second browser's participant sees each change, and
//! a member without the right sees no controls and is refused when they try anyway.

use plenum_testkit::live::LiveClient;
use plenum_testkit::{ADMIN_PASSWORD, TestApp};
use serde_json::{Value, json};

use crate::browser::{Browser, Page};
use crate::{MINUTE_MS, assert_frtc_error, live_app, now_ms, reserve, s, user};

// --- helpers ----------------------------------------------------------------------------------

fn js(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|e| panic!("{e}"))
}

async fn wait_for_text(page: &mut Page, words: &str) {
    page.wait_for(&format!(
        "document.body.innerText.toLowerCase().includes({})",
        js(&words.to_lowercase())
    ))
    .await;
}

/// Waits until the control `id` is on screen and usable, then clicks it.
async fn click(page: &mut Page, id: &str) {
    page.wait_for(&format!(
        "(() => {{ const e = document.getElementById({id}); return !!e && !e.disabled && e.offsetParent !== null; }})()",
        id = js(id)
    ))
    .await;
    page.eval(&format!("document.getElementById({}).click()", js(id)))
        .await;
}

/// Sets a field as a person would: its value, then `input` and `change`.
async fn type_into(page: &mut Page, id: &str, text: &str) {
    page.eval(&format!(
        "(() => {{ const e = document.getElementById({id}); e.focus(); e.value = {text}; \
           e.dispatchEvent(new Event('input', {{bubbles: true}})); \
           e.dispatchEvent(new Event('change', {{bubbles: true}})); }})()",
        id = js(id),
        text = js(text)
    ))
    .await;
}

async fn set_checked(page: &mut Page, id: &str, checked: bool) {
    page.eval(&format!(
        "(() => {{ const e = document.getElementById({}); if (e.checked !== {checked}) e.click(); }})()",
        js(id)
    ))
    .await;
}

/// The button `action` of the participant `id` in the host's list, once it shows.
async fn click_for(page: &mut Page, id: &str, action: &str) {
    let button = format!(
        "document.querySelector('#host-people li[data-id=\"{id}\"] button[data-action=\"{action}\"]')"
    );
    page.wait_for(&format!(
        "(() => {{ const b = {button}; return !!b && !b.hidden && !b.disabled && b.offsetParent !== null; }})()"
    ))
    .await;
    page.eval(&format!("{button}.click()")).await;
}

/// The same, by keyboard: the button takes the focus and Enter presses it.
async fn press_for(page: &mut Page, id: &str, action: &str) {
    let button = format!(
        "document.querySelector('#host-people li[data-id=\"{id}\"] button[data-action=\"{action}\"]')"
    );
    page.wait_for(&format!(
        "(() => {{ const b = {button}; return !!b && !b.hidden && !b.disabled && b.offsetParent !== null; }})()"
    ))
    .await;
    page.eval(&format!("{button}.focus()")).await;
    page.press("Enter").await;
}

/// The mute mark of `id`'s tile reads `mark` ("" when it is hidden).
fn mark_is(id: &str, mark: &str) -> String {
    format!(
        "(() => {{ const m = document.querySelector('li.tile[data-id=\"{id}\"] .muted-mark'); \
           return !!m && (m.hidden ? '' : m.textContent) === {}; }})()",
        js(mark)
    )
}

fn indicators_include(word: &str) -> String {
    format!(
        "document.getElementById('indicators').textContent.includes({})",
        js(word)
    )
}

/// No host control is on the page's screen, nor reachable: the panel and its toggle are hidden.
const NO_CONTROLS: &str = "document.getElementById('host').hidden \
    && document.getElementById('host-toggle').hidden \
    && [...document.querySelectorAll('#host button, #host input, #host select')].every(e => e.offsetParent === null)";

/// Signs in to the web app at `/` as `username`, then opens the join page of `number` from
/// the same tab, as the app's Join does: the page joins as the member, through the cookie.
async fn host_page(browser: &Browser, app: &TestApp, username: &str, number: &str) -> Page {
    host_page_with(browser, app, username, number, false).await
}

/// [`host_page`], choosing the dark theme in the web app first when `dark`.
async fn host_page_with(
    browser: &Browser,
    app: &TestApp,
    username: &str,
    number: &str,
    dark: bool,
) -> Page {
    let mut page = browser.open(&app.url("/")).await;
    page.wait_for("!!(window.plenumApp && window.plenumApp.ready)")
        .await;
    page.wait_for("!document.getElementById('sign-in').hidden")
        .await;
    type_into(&mut page, "username", username).await;
    type_into(&mut page, "password", "Passw0rd-123").await;
    page.eval("document.getElementById('sign-in-button').click()")
        .await;
    page.wait_for("window.plenumApp.signedIn()").await;
    if dark {
        page.eval("document.getElementById('theme-toggle').click()")
            .await;
        page.wait_for(
            "document.getElementById('theme-toggle').getAttribute('aria-pressed') === 'true'",
        )
        .await;
    }
    page.navigate(&app.url(&format!(
        "/join/{number}?name={username}&password=1234&autojoin=1"
    )))
    .await;
    page.wait_for("!!window.plenum && window.plenum.state().joined")
        .await;
    page.wait_for("window.plenum.state().host_checked").await;
    page
}

async fn guest_page(browser: &Browser, app: &TestApp, number: &str, name: &str) -> Page {
    let mut page = browser
        .open(&app.url(&format!(
            "/join/{number}?name={name}&password=1234&autojoin=1"
        )))
        .await;
    page.wait_for("!!window.plenum && window.plenum.state().joined")
        .await;
    page
}

/// A room with `number` and password `1234`, owned by `owner`.
async fn room_of(app: &TestApp, admin: &str, owner: &str, number: &str) {
    let reply = app
        .post(
            "/api/v1/meeting_room",
            Some(admin),
            json!({"meetingroom_name": format!("Room {number}"), "meeting_number": number,
                   "meeting_password": "1234", "owner_id": owner}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
}

async fn detail(app: &TestApp, token: &str, number: &str) -> Value {
    let reply = app
        .get(&format!("/api/v1/meeting/{number}"), Some(token))
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    reply.body
}

// --- HTTP: whether the caller may control the meeting -------------------------------------------

#[tokio::test]
async fn the_meeting_detail_says_whether_the_caller_may_control_it() {
    let app = live_app().await;
    let admin = app.admin_token().await;
    let (hana, hana_token) = user(&app, &admin, "hana", "Normal").await;
    let (ivy, ivy_token) = user(&app, &admin, "ivy", "Normal").await;
    let (_, otto_token) = user(&app, &admin, "otto", "Normal").await;
    let (_, op_token) = user(&app, &admin, "opal", "MeetingOperator").await;
    let start = (now_ms(&app) / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    reserve(
        &app,
        &hana_token,
        "Planning",
        start,
        json!({"meeting_number": "7102001", "meeting_password": "1234", "invited_users": [ivy]}),
    )
    .await;
    let mut guest = LiveClient::connect(&app, None).await;
    let joined = guest.join_ok("7102001", Some("1234"), "Gus").await;
    // Participants' own copy of the detail (`joined`) does not carry it.
    assert!(joined["meeting"].get("may_control").is_none(), "{joined}");

    // The owner, a MeetingOperator and a SystemAdmin may; an invitee sees the meeting but may
    // not; anyone else may not even see it.
    for (who, token) in [
        ("owner", &hana_token),
        ("operator", &op_token),
        ("admin", &admin),
    ] {
        let d = detail(&app, token, "7102001").await;
        assert_eq!(d["may_control"], true, "{who}: {d}");
        assert_eq!(d["owner_id"], hana.as_str());
    }
    let invitee = detail(&app, &ivy_token, "7102001").await;
    assert_eq!(invitee["may_control"], false, "{invitee}");
    let post = app
        .post("/api/v1/meeting/7102001", Some(&ivy_token), json!({}))
        .await;
    assert_eq!(post.body["may_control"], false, "{}", post.body);
    assert_frtc_error(
        &app.get("/api/v1/meeting/7102001", Some(&otto_token)).await,
        403,
        "permission_denied",
    );
    // What `may_control` says is what the control calls do.
    assert_frtc_error(
        &app.post("/api/v1/meeting/7102001/lock", Some(&ivy_token), json!({}))
            .await,
        403,
        "permission_denied",
    );
    let locked = app
        .post("/api/v1/meeting/7102001/lock", Some(&hana_token), json!({}))
        .await;
    assert_eq!(locked.status.as_u16(), 204, "{}", locked.body);
}

// --- in the browser ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_host_runs_the_meeting_from_the_join_page_and_the_participant_sees_it() {
    let app = live_app().await;
    let admin = app.admin_token().await;
    let (hana, _) = user(&app, &admin, "hana", "Normal").await;
    room_of(&app, &admin, &hana, "7101001").await;

    // The host: signed in to the web app, then joining from it (the room is hers).
    let host_browser = Browser::launch().await;
    let mut host = host_page(&host_browser, &app, "hana", "7101001").await;
    assert_eq!(host.state().await["host"], true);
    host.wait_for("!document.getElementById('host').hidden")
        .await;
    let hana_id = s(&host.state().await, "client_uuid");
    assert_eq!(
        detail(&app, &admin, "7101001").await["participants"][0]["type"],
        "USER"
    );

    // The participant: a guest in another browser (no cookie). Their page has no controls.
    let guest_browser = Browser::launch().await;
    let mut pat = guest_page(&guest_browser, &app, "7101001", "Pat").await;
    let pat_id = s(&pat.state().await, "client_uuid");
    assert_eq!(pat.state().await["host"], false);
    assert_eq!(pat.eval(NO_CONTROLS).await, true);

    // Every control of the panel is labelled, and a keyboard reaches the panel after the
    // meeting's own controls.
    host.wait_for(&format!(
        "!!document.querySelector('#host-people li[data-id=\"{pat_id}\"]')"
    ))
    .await;
    let unlabelled = host
        .eval("[...document.querySelectorAll('#host input, #host select')].filter(e => !e.labels || !e.labels.length).map(e => e.id)")
        .await;
    assert_eq!(unlabelled, json!([]));
    let nameless = host
        .eval("[...document.querySelectorAll('#host button')].filter(b => !b.textContent.trim()).length")
        .await;
    assert_eq!(nameless, 0);
    host.eval("document.getElementById('leave-button').focus()")
        .await;
    host.press("Tab").await;
    assert_eq!(
        host.eval("!!document.activeElement.closest('#host-people')")
            .await,
        true,
        "Tab from Leave goes on to the participants in the panel"
    );

    // Mute Pat, not letting them unmute themselves: the mark changes on both pages.
    set_checked(&mut host, "host-self-unmute", false).await;
    click_for(&mut host, &pat_id, "mute").await;
    pat.wait_for(&mark_is(&pat_id, "Muted by the host")).await;
    host.wait_for(&mark_is(&pat_id, "Muted by the host")).await;
    wait_for_text(&mut host, "You muted Pat").await;

    // Pat asks to speak; the host sees it and allows it; Pat unmutes.
    click(&mut pat, "ask-to-speak").await;
    wait_for_text(&mut host, "Pat asks to speak").await;
    host.wait_for(
        "document.getElementById('host-toggle').textContent === 'Host controls (1 asks to speak)'",
    )
    .await;
    // The whole panel, for the docs.
    host.resize(1280, 1700).await;
    host.screenshot("host-controls").await;
    host.resize(1280, 800).await;
    // By keyboard: the button goes once pressed, and the focus moves on to Pat's next one.
    press_for(&mut host, &pat_id, "allow").await;
    wait_for_text(&mut pat, "A host allowed you to speak").await;
    host.wait_for(&format!(
        "document.activeElement.dataset.action === 'mute' && document.activeElement.closest('li').dataset.id === '{pat_id}'"
    ))
    .await;
    click(&mut pat, "mic-toggle").await;
    host.wait_for(&mark_is(&pat_id, "")).await;
    pat.wait_for(&mark_is(&pat_id, "")).await;

    // Mute everyone (they may unmute themselves): Pat is muted, the host is not; then unmute all.
    set_checked(&mut host, "host-self-unmute", true).await;
    click(&mut host, "host-mute-all").await;
    pat.wait_for(&mark_is(&pat_id, "Muted")).await;
    host.wait_for(&mark_is(&pat_id, "Muted")).await;
    assert_eq!(host.eval(&mark_is(&hana_id, "")).await, true);
    click(&mut host, "host-unmute-all").await;
    pat.wait_for(&mark_is(&pat_id, "")).await;

    // Lock: Pat's page shows it, and a third join is refused in words.
    click(&mut host, "host-lock").await;
    pat.wait_for(&indicators_include("Locked")).await;
    host.wait_for("document.getElementById('host-lock').textContent === 'Unlock the meeting'")
        .await;
    let mut quinn = guest_browser
        .open(&app.url("/join/7101001?name=Quinn&password=1234&autojoin=1"))
        .await;
    wait_for_text(&mut quinn, "The meeting is locked").await;
    assert_eq!(quinn.state().await["refusal"], "meeting_locked");
    assert_eq!(
        detail(&app, &admin, "7101001").await["participants"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // The host lectures, and an overlay runs: Pat's page puts the host first and large, says
    // "Lecturer", and shows the text.
    click_for(&mut host, &hana_id, "lecturer").await;
    pat.wait_for(&format!(
        "(() => {{ const f = document.querySelector('#tiles li.featured'); return !!f && f.dataset.id === '{hana_id}' && f.querySelector('.roles').textContent.includes('Lecturer'); }})()"
    ))
    .await;
    type_into(&mut host, "host-overlay-text", "Break at ten").await;
    type_into(&mut host, "host-overlay-position", "0").await;
    set_checked(&mut host, "host-overlay-scroll", false).await;
    click(&mut host, "host-overlay-show").await;
    pat.wait_for("!document.getElementById('overlay').hidden && document.getElementById('overlay-text').textContent === 'Break at ten' && !document.getElementById('overlay-text').classList.contains('scroll')")
        .await;
    pat.screenshot("host-participant-sees-lecturer-and-overlay")
        .await;

    // Pin Pat for everyone; then Pat's own screen: one video, the speaker layout, the host
    // pinned for Pat alone.
    click_for(&mut host, &pat_id, "pin").await;
    host.wait_for(&format!(
        "window.plenum.state().pinned === '{pat_id}' && document.querySelector('#tiles li.featured').dataset.id === '{pat_id}'"
    ))
    .await;
    type_into(&mut host, "host-viewer", &pat_id).await;
    type_into(&mut host, "host-viewer-pin", &hana_id).await;
    click(&mut host, "host-viewer-pin-apply").await;
    pat.wait_for(&format!("window.plenum.state().own_pin === '{hana_id}'"))
        .await;
    type_into(&mut host, "host-max-views", "1").await;
    type_into(&mut host, "host-layout", "speaker").await;
    click(&mut host, "host-layout-apply").await;
    pat.wait_for(
        "window.plenum.state().max_views === 1 && window.plenum.state().layout === 'speaker'",
    )
    .await;

    // Recording and the live stream: started and stopped from the panel, seen by Pat; an
    // API error is said in words.
    click(&mut host, "host-record").await;
    pat.wait_for(&indicators_include("Recording")).await;
    host.wait_for("document.getElementById('host-record').textContent === 'Stop recording'")
        .await;
    click(&mut host, "host-record").await;
    pat.wait_for(&format!("!{}", indicators_include("Recording")))
        .await;
    type_into(&mut host, "host-live-passcode", "12").await;
    click(&mut host, "host-live").await;
    host.wait_for("!document.getElementById('host-alert').hidden && document.getElementById('host-alert').textContent.startsWith('Starting the live stream did not work. live_password')")
        .await;
    type_into(&mut host, "host-live-passcode", "2468").await;
    click(&mut host, "host-live").await;
    pat.wait_for(&indicators_include("Live")).await;
    host.wait_for("document.getElementById('host-alert').hidden && document.getElementById('host-live-info').textContent.includes('2468')")
        .await;
    let live_url = s(&detail(&app, &admin, "7101001").await, "live_url");
    wait_for_text(&mut host, &live_url).await;
    click(&mut host, "host-live").await;
    pat.wait_for(&format!("!{}", indicators_include("Live")))
        .await;

    // At phone width, in the dark theme, the panel fits.
    host.resize(375, 740).await;
    host.call(
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    )
    .await;
    host.wait_for("getComputedStyle(document.body).backgroundColor === 'rgb(17, 19, 23)'")
        .await;
    host.wait_for("document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    host.wait_for(
        "[...document.querySelectorAll('#host button')].filter(b => b.offsetParent !== null).every(b => { \
           const r = b.getBoundingClientRect(); return r.height >= 40 && r.left >= 0 && r.right <= window.innerWidth; })",
    )
    .await;
    host.screenshot("host-controls-phone-dark").await;
    host.resize(1280, 800).await;

    // Disconnect Pat (by keyboard): their page says so; the host's focus stays in the list.
    press_for(&mut host, &pat_id, "disconnect").await;
    wait_for_text(&mut pat, "You were disconnected by a host").await;
    host.wait_for("window.plenum.state().participants.length === 1")
        .await;
    host.wait_for("document.activeElement.id === 'host-people-heading'")
        .await;

    // End the meeting: a second press confirms; the host's page says it has ended.
    click(&mut host, "host-end").await;
    host.wait_for(
        "document.getElementById('host-end').textContent === 'Press again: end the meeting'",
    )
    .await;
    assert_eq!(
        app.get("/api/v1/meeting/7101001", Some(&admin))
            .await
            .status
            .as_u16(),
        200,
        "one press ends nothing"
    );
    click(&mut host, "host-end").await;
    wait_for_text(&mut host, "The meeting has ended").await;
    assert_eq!(host.eval(NO_CONTROLS).await, true);
    assert_frtc_error(
        &app.get("/api/v1/meeting/7101001", Some(&admin)).await,
        404,
        "meeting_not_running",
    );
}

#[tokio::test]
async fn a_member_without_the_right_sees_no_controls_and_the_server_refuses_them() {
    let app = live_app().await;
    let admin = app.admin_token().await;
    let (hana, _) = user(&app, &admin, "hana", "Normal").await;
    let (_, mira_token) = user(&app, &admin, "mira", "Normal").await;
    room_of(&app, &admin, &hana, "7103001").await;
    let mut gus = LiveClient::connect(&app, None).await;
    gus.join_ok("7103001", Some("1234"), "Gus").await;

    // Mira is a member, signed in to the web app, but the room is not hers. She chose the
    // dark theme there: the join page has it too, and its own toggle changes it back.
    let browser = Browser::launch().await;
    let mut mira = host_page_with(&browser, &app, "mira", "7103001", true).await;
    assert_eq!(mira.state().await["host"], false);
    assert_eq!(mira.eval(NO_CONTROLS).await, true);
    wait_for_text(&mut mira, "Room 7103001").await;
    let background = "getComputedStyle(document.body).backgroundColor";
    assert_eq!(mira.eval(background).await, "rgb(17, 19, 23)");
    click(&mut mira, "theme-toggle").await;
    mira.wait_for(&format!("{background} === 'rgb(245, 246, 248)'"))
        .await;
    assert_eq!(
        mira.eval("[document.getElementById('theme-toggle').getAttribute('aria-pressed'), localStorage.getItem('plenum-theme')]")
            .await,
        json!(["false", "light"])
    );
    let participants = detail(&app, &admin, "7103001").await["participants"].clone();
    assert!(
        participants
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["type"] == "USER")),
        "she joined as herself: {participants}"
    );

    // Calling the API from her page anyway, with her session and its CSRF token: refused.
    let answer = mira
        .eval(
            "fetch('/api/v1/user/session').then(r => r.json()).then(s => \
               fetch('/api/v1/meeting/7103001/mute_all', {method: 'POST', \
                 headers: {'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token}, \
                 body: JSON.stringify({allow_self_unmute: false})})) \
             .then(async r => [r.status, await r.json()])",
        )
        .await;
    assert_eq!(answer[0], 403, "{answer}");
    assert_eq!(answer[1]["errorCode"], "permission_denied", "{answer}");
    // With her token, the same; a guest's page has no credential at all.
    assert_frtc_error(
        &app.post(
            "/api/v1/meeting/7103001/disconnect_all",
            Some(&mira_token),
            json!({}),
        )
        .await,
        403,
        "permission_denied",
    );
    let guest_browser = Browser::launch().await;
    let mut guest = guest_page(&guest_browser, &app, "7103001", "Pat").await;
    assert_eq!(guest.eval(NO_CONTROLS).await, true);
    let answer = guest
        .eval("fetch('/api/v1/meeting/7103001/lock', {method: 'POST'}).then(async r => [r.status, await r.json()])")
        .await;
    assert_eq!(answer[0], 401, "{answer}");
    assert_eq!(answer[1]["errorCode"], "token_missing", "{answer}");
    // Nothing changed.
    let d = detail(&app, &admin, "7103001").await;
    assert_eq!(d["locked"], false);
    assert!(
        d["participants"]
            .as_array()
            .is_some_and(|p| p.len() == 3 && p.iter().all(|p| p["mute_audio"] == false)),
        "{d}"
    );

    // A SystemAdmin who signs in on the join page itself (its token kept in the page's memory,
    // no cookie) has the controls, and they work with that token.
    let mut boss = guest_browser
        .open(&app.url("/join/7103001?name=Boss&password=1234"))
        .await;
    boss.wait_for("!!window.plenum").await;
    boss.eval("document.getElementById('member').open = true")
        .await;
    type_into(&mut boss, "username", "admin").await;
    type_into(&mut boss, "user-password", ADMIN_PASSWORD).await;
    click(&mut boss, "sign-in-button").await;
    wait_for_text(&mut boss, "Signed in as").await;
    click(&mut boss, "join-button").await;
    boss.wait_for("window.plenum.state().joined && window.plenum.state().host_checked")
        .await;
    assert_eq!(boss.state().await["host"], true);
    click(&mut boss, "host-lock").await;
    guest.wait_for(&indicators_include("Locked")).await;
    assert_eq!(detail(&app, &admin, "7103001").await["locked"], true);
    assert_eq!(guest.eval(NO_CONTROLS).await, true);
}
