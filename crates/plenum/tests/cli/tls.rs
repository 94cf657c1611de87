//! HTTPS (`tls.cert_file`, `tls.key_file`): the same API and client protocol (`wss://`) over
//! TLS with a throwaway self-signed certificate for 127.0.0.1, and clear start-up errors for
//! files that are missing, wrong or do not belong together.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use reqwest::StatusCode;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    ADMIN_PASSWORD, MAX_POLLS, POLL, STARTUP_LIMIT, Sandbox, Server, free_port, loopback, plenum,
    run,
};

/// A self-signed certificate for 127.0.0.1 and its key, as PEM files in the sandbox.
struct Certificate {
    cert_file: PathBuf,
    key_file: PathBuf,
    der: CertificateDer<'static>,
}

fn certificate(sandbox: &Sandbox, name: &str) -> Certificate {
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .expect("generating a certificate");
    Certificate {
        cert_file: sandbox.write(&format!("{name}.crt"), &generated.cert.pem()),
        key_file: sandbox.write(
            &format!("{name}.key"),
            &generated.signing_key.serialize_pem(),
        ),
        der: generated.cert.der().clone(),
    }
}

/// A client configuration that trusts `cert` only (aws-lc-rs, as the server).
fn trusting(cert: &Certificate) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der.clone()).expect("a usable root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Starts `plenum serve` over HTTPS on a free port and waits until it announces
/// `https://<addr>` and answers /healthz over TLS.
async fn serve_https(sandbox: &Sandbox, cert: &Certificate) -> Result<Server, String> {
    let addr = loopback(free_port());
    let listen = addr.to_string();
    let tls_args = [
        "--listen",
        &listen,
        "--admin-password",
        ADMIN_PASSWORD,
        "--tls-cert-file",
        path(&cert.cert_file),
        "--tls-key-file",
        path(&cert.key_file),
    ];
    let mut server = sandbox.spawn_serve(addr, &tls_args, &[], sandbox.output_files());
    let announced = format!("Plenum is listening on https://{addr}\n");
    let deadline = Instant::now() + STARTUP_LIMIT;
    for _ in 0..MAX_POLLS {
        if let Some(status) = server.child.try_wait().expect("polling plenum serve") {
            return Err(format!(
                "plenum serve exited with {status}\n{}",
                server.output()
            ));
        }
        if server.stdout().contains(&announced) && healthy_https(cert, addr).await {
            return Ok(server);
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    Err(format!("not ready over HTTPS\n{}", server.output()))
}

/// A TLS connection to `addr` that trusts `cert` only.
async fn connect_tls(
    addr: SocketAddr,
    cert: &Certificate,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    tokio_rustls::TlsConnector::from(trusting(cert))
        .connect(ServerName::IpAddress(addr.ip().into()), tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))
}

/// An HTTPS reply: status, `x-request-id`, body.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    request_id: Option<String>,
    body: String,
}

/// One HTTPS request (HTTP/1.1 over a new connection that trusts `cert` only), at most 10 s.
async fn https(
    cert: &Certificate,
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<Reply, String> {
    let exchange = async {
        let tls = connect_tls(addr, cert).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(|e| format!("HTTP handshake: {e}"))?;
        let driver = tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string());
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let payload = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(payload))
            .map_err(|e| format!("request: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the body: {e}"))?
            .to_bytes();
        driver.abort();
        Ok(Reply {
            status,
            request_id,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| format!("{method} {path}: no answer within 10 s"))?
}

async fn healthy_https(cert: &Certificate, addr: SocketAddr) -> bool {
    https(cert, addr, "GET", "/healthz", None, None)
        .await
        .is_ok_and(|r| r.status == StatusCode::OK && r.body == "ok")
}

/// `POST path` over HTTPS with a JSON body; fails the test unless it answers 200.
async fn post_ok(
    cert: &Certificate,
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (Value, Option<String>) {
    let reply = https(cert, addr, "POST", path, token, Some(body))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.status, StatusCode::OK, "POST {path}: {reply:?}");
    let json = serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {reply:?}"));
    (json, reply.request_id)
}

type TlsSocket =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// The next JSON frame of type `kind` (bounded: at most 50 frames, 10 s each).
async fn frame_of(socket: &mut TlsSocket, kind: &str) -> Value {
    for _ in 0..50 {
        let next = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame in time")
            .expect("an open connection")
            .expect("a readable frame");
        if let Message::Text(text) = next {
            let value: Value = serde_json::from_str(text.as_str()).expect("JSON");
            if value["type"] == kind {
                return value;
            }
        }
    }
    panic!("no `{kind}` frame");
}

/// `wss://<addr>/api/v1/live`, over a TLS connection that trusts `cert` only.
async fn connect_wss(addr: SocketAddr, cert: &Certificate) -> TlsSocket {
    let tls = connect_tls(addr, cert)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (socket, response) =
        tokio_tungstenite::client_async(format!("wss://{addr}/api/v1/live"), tls)
            .await
            .expect("a WebSocket upgrade over TLS");
    assert_eq!(response.status().as_u16(), 101);
    socket
}

#[tokio::test]
async fn https_serves_the_api_and_the_client_protocol_over_wss() {
    let sandbox = Sandbox::new();
    let cert = certificate(&sandbox, "server");
    let server = serve_https(&sandbox, &cert)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = server.addr;

    // The API, with the request-id layer, over HTTPS.
    let (body, request_id) = post_ok(
        &cert,
        addr,
        "/api/v1/user/sign_in",
        None,
        json!({"username": "admin", "password": ADMIN_PASSWORD}),
    )
    .await;
    assert!(request_id.is_some_and(|id| !id.is_empty()));
    let token = body["user_token"].as_str().expect("a token").to_owned();
    post_ok(
        &cert,
        addr,
        "/api/v1/meeting_room",
        Some(&token),
        json!({"meetingroom_name": "Secure", "meeting_number": "7300001", "meeting_password": "1234"}),
    )
    .await;

    // The client protocol over wss://: hello, then a join acknowledged.
    let mut socket = connect_wss(addr, &cert).await;
    let hello = frame_of(&mut socket, "hello").await;
    assert_eq!(hello["type"], "hello");
    let join = json!({"type": "join", "meeting_number": "7300001", "password": "1234", "display_name": "Over TLS"});
    socket
        .send(Message::text(join.to_string()))
        .await
        .expect("sending join");
    let joined = frame_of(&mut socket, "joined").await;
    assert!(joined["client_uuid"].is_string(), "{joined}");

    // Plain HTTP on the HTTPS port gets nothing: no silent downgrade.
    let plain = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client");
    let answer = plain.get(format!("http://{addr}/healthz")).send().await;
    assert!(
        answer
            .as_ref()
            .map_or(true, |r| r.status() != StatusCode::OK),
        "{answer:?}"
    );
    // A client that does not trust the certificate is refused by its own TLS.
    let refused = https(
        &certificate(&sandbox, "other"),
        addr,
        "GET",
        "/healthz",
        None,
        None,
    )
    .await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("TLS handshake")),
        "{refused:?}"
    );

    // SIGTERM with a participant connected over TLS: the meeting ends, the server drains and
    // exits 0, and the participant is told.
    let stopped = server.stop().await;
    assert!(
        !stopped.stderr.contains("ERROR"),
        "errors logged:\n{}",
        stopped.stderr
    );
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(frame)) = socket.next().await {
            if frame.is_close() {
                break;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection outlived the server");
}

/// `plenum serve` with `args` must fail before it starts: exit status 1, every needle in its
/// error, nothing listening, and no data directory created.
async fn refused_at_start(sandbox: &Sandbox, args: &[&str], needles: &[&str]) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut all = vec![
        "serve",
        "--listen",
        &listen,
        "--admin-password",
        ADMIN_PASSWORD,
    ];
    all.extend_from_slice(args);
    let serve = sandbox.run(&all).await;
    serve.assert_failed();
    for needle in needles {
        assert!(
            serve.stderr.contains(needle),
            "{needle:?} missing: {serve:?}"
        );
    }
    assert!(std::net::TcpStream::connect_timeout(&loopback(port), Duration::from_secs(1)).is_err());
    assert!(
        !sandbox.data_dir().exists(),
        "the data directory was created"
    );
}

#[tokio::test]
async fn missing_wrong_or_mismatched_files_stop_the_start_with_the_file_named() {
    let sandbox = Sandbox::new();
    let cert = certificate(&sandbox, "server");
    let other = certificate(&sandbox, "other");
    let (cert_file, key_file) = (path(&cert.cert_file), path(&cert.key_file));

    // A key file that is not there.
    let missing = sandbox.data_dir().with_file_name("missing.key");
    let missing = path(&missing);
    refused_at_start(
        &sandbox,
        &["--tls-cert-file", cert_file, "--tls-key-file", missing],
        &[missing, "tls.key_file", "cannot read"],
    )
    .await;

    // A certificate file that is not PEM, and one that holds a key instead.
    let garbage = sandbox.write("garbage.crt", "not a certificate\n");
    refused_at_start(
        &sandbox,
        &[
            "--tls-cert-file",
            path(&garbage),
            "--tls-key-file",
            key_file,
        ],
        &[path(&garbage), "tls.cert_file", "no certificate"],
    )
    .await;
    refused_at_start(
        &sandbox,
        &["--tls-cert-file", key_file, "--tls-key-file", key_file],
        &[key_file, "tls.cert_file", "no certificate"],
    )
    .await;
    // A key file that holds a certificate only.
    refused_at_start(
        &sandbox,
        &["--tls-cert-file", cert_file, "--tls-key-file", cert_file],
        &[cert_file, "tls.key_file", "no private key"],
    )
    .await;
    // Another certificate's key.
    refused_at_start(
        &sandbox,
        &[
            "--tls-cert-file",
            cert_file,
            "--tls-key-file",
            path(&other.key_file),
        ],
        &[cert_file, path(&other.key_file), "cannot be used together"],
    )
    .await;

    // A certificate without a key, from the file or the environment: a configuration error.
    let config = sandbox.write(
        "plenum.toml",
        &format!("[tls]\ncert_file = {cert_file:?}\n"),
    );
    refused_at_start(
        &sandbox,
        &["--config", path(&config)],
        &["tls.key_file", "both"],
    )
    .await;
    let mut cmd = plenum();
    cmd.arg("--data-dir")
        .arg(sandbox.data_dir())
        .args(["serve", "--admin-password", ADMIN_PASSWORD])
        .env("PLENUM_TLS_KEY_FILE", key_file);
    let env_only = run(cmd, None).await;
    env_only.assert_failed();
    assert!(env_only.stderr.contains("tls.cert_file"), "{env_only:?}");
    assert!(!sandbox.data_dir().exists());
}

#[tokio::test]
async fn serve_help_names_the_tls_and_media_settings_but_no_secret_values() {
    let mut cmd = plenum();
    cmd.args(["serve", "--help"]).env(
        "PLENUM_MEDIA_ICE_SERVERS",
        r#"[{"urls": ["turn:127.0.0.1:3478"], "username": "u", "credential": "Help-Turn-Secret"}]"#,
    );
    let help = run(cmd, None).await;
    help.assert_ok();
    for needle in [
        "--tls-cert-file",
        "PLENUM_TLS_CERT_FILE",
        "--tls-key-file",
        "PLENUM_TLS_KEY_FILE",
        "--media-enabled",
        "PLENUM_MEDIA_ENABLED",
        "--media-listen",
        "PLENUM_MEDIA_LISTEN",
        "--media-advertise",
        "PLENUM_MEDIA_ADVERTISE",
        "--media-ice-servers",
        "PLENUM_MEDIA_ICE_SERVERS",
        "--media-max-peers-per-meeting",
        "--media-max-video-bitrate",
        "--media-max-audio-bitrate",
    ] {
        assert!(
            help.stdout.contains(needle),
            "{needle} missing:\n{}",
            help.stdout
        );
    }
    assert!(!help.stdout.contains("Help-Turn-Secret"), "{}", help.stdout);
}

#[tokio::test]
async fn a_bad_media_setting_stops_the_start_with_the_key_named() {
    let sandbox = Sandbox::new();
    refused_at_start(
        &sandbox,
        &["--media-listen", "0.0.0.0:7481"],
        &["media.advertise", "0.0.0.0:7481"],
    )
    .await;
    let config = sandbox.write(
        "plenum.toml",
        "[[media.ice_servers]]\nurls = [\"http://stun.example.com\"]\n",
    );
    refused_at_start(
        &sandbox,
        &["--config", path(&config)],
        &["media.ice_servers[0]", "http://stun.example.com"],
    )
    .await;
}

/// Polls `check` (bounded in count and time) until it holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    for _ in 0..MAX_POLLS {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: not within 10 s");
        tokio::time::sleep(POLL).await;
    }
    panic!("{what}: not within {MAX_POLLS} polls");
}

#[tokio::test]
async fn sighup_reloads_a_renewed_certificate_and_keeps_the_old_one_if_the_new_is_unusable() {
    let sandbox = Sandbox::new();
    let first = certificate(&sandbox, "server");
    let server = serve_https(&sandbox, &first)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = server.addr;

    // Renewal: new files in place of the old; served from the next SIGHUP on.
    let renewed = certificate(&sandbox, "renewed");
    std::fs::copy(&renewed.cert_file, &first.cert_file).expect("copying the certificate");
    std::fs::copy(&renewed.key_file, &first.key_file).expect("copying the key");
    assert!(healthy_https(&first, addr).await);
    assert!(!healthy_https(&renewed, addr).await);
    server.signal("HUP").await;
    eventually("the renewed certificate served", || {
        healthy_https(&renewed, addr)
    })
    .await;
    assert!(!healthy_https(&first, addr).await);

    // A broken key on the next SIGHUP: logged, and the renewed certificate stays.
    std::fs::write(&first.key_file, "not a key\n").expect("breaking the key");
    server.signal("HUP").await;
    let key_file = path(&first.key_file).to_owned();
    eventually("the failed reload logged", || {
        let logged = server.stderr();
        let found = logged.contains("not reloaded") && logged.contains(&key_file);
        async move { found }
    })
    .await;
    assert!(healthy_https(&renewed, addr).await);
    server.stop().await;
}
