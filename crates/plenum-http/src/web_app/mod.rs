//! The web app: members see and schedule their meetings, rooms and calendar, and change their
//! password, from the browser (docs/web-app.md). Served at `/`.
//!
//! Like the join page, it is plain JavaScript modules and a style sheet, embedded in the
//! binary (`include_str!`): no build step, nothing fetched from elsewhere, no inline script
//! (the Content-Security-Policy forbids it). It is a client of the public API only: the FRTC
//! calls, authenticated by the session cookie of `POST /api/v1/user/session` with the CSRF
//! header for changes (`crate::frtc::web_session`). Views are addressed by the URL's fragment
//! (`/#/week`), so the server has one page to serve.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;

use crate::AppState;
use crate::join_page::{Asset, asset_response, fnv1a, html_page};

pub(crate) mod openapi;

/// The routes of the app, mounted by the router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/app/{file}", get(asset))
}

/// The page (the same for every view).
const PAGE: &str = include_str!("index.html");

/// What the app may use: nothing of the device; copying a link to the clipboard.
const PERMISSIONS: &str = "camera=(), microphone=(), display-capture=(), geolocation=(), \
     payment=(), usb=(), clipboard-write=(self)";

macro_rules! assets {
    ($(($name:literal, $type:expr)),* $(,)?) => {
        &[$(Asset {
            name: $name,
            content_type: $type,
            body: include_str!($name),
            hash: fnv1a(include_str!($name).as_bytes()),
        }),*]
    };
}

const JS: &str = "text/javascript; charset=utf-8";

const ASSETS: &[Asset] = assets![
    ("app.css", "text/css; charset=utf-8"),
    ("app.js", JS),
    ("api.js", JS),
    ("dom.js", JS),
    ("time.js", JS),
    ("meetings.js", JS),
    ("editor.js", JS),
    ("rooms.js", JS),
    ("account.js", JS),
    ("history.js", JS),
    ("admin.js", JS),
];

/// `GET /`: the app.
#[utoipa::path(get, path = "/", tag = "Web app",
    summary = "The web app",
    description = "The browser app for members: their meetings (list and week), scheduling, \
        rooms, calendar feed and password (docs/web-app.md). It signs in with \
        `POST /api/v1/user/session` and uses the FRTC API with the session cookie.",
    responses((status = 200, description = "The page", content_type = "text/html", body = String)))]
async fn page(headers: HeaderMap) -> Response {
    html_page(StatusCode::OK, PAGE, &headers, PERMISSIONS)
}

/// `GET /app/{file}`: a script or style sheet of the app, revalidated by its ETag.
#[utoipa::path(get, path = "/app/{file}", tag = "Web app",
    summary = "The web app's scripts and style sheet",
    params(
        ("file" = String, Path, description = "`app.js`, `app.css`, or another module of the app"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag of an earlier answer"),
    ),
    responses(
        (status = 200, description = "The file, with its `ETag`", content(
            (String = "text/javascript"),
            (String = "text/css"),
        )),
        (status = 304, description = "Unchanged since the ETag given"),
        (status = 404, description = "No such file", content_type = "text/html", body = String),
    ))]
async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(asset) => asset_response(asset, &headers),
        None => html_page(
            StatusCode::NOT_FOUND,
            "<!doctype html><html lang=en><meta charset=utf-8><title>Not found · Plenum</title>\
             <p>There is no such file. <a href=\"/\">Open Plenum</a>.</p></html>",
            &headers,
            PERMISSIONS,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_no_inline_script_and_nothing_from_elsewhere() {
        assert!(PAGE.contains("<script type=\"module\" src=\"/app/app.js\"></script>"));
        for part in PAGE.split("<script").skip(1) {
            let tag = part.split('>').next().unwrap_or("");
            assert!(tag.contains("src="), "inline script: <script{tag}>");
        }
        for (i, _) in PAGE.match_indices(" on") {
            let name: String = PAGE[i + 3..]
                .chars()
                .take_while(char::is_ascii_lowercase)
                .collect();
            let after = PAGE[i + 3 + name.len()..].chars().next();
            assert!(
                name.is_empty() || after != Some('='),
                "inline handler on{name}"
            );
        }
        for asset in ASSETS {
            assert!(
                !asset.body.contains("http://") && !asset.body.contains("https://"),
                "{} names another origin",
                asset.name
            );
            // No script builds HTML from strings (every view is made of DOM nodes).
            assert!(
                !asset.body.contains("innerHTML"),
                "{} uses innerHTML",
                asset.name
            );
        }
    }

    #[test]
    fn every_module_an_asset_imports_is_served() {
        for asset in ASSETS.iter().filter(|a| a.content_type == JS) {
            for line in asset.body.lines().filter(|l| l.starts_with("import ")) {
                let Some(from) = line.split("from './").nth(1) else {
                    panic!("{}: an import not of a sibling module: {line}", asset.name)
                };
                let file = from.split('\'').next().unwrap_or("");
                assert!(
                    ASSETS.iter().any(|a| a.name == file),
                    "{} imports {file}, which is not served",
                    asset.name
                );
            }
        }
    }
}
