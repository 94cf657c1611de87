//! The OpenAPI document, generated from the handlers' annotations, and a browsable page.
//!
//! The FRTC routes are registered with utoipa-axum (`router.rs`), so their paths come into the
//! document with them. Everything else the router serves — the four vendor surfaces, the join
//! and watch pages, WHEP, recording files, this document and its page — is described by the
//! `#[utoipa::path]` annotations above its handlers and listed by each module's `openapi`
//! child module; [`whole`] puts it all together. `crates/plenum/tests/api/openapi.rs` walks the
//! router's routes and fails on any the document lacks, and on any it documents that the
//! router does not serve.

use std::collections::{BTreeMap, BTreeSet};

use axum::response::Html;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, PathItem};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// Tag of the operational endpoints (liveness, this document).
const OPERATIONS: &str = "Operations";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Plenum",
        description = "Self-hosted meeting server.\n\n\
            - **FRTC** (`/api/v1`) is Plenum's main API. Its token travels as \
            `Authorization: Bearer` or, as the FRTC document shows, `?token=`. Errors are \
            `{\"error\": ..., \"errorCode\": ...}`; docs/errors.md lists the codes.\n\
            - **Rokid**, **Rocket.Chat**, **Telnyx** and **Huawei** serve the record of meetings \
            wire-compatibly at their vendors' documented paths (docs/history.md), each with its \
            own credentials and its own error body (the `Rokid*`, `RocketChat*`, `Telnyx*` and \
            `Huawei*` schemas).\n\
            - **Live**: participants join meetings over a WebSocket at `/api/v1/live` \
            (docs/client-protocol.md); the join page (`/join/...`) is a browser client of it. \
            Live streams play on the watch page and over WHEP (`/live/...`, docs/recording.md).",
    ),
    paths(docs_page),
    modifiers(&Security),
    tags(
        (name = "User", description = "FRTC: sign-in, tokens and users"),
        (name = "Meeting Schedule", description = "FRTC: instant, reserved and recurring meetings; calendars"),
        (name = "Meeting Room", description = "FRTC: persistent meeting rooms"),
        (name = "Meeting Control", description = "FRTC: hosts' control of running meetings"),
        (name = "System", description = "FRTC: capacity and version"),
        (name = "Company", description = "Plenum extension: companies (tenants)"),
        (name = "Recordings", description = "Plenum extension: recordings of running meetings and the company's recordings, with download links"),
        (name = "Meeting history", description = "Plenum extension: past and running meetings with attendance and the recordings the caller may see"),
        (name = "History", description = "Plenum extension: integration keys (API keys, Huawei apps) and history import"),
        (name = "Live", description = "The client protocol: a participant's WebSocket (docs/client-protocol.md)"),
        (name = "Web app", description = "The browser app for members and administrators, a client of the FRTC API and the client protocol (docs/web-app.md)"),
        (name = "Join page", description = "The browser client that joins meetings, and the meeting links that open it (docs/join-page.md)"),
        (name = "Live streams", description = "A running meeting's live stream: its watch page and WHEP (docs/recording.md)"),
        (name = "Recording files", description = "Recording files behind the signed links the lists hand out (docs/recording.md)"),
        (name = "Rokid", description = "Rokid remote collaboration: meeting history and participants. `Authorization: Bearer <API key>`; errors are Spring Boot's body (`RokidError`)"),
        (name = "Rocket.Chat", description = "Rocket.Chat: login and the video calls of a room. `X-User-Id` + `X-Auth-Token`; errors are `RocketChatStatusError` / `RocketChatFailure`"),
        (name = "Telnyx", description = "Telnyx room recordings. `Authorization: Bearer <API key>`; errors are `TelnyxErrors`"),
        (name = "Huawei", description = "Huawei Cloud Meeting: tokens and attendee records. `X-Access-Token`; errors are `HuaweiError`"),
        (name = "Webhooks", description = "Plenum extension: webhook endpoints, their delivery log and replay (docs/webhooks.md)"),
        (name = "Audit", description = "Plenum extension: the audit log of host and administrator actions"),
        (name = "Operations", description = "Liveness and this document"),
    )
)]
pub struct ApiDoc;

/// Every way a caller proves who it is, by the name operations' `security` uses.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        let header = |name: &str, description: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                name,
                description,
            )))
        };
        // FRTC: one token, two ways to send it. The header is preferred, the query is what
        // the FRTC document shows (every operation that takes `token` takes `token_query`).
        components.add_security_scheme(
            "token",
            bearer("FRTC: the access token of `POST /api/v1/user/sign_in` (`user_token`)."),
        );
        components.add_security_scheme(
            "token_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "FRTC: the same access token as the `token` query parameter, as the FRTC \
                 document shows it (the header is preferred: query strings end up in logs).",
            ))),
        );
        // The web app: the same token in an HttpOnly cookie, with a CSRF header for changes.
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "plenum_session",
                "FRTC, from the web app: the same access token in the HttpOnly cookie that \
                 `POST /api/v1/user/session` sets. Calls other than GET, HEAD and OPTIONS \
                 need `csrf_token` with it (docs/web-app.md).",
            ))),
        );
        components.add_security_scheme(
            "csrf_token",
            header(
                "X-CSRF-Token",
                "FRTC, from the web app: `csrf_token` of `/api/v1/user/session`, required with \
                 the session cookie on calls that change something.",
            ),
        );
        components.add_security_scheme(
            "api_key",
            bearer(
                "Rokid and Telnyx: a company's API key (`POST /api/v1/api_keys` or \
                 `plenum key create`, kind `api_key`).",
            ),
        );
        components.add_security_scheme(
            "rocketchat_user_id",
            header(
                "X-User-Id",
                "Rocket.Chat: `data.userId` of `POST /api/v1/login`; sent with `X-Auth-Token`.",
            ),
        );
        components.add_security_scheme(
            "rocketchat_auth_token",
            header(
                "X-Auth-Token",
                "Rocket.Chat: `data.authToken` of `POST /api/v1/login` (a Plenum access token of \
                 that user); sent with `X-User-Id`, which must be its user.",
            ),
        );
        components.add_security_scheme(
            "huawei_access_token",
            header(
                "X-Access-Token",
                "Huawei: `accessToken` of `POST /v1/usg/acs/auth/account` (a MeetingOperator's \
                 or SystemAdmin's) or of `POST /v2/usg/acs/auth/appauth` (an app's).",
            ),
        );
        components.add_security_scheme(
            "huawei_account",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "Huawei account login: `Basic base64(username:password)` of a Plenum user.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "huawei_app",
            header(
                "Authorization",
                "Huawei appauth: `HMAC-SHA256 signature=<hex>,access=<base64(appId)>`, the \
                 signature HMAC-SHA256 with the app key over `appId:userId:expireTime:nonce` \
                 (or `appId:corpId:userId:expireTime:nonce`).",
            ),
        );
        components.add_security_scheme(
            "live_passcode",
            bearer(
                "WHEP: the live stream's passcode (`live_password` of the FRTC start-live call), \
                 when it has one.",
            ),
        );
    }
}

/// The whole document: `frtc` (the routes registered with utoipa-axum, with the client
/// protocol's) and everything else the router serves, with one rule applied to all of it:
/// operation ids are unique (OpenAPI requires it; several FRTC handlers share a name, and
/// `method(get, post)` gives both methods one).
pub fn whole(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for part in [
        crate::rokid::openapi::Doc::openapi(),
        crate::rocketchat::openapi::Doc::openapi(),
        crate::telnyx::openapi::Doc::openapi(),
        crate::huawei::openapi::Doc::openapi(),
        crate::web_app::openapi::Doc::openapi(),
        crate::join_page::openapi::Doc::openapi(),
        crate::watch_page::openapi::Doc::openapi(),
        crate::recording_files::openapi::Doc::openapi(),
    ] {
        debug_assert_eq!(
            same_names_differ(&doc, &part),
            Vec::<String>::new(),
            "two schemas of the document have one name: give one `#[schema(as = ...)]`"
        );
        doc.merge(part);
    }
    doc.paths.add_path_operation(
        "/api/openapi.json",
        vec![HttpMethod::Get],
        OperationBuilder::new()
            .tag(OPERATIONS)
            .summary(Some("This document: OpenAPI 3.1, JSON"))
            .operation_id(Some("openapi_document"))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The OpenAPI document of every route the server has")
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new()))
                            .build(),
                    ),
            ),
    );
    for ((_, method), operation) in operations(&mut doc) {
        query_token_too(operation);
        cookie_too(operation, method);
    }
    unique_operation_ids(&mut doc);
    doc
}

/// Names of schemas that `a` and `b` both define, differently.
fn same_names_differ(a: &utoipa::openapi::OpenApi, b: &utoipa::openapi::OpenApi) -> Vec<String> {
    let (Some(a), Some(b)) = (&a.components, &b.components) else {
        return Vec::new();
    };
    a.schemas
        .iter()
        .filter(|(name, schema)| b.schemas.get(*name).is_some_and(|other| other != *schema))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Each operation of the document with its path and method, in order.
fn operations(
    doc: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = ((&str, &'static str), &mut Operation)> {
    doc.paths.paths.iter_mut().flat_map(|(path, item)| {
        let PathItem {
            get,
            put,
            post,
            delete,
            options,
            head,
            patch,
            trace,
            ..
        } = item;
        [
            ("get", get),
            ("put", put),
            ("post", post),
            ("delete", delete),
            ("options", options),
            ("head", head),
            ("patch", patch),
            ("trace", trace),
        ]
        .into_iter()
        .filter_map(move |(method, operation)| {
            operation
                .as_mut()
                .map(|operation| ((path.as_str(), method), operation))
        })
    })
}

/// An FRTC operation that takes the token in the header takes it as `?token=` too.
fn query_token_too(operation: &mut Operation) {
    let header = SecurityRequirement::new("token", Vec::<String>::new());
    let query = SecurityRequirement::new("token_query", Vec::<String>::new());
    if let Some(security) = operation.security.as_mut()
        && security.contains(&header)
        && !security.contains(&query)
    {
        security.push(query);
    }
}

/// An FRTC operation that takes the token takes the web app's session cookie too; with the
/// CSRF header when it may change something (docs/web-app.md).
fn cookie_too(operation: &mut Operation, method: &str) {
    let header = SecurityRequirement::new("token", Vec::<String>::new());
    let cookie = if matches!(method, "get" | "head" | "options") {
        SecurityRequirement::new("session_cookie", Vec::<String>::new())
    } else {
        SecurityRequirement::new("session_cookie", Vec::<String>::new())
            .add("csrf_token", Vec::<String>::new())
    };
    if let Some(security) = operation.security.as_mut()
        && security.contains(&header)
        && !security.contains(&cookie)
    {
        security.push(cookie);
    }
}

/// Makes every operation id unique. An id that several methods of one path share (a handler
/// of `method(get, post)`) gets the method: `capacity_get`, `capacity_post`. One that
/// operations of several paths share gets their tag: `meeting_room_detail`,
/// `meeting_schedule_detail`; and if that is still not unique, the method too.
fn unique_operation_ids(doc: &mut utoipa::openapi::OpenApi) {
    let slug = |text: &str| -> String {
        text.chars()
            .map(|c| match c {
                c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
                _ => '_',
            })
            .collect()
    };
    // (path, method), id, tag
    let found: Vec<((String, &str), String, String)> = operations(doc)
        .filter_map(|((path, method), operation)| {
            let tag = operation.tags.as_ref().and_then(|t| t.first());
            let tag = tag.map(|t| slug(t)).unwrap_or_default();
            let id = operation.operation_id.clone()?;
            Some(((path.to_owned(), method), id, tag))
        })
        .collect();
    let mut paths_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    for ((path, _), id, _) in &found {
        paths_of.entry(id).or_default().insert(path);
        *uses.entry(id).or_default() += 1;
    }
    let first: Vec<String> = found
        .iter()
        .map(
            |((_, method), id, tag)| match (uses[id.as_str()], paths_of[id.as_str()].len()) {
                (1, _) => id.clone(),
                (_, 1) => format!("{id}_{method}"),
                _ => format!("{tag}_{id}"),
            },
        )
        .collect();
    let mut first_uses: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &first {
        *first_uses.entry(id).or_default() += 1;
    }
    let new: BTreeMap<(String, &str), String> = found
        .iter()
        .zip(&first)
        .map(|((key, _, _), id)| {
            let id = if first_uses[id.as_str()] > 1 {
                format!("{id}_{}", key.1)
            } else {
                id.clone()
            };
            (key.clone(), id)
        })
        .collect();
    for ((path, method), operation) in operations(doc) {
        if let Some(id) = new.get(&(path.to_owned(), method)) {
            operation.operation_id = Some(id.clone());
        }
    }
}

/// A self-contained page (no CDN: installations are often offline) that renders the document.
#[utoipa::path(get, path = "/api/docs", tag = OPERATIONS,
    responses((status = 200, description = "A page that renders `/api/openapi.json`", content_type = "text/html", body = String)))]
pub async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
