//! The web app (`/`, docs/web-app.md): its session cookie and CSRF protection over HTTP, then
//! the app itself in headless Chromium (crate::browser), driven as a person would.

use plenum_testkit::{ADMIN_PASSWORD, TestApp};
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use crate::browser::{Browser, Page};
use crate::{assert_frtc_error, live_app, s, user};

// --- HTTP: the session cookie and CSRF --------------------------------------------------------

/// An answer with its status, headers and JSON body.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn reply(&self) -> plenum_testkit::Reply {
        plenum_testkit::Reply {
            status: reqwest::StatusCode::from_u16(self.status).unwrap_or_else(|e| panic!("{e}")),
            body: self.body.clone(),
            headers: self.headers.clone(),
        }
    }

    fn set_cookie(&self) -> String {
        self.headers
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    }
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_else(|e| panic!("{e}"));
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// Opens a web session as `username`: the cookie (`plenum_session=...`) and the CSRF token.
async fn open_session(app: &TestApp, username: &str, password: &str) -> (String, String, Answer) {
    let answer = send(
        app.client
            .post(app.url("/api/v1/user/session"))
            .json(&json!({"username": username, "password": password})),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let cookie = answer
        .set_cookie()
        .split(';')
        .next()
        .unwrap_or("")
        .to_owned();
    let csrf = s(&answer.body, "csrf_token");
    (cookie, csrf, answer)
}

#[tokio::test]
async fn the_session_lives_in_an_http_only_cookie_changes_need_the_csrf_token_and_sign_out_ends_it()
{
    let app = TestApp::spawn().await;
    let (cookie, csrf, opened) = open_session(&app, "admin", ADMIN_PASSWORD).await;
    let set = opened.set_cookie();
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/api/v1",
        "Max-Age=86400",
    ] {
        assert!(set.contains(part), "{part} missing from {set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    assert!(cookie.starts_with("plenum_session=") && cookie.len() > 30);
    // The answer does not show the token: only the cookie holds it.
    assert!(opened.body.get("user_token").is_none(), "{}", opened.body);
    assert_eq!(opened.body["username"], "admin");
    assert_eq!(opened.body["role"], json!(["SystemAdmin"]));
    assert_eq!(csrf.len(), 64);
    let token = cookie.trim_start_matches("plenum_session=").to_owned();

    // Reads take the cookie alone; FRTC's user/info does not echo a cookie's token to script.
    let info = send(
        app.client
            .get(app.url("/api/v1/user/info"))
            .header(COOKIE, &cookie),
    )
    .await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(info.body["user_token"], "");
    let session = send(
        app.client
            .get(app.url("/api/v1/user/session"))
            .header(COOKIE, &cookie),
    )
    .await;
    assert_eq!(session.status, 200);
    assert_eq!(session.body["csrf_token"], csrf.as_str());

    // A change with the cookie but without the CSRF token, or with another, is refused and
    // changes nothing.
    let meeting = json!({"meeting_type": "instant", "meeting_name": "Cookie"});
    let bare = send(
        app.client
            .post(app.url("/api/v1/meeting_schedule"))
            .header(COOKIE, &cookie)
            .json(&meeting),
    )
    .await;
    assert_frtc_error(&bare.reply(), 403, "permission_denied");
    assert!(
        bare.body["error"]
            .as_str()
            .unwrap_or("")
            .contains("X-CSRF-Token")
    );
    let wrong = send(
        app.client
            .post(app.url("/api/v1/meeting_schedule"))
            .header(COOKIE, &cookie)
            .header("x-csrf-token", "0".repeat(64))
            .json(&meeting),
    )
    .await;
    assert_frtc_error(&wrong.reply(), 403, "permission_denied");
    let admin = app.admin_token().await;
    let list = app.get("/api/v1/meeting_schedule", Some(&admin)).await;
    assert_eq!(list.body["total_size"], 0, "{}", list.body);
    // Sign-out without it neither.
    let out = send(
        app.client
            .delete(app.url("/api/v1/user/session"))
            .header(COOKIE, &cookie),
    )
    .await;
    assert_frtc_error(&out.reply(), 403, "permission_denied");

    // With it, the change is made.
    let made = send(
        app.client
            .post(app.url("/api/v1/meeting_schedule"))
            .header(COOKIE, &cookie)
            .header("x-csrf-token", &csrf)
            .json(&meeting),
    )
    .await;
    assert_eq!(made.status, 200, "{}", made.body);

    // A request the browser marks as from another site is not authenticated by the cookie.
    let cross = send(
        app.client
            .post(app.url("/api/v1/meeting_schedule"))
            .header(COOKIE, &cookie)
            .header("x-csrf-token", &csrf)
            .header("sec-fetch-site", "cross-site")
            .json(&meeting),
    )
    .await;
    assert_frtc_error(&cross.reply(), 401, "token_missing");
    // A token in the header wins over the cookie, and needs no CSRF token.
    let bearer = send(
        app.client
            .post(app.url("/api/v1/meeting_schedule"))
            .header(COOKIE, "plenum_session=not-a-token")
            .bearer_auth(&admin)
            .json(&meeting),
    )
    .await;
    assert_eq!(bearer.status, 200, "{}", bearer.body);

    // Sign-out ends the token at once and clears the cookie.
    let out = send(
        app.client
            .delete(app.url("/api/v1/user/session"))
            .header(COOKIE, &cookie)
            .header("x-csrf-token", &csrf),
    )
    .await;
    assert_eq!(out.status, 204, "{}", out.body);
    let cleared = out.set_cookie();
    assert!(
        cleared.starts_with("plenum_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let after = send(
        app.client
            .get(app.url("/api/v1/user/session"))
            .header(COOKIE, &cookie),
    )
    .await;
    assert_frtc_error(&after.reply(), 401, "token_invalid");
    let as_bearer = app.get("/api/v1/user/info", Some(&token)).await;
    assert_frtc_error(&as_bearer, 401, "token_invalid");
    // Where a token is optional, a stale cookie is no token (the directory stays readable).
    let directory = send(
        app.client
            .get(app.url("/api/v1/user/public/users"))
            .header(COOKIE, &cookie),
    )
    .await;
    assert_eq!(directory.status, 200, "{}", directory.body);
}

#[tokio::test]
async fn a_session_is_opened_only_by_json_from_this_site_and_refusals_are_frtc_errors() {
    let app = TestApp::spawn().await;
    let body = json!({"username": "admin", "password": ADMIN_PASSWORD}).to_string();
    // A form on another site can send text/plain, never application/json: refused.
    let form = send(
        app.client
            .post(app.url("/api/v1/user/session"))
            .header(CONTENT_TYPE, "text/plain")
            .body(body.clone()),
    )
    .await;
    assert_frtc_error(&form.reply(), 415, "unsupported_media_type");
    assert!(form.set_cookie().is_empty());
    let cross = send(
        app.client
            .post(app.url("/api/v1/user/session"))
            .header(CONTENT_TYPE, "application/json")
            .header("sec-fetch-site", "cross-site")
            .body(body),
    )
    .await;
    assert_frtc_error(&cross.reply(), 403, "permission_denied");
    let wrong = send(
        app.client
            .post(app.url("/api/v1/user/session"))
            .json(&json!({"username": "admin", "password": "wrong-password"})),
    )
    .await;
    assert_frtc_error(&wrong.reply(), 401, "invalid_credentials");
    assert!(wrong.set_cookie().is_empty());
    let none = send(app.client.get(app.url("/api/v1/user/session"))).await;
    assert_frtc_error(&none.reply(), 401, "token_missing");
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_server_is_reached_over_https() {
    let app = TestApp::spawn_with(|s| s.public_url = Some("https://meet.example".to_owned())).await;
    let (_, _, opened) = open_session(&app, "admin", ADMIN_PASSWORD).await;
    let set = opened.set_cookie();
    assert!(set.contains("; Secure"), "{set}");
}

#[tokio::test]
async fn the_app_is_served_at_the_root_with_its_security_headers_and_assets() {
    let app = TestApp::spawn().await;
    let page = send(app.client.get(app.url("/"))).await;
    assert_eq!(page.status, 200);
    let header = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    let csp = header("content-security-policy");
    assert!(
        csp.contains("script-src 'self';") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(header("x-frame-options"), "DENY");
    assert!(header("permissions-policy").contains("camera=()"));
    for (path, kind) in [
        ("/app/app.js", "text/javascript; charset=utf-8"),
        ("/app/meetings.js", "text/javascript; charset=utf-8"),
        ("/app/app.css", "text/css; charset=utf-8"),
    ] {
        let asset = send(app.client.get(app.url(path))).await;
        assert_eq!(asset.status, 200, "{path}");
        assert_eq!(
            asset
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some(kind)
        );
        assert!(asset.headers.get("etag").is_some(), "{path}");
    }
    assert_eq!(
        send(app.client.get(app.url("/app/nope.js"))).await.status,
        404
    );
}

// --- in the browser -------------------------------------------------------------------------

/// Opens the app in a new tab and waits for its script to have looked at the session.
pub(crate) async fn open(browser: &Browser, app: &TestApp, path: &str) -> Page {
    let mut page = browser.open(&app.url(path)).await;
    page.wait_for("!!(window.plenumApp && window.plenumApp.ready)")
        .await;
    page
}

pub(crate) async fn wait_for_text(page: &mut Page, words: &str) {
    let words = serde_json::to_string(&words.to_lowercase()).unwrap_or_else(|e| panic!("{e}"));
    page.wait_for(&format!(
        "document.body.innerText.toLowerCase().includes({words})"
    ))
    .await;
}

/// Types `text` into the control `id` as a person would: the value, then input and change.
pub(crate) async fn type_into(page: &mut Page, id: &str, text: &str) {
    let text = serde_json::to_string(text).unwrap_or_else(|e| panic!("{e}"));
    page.eval(&format!(
        "(() => {{ const e = document.getElementById('{id}'); e.focus(); e.value = {text}; \
           e.dispatchEvent(new Event('input', {{bubbles: true}})); \
           e.dispatchEvent(new Event('change', {{bubbles: true}})); }})()"
    ))
    .await;
}

pub(crate) async fn click(page: &mut Page, id: &str) {
    page.eval(&format!("document.getElementById('{id}').click()"))
        .await;
}

/// Clicks the button or link whose text is `text` inside the element matched by `within`.
pub(crate) async fn click_text(page: &mut Page, within: &str, text: &str) {
    let within = serde_json::to_string(within).unwrap_or_else(|e| panic!("{e}"));
    let text = serde_json::to_string(text).unwrap_or_else(|e| panic!("{e}"));
    page.wait_for(&format!(
        "[...document.querySelectorAll({within} + ' a, ' + {within} + ' button')].some(e => e.textContent.trim() === {text})"
    ))
    .await;
    page.eval(&format!(
        "[...document.querySelectorAll({within} + ' a, ' + {within} + ' button')].find(e => e.textContent.trim() === {text}).click()"
    ))
    .await;
}

/// Clicks a button that arms itself (`label`), then its armed form (`confirm`). A view drawn
/// again meanwhile (the list reloads after a navigation to the view it shows) replaces an
/// armed button with a fresh one, as it would for a person, who then clicks again: so does
/// this, a bounded number of times.
pub(crate) async fn click_and_confirm(page: &mut Page, within: &str, label: &str, confirm: &str) {
    // Clicks the armed button in the same evaluation that finds it: an armed button the view
    // replaces (or that loses the focus) between a look and a click is not missed for good.
    let click_armed = format!(
        "(() => {{ const b = [...document.querySelectorAll({w} + ' button')].find(e => e.textContent.trim() === {c}); if (b) b.click(); return !!b; }})()",
        w = serde_json::to_string(within).unwrap_or_else(|e| panic!("{e}")),
        c = serde_json::to_string(confirm).unwrap_or_else(|e| panic!("{e}")),
    );
    for _ in 0..5 {
        click_text(page, within, label).await;
        for _ in 0..20 {
            if let Ok(serde_json::Value::Bool(true)) = page.try_eval(&click_armed).await {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    panic!("{label:?} never turned into {confirm:?}");
}

pub(crate) async fn sign_in(page: &mut Page, username: &str, password: &str) {
    page.wait_for("!document.getElementById('sign-in').hidden")
        .await;
    type_into(page, "username", username).await;
    type_into(page, "password", password).await;
    click(page, "sign-in-button").await;
}

/// The card of the meeting named `name` in the view (a CSS selector for it).
fn card_of(name: &str) -> String {
    let name = serde_json::to_string(name).unwrap_or_else(|e| panic!("{e}"));
    format!(
        "[...document.querySelectorAll('#view li.meeting')].some(c => c.querySelector('.meeting-name').textContent === {name})"
    )
}

#[tokio::test]
async fn a_member_signs_in_sees_errors_in_words_switches_theme_and_signs_out() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, _) = user(&app, &admin, "mira", "Normal").await;
    let browser = Browser::launch().await;
    let mut page = open(&browser, &app, "/").await;

    // The form: labelled controls a keyboard reaches in order.
    let unlabelled = page
        .eval("[...document.querySelectorAll('input, select, textarea')].filter(e => !e.closest('[hidden]') && (!e.labels || !e.labels.length)).map(e => e.id)")
        .await;
    assert_eq!(unlabelled, json!([]));
    page.eval("document.activeElement && document.activeElement.blur()")
        .await;
    let order = page.tab_order(5).await;
    let at = |id: &str| order.iter().position(|o| o == id);
    assert!(
        at("theme-toggle") < at("username")
            && at("username") < at("password")
            && at("password") < at("sign-in-button"),
        "{order:?}"
    );
    page.screenshot("web-sign-in").await;

    // Errors in words: nothing typed, then a wrong password.
    click(&mut page, "sign-in-button").await;
    wait_for_text(&mut page, "Enter your username and your password").await;
    sign_in(&mut page, "mira", "not-her-password").await;
    wait_for_text(&mut page, "The username or password is wrong.").await;
    assert_eq!(
        page.eval("document.getElementById('alert').getAttribute('role')")
            .await,
        "alert"
    );

    sign_in(&mut page, "mira", "Passw0rd-123").await;
    page.wait_for("document.title.startsWith('Upcoming meetings')")
        .await;
    wait_for_text(&mut page, "Signed in as MIRA").await;
    wait_for_text(&mut page, "No meetings are planned").await;
    // The session is in an HttpOnly cookie: script sees no token anywhere.
    assert_eq!(page.eval("document.cookie").await, "");
    assert_eq!(
        page.eval("Object.keys(localStorage).concat(Object.keys(sessionStorage)).filter(k => k !== 'plenum-theme')")
            .await,
        json!([])
    );

    // Light by default; dark when the system prefers it; the toggle overrides both ways.
    let background = "getComputedStyle(document.body).backgroundColor";
    assert_eq!(page.eval(background).await, "rgb(255, 255, 255)");
    page.call(
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    )
    .await;
    page.wait_for(&format!("{background} === 'rgb(18, 20, 23)'"))
        .await;
    // The toggle is pressed, and says the dark theme comes from the system (the change event
    // of the media query may come a moment after the style).
    page.wait_for(
        "document.getElementById('theme-toggle').getAttribute('aria-pressed') === 'true'",
    )
    .await;
    page.wait_for(
        "document.getElementById('theme-toggle').textContent === 'Dark theme: on, as the system'",
    )
    .await;
    page.screenshot("web-meetings-dark").await;
    click(&mut page, "theme-toggle").await;
    page.wait_for(&format!("{background} === 'rgb(255, 255, 255)'"))
        .await;
    click(&mut page, "theme-toggle").await;
    page.wait_for(&format!("{background} === 'rgb(18, 20, 23)'"))
        .await;

    // At phone width nothing goes sideways and the menu stays reachable.
    page.resize(375, 740).await;
    page.wait_for("document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    page.wait_for(
        "document.getElementById('sign-out').getBoundingClientRect().right <= window.innerWidth",
    )
    .await;
    page.screenshot("web-meetings-phone").await;

    // A reload keeps the session (the cookie); the account page shows who it is.
    page.navigate(&app.url("/#/account")).await;
    page.wait_for("!!(window.plenumApp && window.plenumApp.ready)")
        .await;
    page.wait_for("document.title.startsWith('Your account')")
        .await;
    assert_eq!(
        page.eval("document.getElementById('account-username').textContent")
            .await,
        "mira"
    );

    // Sign-out ends the session on the server, not only in the page.
    click(&mut page, "sign-out").await;
    wait_for_text(&mut page, "You are signed out.").await;
    page.wait_for("!document.getElementById('sign-in').hidden")
        .await;
    assert_eq!(
        page.eval("fetch('/api/v1/user/session').then(r => r.status)")
            .await,
        401
    );
    page.navigate(&app.url("/")).await;
    page.wait_for("!!(window.plenumApp && window.plenumApp.ready)")
        .await;
    assert_eq!(page.eval("window.plenumApp.signedIn()").await, false);
}

#[tokio::test]
async fn a_member_schedules_a_series_sees_it_in_the_week_edits_an_occurrence_and_joins_it() {
    let app = live_app().await;
    let admin = app.admin_token().await;
    let (_, mira_token) = user(&app, &admin, "mira", "Normal").await;
    let (otto_id, _) = user(&app, &admin, "otto", "Normal").await;
    let browser = Browser::launch().await;
    let mut page = open(&browser, &app, "/").await;
    sign_in(&mut page, "mira", "Passw0rd-123").await;
    page.wait_for("document.title.startsWith('Upcoming meetings')")
        .await;

    click(&mut page, "new-meeting").await;
    page.wait_for("document.title.startsWith('New meeting')")
        .await;
    // A weekly series from a few minutes from now (open to join at once), for five weeks.
    let (start, end, until) = page
        .eval(
            "(() => { const pad = n => String(n).padStart(2, '0'); \
               const local = d => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`; \
               const s = new Date(Math.ceil((Date.now() + 3 * 60000) / 60000) * 60000); \
               const e = new Date(s.getTime() + 3600000); \
               const u = new Date(s.getTime() + 30 * 86400000); \
               return [local(s), local(e), local(u).slice(0, 10)]; })()",
        )
        .await
        .as_array()
        .map(|a| {
            (
                a[0].as_str().unwrap().to_owned(),
                a[1].as_str().unwrap().to_owned(),
                a[2].as_str().unwrap().to_owned(),
            )
        })
        .unwrap();
    type_into(&mut page, "m-name", "Weekly sync").await;
    type_into(&mut page, "m-start", &start).await;
    type_into(&mut page, "m-end", &end).await;
    page.eval("document.getElementById('m-repeats').click()")
        .await;
    page.wait_for("!document.getElementById('m-repeat').hidden")
        .await;
    type_into(&mut page, "m-frequency", "WEEKLY").await;
    type_into(&mut page, "m-interval", "1").await;
    type_into(&mut page, "m-until", &until).await;
    type_into(&mut page, "m-password", "2468").await;
    click(&mut page, "m-mute").await;
    // An invitee from the company's directory.
    type_into(&mut page, "m-invite-search", "ott").await;
    click_text(&mut page, "#m-invite-results", "Invite OTTO (otto)").await;
    wait_for_text(&mut page, "Remove OTTO").await;
    page.screenshot("web-new-series").await;
    click(&mut page, "m-save").await;

    // The week of its start shows it.
    page.wait_for("document.title.startsWith('Week of')").await;
    wait_for_text(&mut page, "Scheduled “Weekly sync”").await;
    page.wait_for(&card_of("Weekly sync")).await;
    page.screenshot("web-week").await;
    let list = app
        .get("/api/v1/meeting_schedule?page_size=50", Some(&mira_token))
        .await;
    let occurrences = list.body["scheduled_meetings"].as_array().unwrap().clone();
    assert_eq!(occurrences.len(), 5, "{}", list.body);
    let first = &occurrences[0];
    let second = s(&occurrences[1], "reservation_id");
    let detail = app
        .get(
            &format!("/api/v1/meeting_schedule/{}", s(first, "reservation_id")),
            Some(&mira_token),
        )
        .await;
    assert_eq!(detail.body["recurrence_type"], "WEEKLY");
    assert_eq!(detail.body["mute_upon_entry"], "ENABLE");
    assert_eq!(detail.body["meeting_password"], "2468");
    assert_eq!(detail.body["invited_users_detail"][0]["user_id"], otto_id);

    // The next week: edit that occurrence only.
    click(&mut page, "next-week").await;
    page.wait_for(&format!(
        "!!document.querySelector('#view li.meeting[data-reservation=\"{second}\"]')"
    ))
    .await;
    page.eval(&format!(
        "[...document.querySelectorAll('#view li.meeting[data-reservation=\"{second}\"] a')].find(a => a.textContent === 'Edit this occurrence').click()"
    ))
    .await;
    page.wait_for("document.title.startsWith('Edit one occurrence')")
        .await;
    type_into(&mut page, "m-name", "Weekly sync (moved)").await;
    click(&mut page, "m-save").await;
    wait_for_text(&mut page, "Saved “Weekly sync (moved)”").await;
    page.wait_for(&card_of("Weekly sync (moved)")).await;
    let moved = app
        .get(
            &format!("/api/v1/meeting_schedule/{second}"),
            Some(&mira_token),
        )
        .await;
    assert_eq!(moved.body["meeting_name"], "Weekly sync (moved)");
    let others = app
        .get(
            &format!("/api/v1/meeting_schedule/{}", s(first, "reservation_id")),
            Some(&mira_token),
        )
        .await;
    assert_eq!(others.body["meeting_name"], "Weekly sync");

    // Back to this week: copy the link, then join with one click, as herself.
    click(&mut page, "previous-week").await;
    page.wait_for(&card_of("Weekly sync")).await;
    click_text(&mut page, "#view li.meeting", "Copy link").await;
    wait_for_text(&mut page, &s(first, "meeting_url")).await;
    click_text(&mut page, "#view li.meeting", "Join").await;
    page.wait_for("!!(window.plenum && window.plenum.state().joined)")
        .await;
    let number = s(first, "meeting_number");
    let live = app
        .get(&format!("/api/v1/meeting/{number}"), Some(&admin))
        .await;
    assert_eq!(
        live.body["participants"][0]["type"], "USER",
        "{}",
        live.body
    );
    assert_eq!(
        live.body["participants"][0]["name"], "MIRA",
        "{}",
        live.body
    );
}

#[tokio::test]
async fn reservations_are_made_changed_and_deleted_and_the_account_page_works() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "mira", "Normal").await;
    crate::room(&app, &admin, "7009001").await;
    let browser = Browser::launch().await;
    let mut page = open(&browser, &app, "/").await;
    sign_in(&mut page, "mira", "Passw0rd-123").await;
    page.wait_for("document.title.startsWith('Upcoming meetings')")
        .await;

    // A reservation with a password that is not one: the server's rule, in words.
    click(&mut page, "new-meeting").await;
    page.wait_for("document.title.startsWith('New meeting')")
        .await;
    type_into(&mut page, "m-name", "Design review").await;
    type_into(&mut page, "m-password", "12ab").await;
    click(&mut page, "m-save").await;
    page.wait_for("!document.getElementById('alert').hidden")
        .await;
    let said = page
        .eval("document.getElementById('alert').textContent")
        .await;
    assert!(
        said.as_str().unwrap_or("").contains("meeting_password"),
        "{said}"
    );
    type_into(&mut page, "m-password", "1357").await;
    click(&mut page, "m-save").await;
    wait_for_text(&mut page, "Scheduled “Design review”").await;

    // Changed from the list, then deleted (after a second, confirming click).
    // The editor goes on to the meeting's week; only then is the list asked for, so the two
    // views do not race.
    page.wait_for("document.title.startsWith('Week of')").await;
    page.navigate(&app.url("/#/meetings")).await;
    // The week shows the same cards: only once the list is shown is its card the one clicked.
    page.wait_for("document.title.startsWith('Upcoming meetings')")
        .await;
    page.wait_for(&card_of("Design review")).await;
    click_text(&mut page, "#view li.meeting", "Edit").await;
    page.wait_for("document.title.startsWith('Edit “Design review”')")
        .await;
    assert_eq!(
        page.eval("document.getElementById('m-password').value")
            .await,
        "1357"
    );
    type_into(&mut page, "m-name", "Design review II").await;
    click(&mut page, "m-save").await;
    wait_for_text(&mut page, "Saved “Design review II”").await;
    // The editor goes on to the meeting's week; only then is the list asked for, so the two
    // views do not race.
    page.wait_for("document.title.startsWith('Week of')").await;
    page.navigate(&app.url("/#/meetings")).await;
    page.wait_for("document.title.startsWith('Upcoming meetings')")
        .await;
    page.wait_for(&card_of("Design review II")).await;
    click_and_confirm(&mut page, "#view li.meeting", "Delete", "Really delete?").await;
    wait_for_text(&mut page, "Deleted “Design review II”").await;
    wait_for_text(&mut page, "No meetings are planned").await;
    let mine = app.get("/api/v1/meeting_schedule", Some(&admin)).await;
    assert_eq!(mine.body["total_size"], 0, "{}", mine.body);

    // Rooms: the company's, with a join link.
    click(&mut page, "nav-rooms").await;
    page.wait_for("document.title.startsWith('Rooms')").await;
    wait_for_text(&mut page, "Room 7009001").await;
    assert_eq!(
        page.eval("[...document.querySelectorAll('#view a')].find(a => a.textContent === 'Join').getAttribute('href')")
            .await,
        "/join/7009001?name=MIRA&autojoin=1&password=1234"
    );

    // The account: a wrong current password, in words; then the change; the calendar feed.
    click(&mut page, "nav-account").await;
    page.wait_for("document.title.startsWith('Your account')")
        .await;
    type_into(&mut page, "current-password", "wrong-one").await;
    type_into(&mut page, "new-password", "Another-Passw0rd").await;
    type_into(&mut page, "repeat-password", "Another-Passw0rd").await;
    click(&mut page, "change-password").await;
    wait_for_text(&mut page, "The current password is wrong.").await;
    type_into(&mut page, "current-password", "Passw0rd-123").await;
    click(&mut page, "change-password").await;
    wait_for_text(&mut page, "Your password is changed").await;
    app.sign_in("mira", "Another-Passw0rd").await;
    click(&mut page, "make-feed").await;
    page.wait_for("!!document.getElementById('feed-url')").await;
    let feed = page.eval("document.getElementById('feed-url').value").await;
    let feed = feed.as_str().unwrap_or("").to_owned();
    assert!(feed.contains("/api/v1/calendar/"), "{feed}");
    let ics = app.client.get(&feed).send().await.unwrap();
    assert_eq!(ics.status().as_u16(), 200);
    page.screenshot("web-account").await;
}

/// The editor turns wall-clock times in a chosen zone into instants with the browser's `Intl`
/// alone (time.js): the same instants as jiff's, across daylight-saving changes.
#[tokio::test]
async fn wall_clock_times_become_the_right_instants_in_any_zone() {
    let app = TestApp::spawn().await;
    let browser = Browser::launch().await;
    let mut page = open(&browser, &app, "/").await;
    let cases = [
        ("2026-07-01T09:00", "Europe/Berlin"),
        ("2026-01-15T09:00", "Europe/Berlin"),
        // Skipped by the spring change: the same instant as an hour later (jiff: compatible).
        ("2026-03-29T02:30", "Europe/Berlin"),
        ("2026-11-01T09:00", "America/New_York"),
        ("2026-03-08T09:00", "America/New_York"),
        ("2026-06-15T18:45", "Asia/Kolkata"),
        ("2026-04-05T03:00", "Pacific/Chatham"),
        ("2026-12-31T23:59", "UTC"),
    ];
    for (local, zone) in cases {
        let expected = local
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .in_tz(zone)
            .unwrap()
            .timestamp()
            .as_millisecond();
        let got = page
            .eval(&format!(
                "import('/app/time.js').then(t => t.fromLocal('{local}', '{zone}'))"
            ))
            .await;
        assert_eq!(got, expected, "{local} in {zone}");
        // And back, for a time that exists.
        if local != "2026-03-29T02:30" {
            let back = page
                .eval(&format!(
                    "import('/app/time.js').then(t => t.toLocal({expected}, '{zone}'))"
                ))
                .await;
            assert_eq!(back, local, "{expected} in {zone}");
        }
    }
    // A time the autumn change repeats is one of its two instants, and reads back the same.
    let back = page
        .eval("import('/app/time.js').then(t => t.toLocal(t.fromLocal('2026-10-25T02:30', 'Europe/Berlin'), 'Europe/Berlin'))")
        .await;
    assert_eq!(back, "2026-10-25T02:30");
    // A series' last day ends at the zone's midnight.
    let end = page
        .eval("import('/app/time.js').then(t => t.endOfDay('2026-07-01', 'Europe/Berlin'))")
        .await;
    let midnight = "2026-07-02T00:00"
        .parse::<jiff::civil::DateTime>()
        .unwrap()
        .in_tz("Europe/Berlin")
        .unwrap()
        .timestamp()
        .as_millisecond();
    assert_eq!(end, midnight - 1);
}
