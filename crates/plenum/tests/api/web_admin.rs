//! The web app's history page and the SystemAdmin's pages (docs/web-app.md), in headless
//! Chromium, driven as a person would: users, keys, import, history with attendance, webhooks;
//! a member sees none of it; and axe-core finds no serious or critical violation on any page,
//! in the light and the dark theme.

use std::time::Duration;

use plenum_testkit::{ADMIN_PASSWORD, TestApp};
use serde_json::{Value, json};

use crate::browser::{Browser, Page};
use crate::media::{MediaBot, eventually};
use crate::web_app::{
    click, click_and_confirm, click_text, open, sign_in, type_into, wait_for_text,
};

const PASSWORD: &str = "Passw0rd-123";

/// axe-core, as `scripts/install-test-deps.sh` installs it from the lockfile.
fn axe_source() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}): run scripts/install-test-deps.sh",
            path.display()
        )
    })
}

/// Runs axe-core in the page (injected over DevTools: the app never serves it) and fails on
/// any serious or critical violation, naming the rule and the elements.
async fn assert_accessible(page: &mut Page, axe: &str, what: &str) {
    if page.eval("typeof window.axe === 'object'").await != json!(true) {
        page.eval(axe).await;
    }
    let found = page
        .eval(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations \
               .filter(v => v.impact === 'serious' || v.impact === 'critical') \
               .map(v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map(n => n.target.join(' ')).slice(0, 5).join(', ')}`))",
        )
        .await;
    assert_eq!(found, json!([]), "axe on {what}");
}

/// Opens `hash` in the app and waits for the view's heading to say `title`.
async fn visit(page: &mut Page, hash: &str, title: &str) {
    let hash_js = serde_json::to_string(hash).unwrap_or_default();
    page.eval(&format!("location.hash = {hash_js}")).await;
    let title_js = serde_json::to_string(title).unwrap_or_default();
    page.wait_for(&format!(
        "(() => {{ const h = document.querySelector('#view .view-heading'); return !!h && h.textContent === {title_js} && document.title.startsWith({title_js}); }})()"
    ))
    .await;
}

/// Puts a file with `text` in the file input `id`, as choosing it would.
async fn choose_file(page: &mut Page, id: &str, name: &str, text: &str) {
    let text = serde_json::to_string(text).unwrap_or_default();
    page.eval(&format!(
        "(() => {{ const dt = new DataTransfer(); dt.items.add(new File([{text}], '{name}', {{type: 'application/x-ndjson'}})); \
           const e = document.getElementById('{id}'); e.files = dt.files; e.dispatchEvent(new Event('change', {{bubbles: true}})); }})()"
    ))
    .await;
}

fn history_file(admin: &str) -> String {
    let lines = [
        json!({"type": "session", "id": "01900000-0000-7000-8000-00000000e051", "meeting_number": "7100001",
               "name": "Quarterly review", "owner": admin, "invitees": ["nora"],
               "started_at": "2026-06-17T08:00:00Z", "ended_at": "2026-06-17T09:00:00Z"}),
        json!({"type": "attendance", "id": "01900000-0000-7000-8000-00000000e0a1",
               "session": "01900000-0000-7000-8000-00000000e051", "user": admin,
               "display_name": "The admin", "device_type": "desktop", "media_type": "video",
               "joined_at": "2026-06-17T08:00:00Z", "left_at": "2026-06-17T09:00:00Z"}),
        json!({"type": "attendance", "id": "01900000-0000-7000-8000-00000000e0a2",
               "session": "01900000-0000-7000-8000-00000000e051", "user": "nora",
               "display_name": "Nora N", "device_type": "mobile", "media_type": "audio",
               "joined_at": "2026-06-17T08:10:00Z", "left_at": "2026-06-17T08:40:00Z"}),
        json!({"type": "attendance", "id": "01900000-0000-7000-8000-00000000e0a3",
               "session": "01900000-0000-7000-8000-00000000e051",
               "display_name": "Dial-in guest", "device_type": "phone", "media_type": "audio",
               "joined_at": "2026-06-17T08:15:00Z", "left_at": "2026-06-17T08:20:00Z"}),
        json!({"type": "recording", "id": "01900000-0000-7000-8000-00000000e0c1",
               "session": "01900000-0000-7000-8000-00000000e051", "kind": "video",
               "status": "completed", "codec": "vp8", "size_bytes": 1_000_000, "duration_secs": 3600,
               "started_at": "2026-06-17T08:00:00Z", "ended_at": "2026-06-17T09:00:00Z",
               "completed_at": "2026-06-17T09:01:00Z", "download_url": "https://files.example/q.webm"}),
    ];
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The text of the table row whose header cell is `name`, in the table `table`.
async fn row_text(page: &mut Page, table: &str, name: &str) -> String {
    let name = serde_json::to_string(name).unwrap_or_default();
    let expr = format!(
        "[...document.querySelectorAll('#{table} tbody tr')].map(r => r.innerText).find(t => t.startsWith({name})) || ''"
    );
    page.wait_for(&format!("({expr}) !== ''")).await;
    page.eval(&expr)
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn an_admin_creates_a_user_who_signs_in_makes_a_key_imports_history_and_sees_attendance() {
    let app = TestApp::spawn_with(|s| s.policy.webhooks.allow_private = true).await;
    let axe = axe_source();
    let browser = Browser::launch().await;
    let mut page = open(&browser, &app, "/").await;
    assert_accessible(&mut page, &axe, "the sign-in").await;
    sign_in(&mut page, "admin", ADMIN_PASSWORD).await;
    page.wait_for("document.title.startsWith('Upcoming meetings')")
        .await;
    assert_eq!(
        page.eval("document.getElementById('nav-admin-item').hidden")
            .await,
        false
    );

    // A user, created in the page, then found by the search.
    click(&mut page, "nav-admin").await;
    visit(&mut page, "#/admin/users", "Users").await;
    type_into(&mut page, "new-user-username", "nora").await;
    type_into(&mut page, "new-user-name", "Nora N").await;
    page.eval("document.getElementById('new-user-role').value = 'MeetingOperator'")
        .await;
    click(&mut page, "create-user").await;
    wait_for_text(&mut page, "Enter a username and a password").await;
    type_into(&mut page, "new-user-password", PASSWORD).await;
    click(&mut page, "create-user").await;
    wait_for_text(&mut page, "Created the user nora.").await;
    let row = row_text(&mut page, "users-table", "nora").await;
    assert!(
        row.contains("Nora N") && row.contains("Meeting operator"),
        "{row}"
    );
    assert_eq!(
        page.eval("document.getElementById('user-search').value")
            .await,
        "nora"
    );
    page.screenshot("web-admin-users").await;
    // A username taken is said in words.
    type_into(&mut page, "new-user-username", "nora").await;
    type_into(&mut page, "new-user-password", PASSWORD).await;
    click(&mut page, "create-user").await;
    page.wait_for("!document.getElementById('alert').hidden && document.getElementById('alert').textContent === 'This username is taken. Choose another.'")
        .await;

    // Edit: her role back to member, and a new password.
    click_text(&mut page, "#users-table", "Edit").await;
    page.wait_for("document.querySelector('#view .view-heading').textContent === 'User nora'")
        .await;
    assert_accessible(&mut page, &axe, "a user's page").await;
    page.eval("document.getElementById('edit-user-role').value = 'Normal'")
        .await;
    click(&mut page, "save-user").await;
    wait_for_text(&mut page, "Saved nora.").await;
    type_into(&mut page, "reset-password", "Another-pass-1").await;
    click(&mut page, "reset-password-button").await;
    wait_for_text(&mut page, "The password of nora is reset").await;
    let admin = app.admin_token().await;
    let nora_id = app
        .get("/api/v1/user/public/users?filter=nora", Some(&admin))
        .await
        .body["users"][0]["user_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let nora = app
        .get(&format!("/api/v1/user/users/{nora_id}"), Some(&admin))
        .await;
    assert_eq!(nora.body["role"], json!(["Normal"]), "{}", nora.body);

    // The last administrator cannot stop being one: said in words, nothing changes.
    let admin_id = page
        .eval("fetch('/api/v1/user/session').then(r => r.json()).then(b => b.user_id)")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned();
    visit(
        &mut page,
        &format!("#/admin/users/{admin_id}"),
        "User admin",
    )
    .await;
    page.eval("document.getElementById('edit-user-role').value = 'Normal'")
        .await;
    click(&mut page, "save-user").await;
    page.wait_for("document.getElementById('alert').textContent.includes('last administrator: make someone else')")
        .await;

    // A key: its secret shown once, working, then revoked.
    visit(&mut page, "#/admin/keys", "API keys and Huawei apps").await;
    type_into(&mut page, "new-key-name", "reporting").await;
    click(&mut page, "create-key").await;
    page.wait_for("!!document.getElementById('new-secret') && document.getElementById('new-secret').value.length > 10")
        .await;
    let secret = page
        .eval("document.getElementById('new-secret').value")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned();
    wait_for_text(&mut page, "Shown this once").await;
    // The list has it already, without its secret; the secret has the focus, to copy.
    let row = row_text(&mut page, "keys-table", "reporting").await;
    assert!(!row.contains(&secret), "{row}");
    assert_eq!(page.eval("document.activeElement.id").await, "new-secret");
    page.press("Tab").await;
    assert_eq!(
        page.eval("document.activeElement.textContent").await,
        "Copy",
        "the next stop after the secret is its Copy button"
    );
    assert_accessible(&mut page, &axe, "the keys with a secret shown").await;
    page.screenshot("web-admin-key").await;
    let telnyx = |key: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/v2/room_recordings"))
                .bearer_auth(key)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or_default()
        }
    };
    assert_eq!(
        telnyx(secret.clone()).await,
        200,
        "the new key reads the record"
    );
    // Shown once: the page drawn again has the key but not its secret.
    visit(&mut page, "#/admin/company", "Company and licence").await;
    // The company's settings: a new time zone, saved and shown.
    page.eval("document.getElementById('company-time-zone').value = ''")
        .await;
    type_into(&mut page, "company-time-zone", "Asia/Tokyo").await;
    click(&mut page, "save-company").await;
    wait_for_text(&mut page, "Saved the company's settings.").await;
    page.wait_for("document.getElementById('company-facts').innerText.includes('Asia/Tokyo')")
        .await;
    page.screenshot("web-admin-company").await;
    visit(&mut page, "#/admin/keys", "API keys and Huawei apps").await;
    let row = row_text(&mut page, "keys-table", "reporting").await;
    assert!(!row.contains(&secret) && row.contains("API key"), "{row}");
    assert_eq!(
        page.eval("document.body.innerText.includes(document.querySelector('#keys-table code').textContent.replace('…', '')) && !document.getElementById('new-secret')")
            .await,
        true
    );
    click_and_confirm(&mut page, "#keys-table", "Revoke", "Really revoke?").await;
    wait_for_text(&mut page, "Revoked reporting").await;
    page.wait_for("document.querySelector('#keys-table tbody').innerText.includes('Revoked')")
        .await;
    assert_eq!(telnyx(secret).await, 401, "a revoked key is refused");
    // A Huawei app: the app id and its key.
    type_into(&mut page, "new-key-name", "huawei bridge").await;
    page.eval("document.getElementById('new-key-kind').value = 'huawei_app'")
        .await;
    click(&mut page, "create-key").await;
    page.wait_for("!!document.getElementById('new-app-id') && document.getElementById('new-secret').value.length > 10")
        .await;

    // Import: a wrong file is refused in words; the right one answers its counts.
    visit(&mut page, "#/admin/import", "Import meeting history").await;
    click(&mut page, "import-button").await;
    wait_for_text(&mut page, "Choose a file to import.").await;
    choose_file(
        &mut page,
        "import-file",
        "bad.jsonl",
        "{\"type\": \"room\"}\n",
    )
    .await;
    click(&mut page, "import-button").await;
    page.wait_for("!document.getElementById('alert').hidden && document.getElementById('alert').textContent.includes('line 1')")
        .await;
    wait_for_text(&mut page, "Nothing of bad.jsonl was imported.").await;
    choose_file(
        &mut page,
        "import-file",
        "history.jsonl",
        &history_file("admin"),
    )
    .await;
    click(&mut page, "import-button").await;
    wait_for_text(&mut page, "Imported history.jsonl.").await;
    let counts = page
        .eval("Object.fromEntries([...document.querySelectorAll('#import-counts dd')].map(d => [d.dataset.count, d.textContent]))")
        .await;
    assert_eq!(
        counts,
        json!({"rooms": "0", "sessions": "1", "attendance": "3", "recordings": "1", "unchanged": "0"})
    );
    assert_accessible(&mut page, &axe, "the import's answer").await;
    page.screenshot("web-admin-import").await;

    // The history: the meeting, who was there from when to when with what, the recording.
    click(&mut page, "nav-history").await;
    visit(&mut page, "#/history", "Meeting history").await;
    wait_for_text(&mut page, "Quarterly review").await;
    let rows: Value = page
        .eval("[...document.querySelectorAll('#history-list table.attendance tbody tr')].map(r => [...r.children].map(c => c.textContent))")
        .await;
    let rows = rows.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[1][0], "Nora N");
    assert_eq!(rows[1][3], "Phone or tablet app, audio");
    assert_eq!(rows[2][0], "Dial-in guest (guest)");
    assert_eq!(rows[2][3], "Telephone, audio");
    let expect_join = page
        .eval("new Intl.DateTimeFormat(undefined, {weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit'}).format(new Date(Date.UTC(2026, 5, 17, 8, 10)))")
        .await;
    assert_eq!(rows[1][1], expect_join);
    wait_for_text(&mut page, "Open the recording (stored elsewhere)").await;
    assert_accessible(&mut page, &axe, "the history").await;
    page.screenshot("web-history").await;

    // Nora signs in with her new password: her history has the meeting she attended, and
    // none of the administration.
    click(&mut page, "sign-out").await;
    wait_for_text(&mut page, "You are signed out.").await;
    sign_in(&mut page, "nora", "Another-pass-1").await;
    wait_for_text(&mut page, "Signed in as Nora N").await;
    assert_eq!(
        page.eval("document.getElementById('nav-admin-item').hidden")
            .await,
        true
    );
    visit(&mut page, "#/history", "Meeting history").await;
    wait_for_text(&mut page, "Quarterly review").await;
    visit(&mut page, "#/admin/users", "For administrators only").await;
    assert_eq!(
        page.eval("fetch('/api/v1/api_keys').then(r => r.status)")
            .await,
        403,
        "the server refuses anyway"
    );
}

#[tokio::test]
async fn every_page_passes_axe_in_both_themes_and_webhooks_are_managed() {
    let app = TestApp::spawn_with(|s| s.policy.webhooks.allow_private = true).await;
    let axe = axe_source();
    let browser = Browser::launch().await;
    let mut page = open(&browser, &app, "/").await;
    sign_in(&mut page, "admin", ADMIN_PASSWORD).await;
    page.wait_for("document.title.startsWith('Upcoming meetings')")
        .await;

    // Webhooks: added (the secret shown once), the delivery log, rotated, deleted.
    visit(&mut page, "#/admin/webhooks", "Webhooks").await;
    type_into(&mut page, "new-webhook-url", "http://127.0.0.1:9/hook").await;
    type_into(&mut page, "new-webhook-types", "user.created").await;
    click(&mut page, "create-webhook").await;
    page.wait_for("!!document.getElementById('webhook-secret-value') && document.getElementById('webhook-secret-value').value.startsWith('whsec_')")
        .await;
    let first = page
        .eval("document.getElementById('webhook-secret-value').value")
        .await;
    wait_for_text(&mut page, "user.created").await;
    // A user is created: the event is attempted (nothing listens there), the log says it
    // failed, and it can be sent again, alone or with the last day's.
    let token = app.admin_token().await;
    app.create_user(&token, "wendy", "Normal", PASSWORD).await;
    let mut logged = false;
    for _ in 0..50 {
        click_text(&mut page, "#webhook-list", "Delivery log").await;
        wait_for_text(&mut page, "Deliveries to http://127.0.0.1:9/hook").await;
        if page
            .eval("!!document.querySelector('#deliveries-table')")
            .await
            == json!(true)
        {
            logged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(logged, "no delivery was logged");
    let row = row_text(&mut page, "deliveries-table", "user.created").await;
    assert!(row.contains("Failed"), "{row}");
    click_text(&mut page, "#deliveries-table", "Send again").await;
    wait_for_text(&mut page, "The user.created event is being sent again.").await;
    click_text(&mut page, "#webhook-list", "Replay the last day").await;
    wait_for_text(&mut page, "Sending again 1 event of the last 24 hours").await;
    click_and_confirm(
        &mut page,
        "#webhook-list",
        "New secret",
        "Really replace the secret?",
    )
    .await;
    page.wait_for(&format!(
        "!!document.getElementById('webhook-secret-value') && document.getElementById('webhook-secret-value').value.startsWith('whsec_') && document.getElementById('webhook-secret-value').value !== {first}"
    ))
    .await;
    assert_accessible(&mut page, &axe, "the webhooks").await;
    page.screenshot("web-admin-webhooks").await;
    click_and_confirm(&mut page, "#webhook-list", "Delete", "Really delete?").await;
    wait_for_text(&mut page, "No endpoints.").await;

    // Users page by page (20 a page); the search narrows them.
    for i in 0..20 {
        app.create_user(&token, &format!("user{i:02}"), "Normal", PASSWORD)
            .await;
    }
    visit(&mut page, "#/admin/users", "Users").await;
    wait_for_text(&mut page, "Users (22)").await;
    wait_for_text(&mut page, "Page 1 of 2").await;
    click_text(&mut page, "nav.pager", "Next page").await;
    wait_for_text(&mut page, "Page 2 of 2").await;
    page.wait_for("location.hash === '#/admin/users?page=2'")
        .await;
    type_into(&mut page, "user-search", "user07").await;
    click_text(&mut page, "form.search", "Search").await;
    page.wait_for("document.querySelectorAll('#users-table tbody tr').length === 1")
        .await;

    // A room: created, changed, deleted (after the pages are checked with it in them).
    visit(&mut page, "#/admin/rooms", "Rooms").await;
    type_into(&mut page, "new-room-name", "Board").await;
    type_into(&mut page, "new-room-number", "7400001").await;
    type_into(&mut page, "new-room-password", "2468").await;
    click(&mut page, "create-room").await;
    wait_for_text(&mut page, "Created the room Board.").await;
    let row = row_text(&mut page, "rooms-table", "Board").await;
    assert!(row.contains("7400001") && row.contains("2468"), "{row}");

    // Every page, light then dark (the system's preference), and the toggle says which.
    let pages = [
        ("#/meetings", "Upcoming meetings"),
        ("#/week", ""),
        ("#/rooms", "Rooms"),
        ("#/account", "Your account"),
        ("#/history", "Meeting history"),
        ("#/admin/users", "Users"),
        ("#/admin/rooms", "Rooms"),
        ("#/admin/running", "Running meetings"),
        ("#/admin/company", "Company and licence"),
        ("#/admin/keys", "API keys and Huawei apps"),
        ("#/admin/import", "Import meeting history"),
        ("#/admin/webhooks", "Webhooks"),
        ("#/admin/audit", "Audit log"),
        ("#/admin/companies", "Companies"),
        ("#/meetings/new", ""),
    ];
    for dark in [false, true] {
        page.call(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": if dark { "dark" } else { "light" }}]}),
        )
        .await;
        let state = if dark {
            "on, as the system"
        } else {
            "off, as the system"
        };
        page.wait_for(&format!(
            "document.getElementById('theme-state').textContent === '{state}'"
        ))
        .await;
        assert_eq!(
            page.eval("document.getElementById('theme-toggle').getAttribute('aria-pressed')")
                .await,
            if dark { "true" } else { "false" }
        );
        for (hash, title) in pages {
            if title.is_empty() {
                let hash_js = serde_json::to_string(hash).unwrap_or_default();
                page.eval(&format!("location.hash = {hash_js}")).await;
                page.wait_for("!!document.querySelector('#view .view-heading')")
                    .await;
            } else {
                visit(&mut page, hash, title).await;
            }
            assert_accessible(&mut page, &axe, &format!("{hash} (dark: {dark})")).await;
        }
    }
    visit(&mut page, "#/admin/rooms", "Rooms").await;
    click_text(&mut page, "#rooms-table", "Edit").await;
    page.wait_for("document.querySelector('#view .view-heading').textContent === 'Room Board'")
        .await;
    type_into(&mut page, "edit-room-name", "Boardroom").await;
    type_into(&mut page, "edit-room-password", "").await;
    click(&mut page, "save-room").await;
    wait_for_text(&mut page, "Saved the room Boardroom.").await;
    let row = row_text(&mut page, "rooms-table", "Boardroom").await;
    assert!(row.contains("none"), "{row}");
    click_and_confirm(&mut page, "#rooms-table", "Delete", "Really delete?").await;
    wait_for_text(&mut page, "The company has no rooms.").await;

    // The audit log has what was done, and filters by action.
    visit(&mut page, "#/admin/audit", "Audit log").await;
    type_into(&mut page, "audit-action", "webhook.create").await;
    click_text(&mut page, "#audit-form", "Show").await;
    page.wait_for("location.hash.includes('action=webhook.create')")
        .await;
    page.wait_for("!!document.querySelector('#audit-table') && [...document.querySelectorAll('#audit-table tbody th')].every(c => c.textContent === 'webhook.create')")
        .await;
    // The toggle chooses, and then says so without "as the system".
    click(&mut page, "theme-toggle").await;
    page.wait_for("document.getElementById('theme-state').textContent === 'off'")
        .await;
    page.resize(375, 740).await;
    visit(&mut page, "#/admin/users", "Users").await;
    page.wait_for("document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    page.screenshot("web-admin-users-phone").await;
    for (hash, title) in [
        ("#/admin/audit", "Audit log"),
        ("#/history", "Meeting history"),
        ("#/admin/keys", "API keys and Huawei apps"),
    ] {
        visit(&mut page, hash, title).await;
        page.wait_for("document.documentElement.scrollWidth <= window.innerWidth")
            .await;
        assert_accessible(&mut page, &axe, &format!("{hash} at phone width")).await;
    }
}

#[tokio::test]
async fn running_meetings_show_their_participants_and_a_recording_plays_in_the_history() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let axe = axe_source();
    crate::room(&app, &token, "7300009").await;
    let ann = MediaBot::join(&app, "7300009", "Ann", true).await;
    let bob = MediaBot::join(&app, "7300009", "Bob", true).await;
    eventually(Duration::from_secs(15), "media flows both ways", || {
        ann.received_from(&bob).video_frames > 5 && bob.received_from(&ann).video_frames > 5
    })
    .await;

    let browser = Browser::launch().await;
    let mut page = open(&browser, &app, "/#/admin/running").await;
    sign_in(&mut page, "admin", ADMIN_PASSWORD).await;
    page.wait_for("document.querySelector('#view .view-heading') && document.querySelector('#view .view-heading').textContent === 'Running meetings'")
        .await;
    wait_for_text(&mut page, "Room 7300009").await;
    let people = page
        .eval("[...document.querySelectorAll('#running-list li[data-number=\"7300009\"] tbody th')].map(c => c.textContent).sort()")
        .await;
    assert_eq!(people, json!(["Ann", "Bob"]));
    let row = row_text(&mut page, "running-list", "Ann").await;
    assert!(row.contains("Guest") && row.contains("Bot"), "{row}");
    let href = page
        .eval("document.querySelector('#running-list li[data-number=\"7300009\"] a.button').getAttribute('href')")
        .await;
    assert!(
        href.as_str()
            .is_some_and(|h| h.starts_with("/join/7300009?") && h.contains("password=1234")),
        "{href}"
    );
    assert_accessible(&mut page, &axe, "the running meetings").await;
    page.screenshot("web-admin-running").await;

    // A recording, then the history plays it in the page.
    let path = "/api/v1/meeting/7300009/recording";
    let start = app.post(path, Some(&token), json!({})).await;
    assert!(start.status.is_success(), "{}", start.body);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stop = app
        .call(reqwest::Method::DELETE, path, Some(&token), None)
        .await;
    assert!(stop.status.is_success(), "{}", stop.body);
    let started = std::time::Instant::now();
    loop {
        let list = app
            .get("/api/v1/history/recordings?page_size=50", Some(&token))
            .await;
        let done = list.body["recordings"]
            .as_array()
            .is_some_and(|l| !l.is_empty() && l.iter().all(|r| r["status"] == "completed"));
        if done {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "recordings not completed: {}",
            list.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The main controls, from the running meetings page: lock, mute one, disconnect one, end.
    visit(&mut page, "#/admin/running", "Running meetings").await;
    let card = "#running-list li[data-number=\"7300009\"]";
    click_text(&mut page, card, "Lock").await;
    wait_for_text(&mut page, "Locked Room 7300009: nobody new can join.").await;
    page.wait_for(&format!(
        "document.querySelector('{card} .meta').textContent.includes('Locked') && [...document.querySelectorAll('{card} button')].some(b => b.textContent === 'Unlock')"
    ))
    .await;
    let in_row = |name: &str, label: &str| {
        format!(
            "[...[...document.querySelectorAll('{card} tbody tr')].find(r => r.querySelector('th').textContent === '{name}').querySelectorAll('button')].find(b => b.textContent === '{label}').click()"
        )
    };
    page.eval(&in_row("Ann", "Mute")).await;
    wait_for_text(&mut page, "Muted Ann.").await;
    page.wait_for(&format!(
        "[...document.querySelectorAll('{card} tbody tr')].find(r => r.querySelector('th').textContent === 'Ann').innerText.includes('Muted')"
    ))
    .await;
    let detail = app.get("/api/v1/meeting/7300009", Some(&token)).await;
    assert_eq!(detail.body["locked"], true, "{}", detail.body);
    page.eval(&in_row("Bob", "Disconnect")).await;
    wait_for_text(&mut page, "Disconnected Bob.").await;
    page.wait_for(&format!(
        "document.querySelectorAll('{card} tbody tr').length === 1"
    ))
    .await;
    assert_accessible(
        &mut page,
        &axe,
        "the running meeting with its controls used",
    )
    .await;
    click_and_confirm(
        &mut page,
        card,
        "End the meeting",
        "Really end it for everyone?",
    )
    .await;
    wait_for_text(&mut page, "No meeting is running.").await;
    ann.leave().await;
    bob.leave().await;

    visit(&mut page, "#/history", "Meeting history").await;
    wait_for_text(&mut page, "Room 7300009").await;
    page.wait_for("!!document.querySelector('video.player')")
        .await;
    assert_eq!(
        page.eval("new URL(document.querySelector('video.player').src).origin === location.origin")
            .await,
        true
    );
    // The file's metadata loads: the browser can play it (its duration is the recording's).
    page.wait_for("document.querySelector('video.player').readyState >= 1 && document.querySelector('video.player').duration > 1")
        .await;
    assert_accessible(&mut page, &axe, "the history with a player").await;
    page.screenshot("web-history-player").await;
}
