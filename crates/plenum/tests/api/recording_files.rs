//! Recording files: stored locally or in a real S3-compatible server (moto, on loopback),
//! served at `/files/recordings/...` behind signed links, with ranges.

use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore as _, ObjectStoreExt as _};
use plenum_domain::Timestamp;
use plenum_domain::ids::{CompanyId, RecordingId, SessionId};
use plenum_service::Clock as _;
use plenum_service::recording_files::{FileKey, FilesError, RecordingFiles, StorageConfig};
use plenum_testkit::TestApp;
use plenum_testkit::s3::{self, MotoS3};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};

fn new_key() -> FileKey {
    let now = Timestamp::now();
    FileKey {
        company: CompanyId::new(now),
        session: SessionId::new(now),
        recording: RecordingId::new(now),
        extension: "webm",
    }
}

/// `len` bytes no two neighbouring ranges of which are alike.
fn content(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect()
}

/// Writes `bytes` where the recorder would and stores the file.
async fn record(app: &TestApp, key: &FileKey, bytes: &[u8]) -> u64 {
    let files = &app.recordings().files;
    let path = files.prepare(key).await.unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
    files.store(key).await.unwrap_or_else(|e| panic!("{e}"))
}

fn link(app: &TestApp, key: &FileKey) -> String {
    app.url(&app.recordings().link(key, app.clock.now()))
}

async fn get(app: &TestApp, url: &str, range: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(url);
    if let Some(range) = range {
        request = request.header(RANGE, range);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("request failed: {e}"))
}

async fn body(response: reqwest::Response) -> Vec<u8> {
    response
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("reading the body failed: {e}"))
        .to_vec()
}

async fn error_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    (status, body["errorCode"].as_str().unwrap_or("").to_owned())
}

/// Whole, ranged and HEAD answers of a stored file, checked byte for byte.
async fn assert_served(app: &TestApp, key: &FileKey, bytes: &[u8]) {
    let url = link(app, key);
    let whole = get(app, &url, None).await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(
        whole.headers()[CONTENT_TYPE].to_str().unwrap_or(""),
        "video/webm"
    );
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert!(body(whole).await == bytes, "the whole file differs");

    let first = get(app, &url, Some("bytes=0-99")).await;
    assert_eq!(first.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        first.headers()[CONTENT_RANGE].to_str().unwrap_or(""),
        format!("bytes 0-99/{}", bytes.len())
    );
    assert_eq!(body(first).await, bytes[..100]);

    let middle = get(app, &url, Some("bytes=1000-1999")).await;
    assert_eq!(middle.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(body(middle).await, bytes[1000..2000]);

    let tail = get(app, &url, Some("bytes=-10")).await;
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(body(tail).await, bytes[bytes.len() - 10..]);

    let beyond = get(app, &url, Some(&format!("bytes={}-", bytes.len()))).await;
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    let head = app
        .client
        .head(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()[CONTENT_LENGTH].to_str().unwrap_or(""),
        bytes.len().to_string()
    );
    assert!(body(head).await.is_empty());
}

/// Another company's, session's or recording's file, an edited signature or expiry and an
/// expired link are all refused; only the authentic expired one is told so.
async fn assert_links_are_checked(app: &TestApp, key: &FileKey) {
    let url = link(app, key);
    let other = new_key();
    let other_url = link(app, &other);
    let other_query = other_url
        .split_once('?')
        .map(|(_, q)| q.to_owned())
        .unwrap_or_default();
    let path_of = |k: &FileKey| format!("/files/recordings/{}", k.object_path());
    let refused = [
        // A valid signature of one file, put on the path of another.
        (
            path_of(&FileKey {
                company: key.company,
                ..other
            }),
            other_query.clone(),
        ),
        (
            path_of(&FileKey {
                session: key.session,
                ..other
            }),
            other_query.clone(),
        ),
        (
            path_of(&FileKey {
                recording: key.recording,
                ..other
            }),
            other_query.clone(),
        ),
        (
            path_of(&FileKey {
                extension: "mkv",
                ..*key
            }),
            url.split_once('?')
                .map(|(_, q)| q.to_owned())
                .unwrap_or_default(),
        ),
        // This file's own link with its expiry moved or its signature changed.
        (path_of(key), {
            let q = url
                .split_once('?')
                .map(|(_, q)| q.to_owned())
                .unwrap_or_default();
            let expires = q
                .split('&')
                .find_map(|p| p.strip_prefix("expires="))
                .unwrap_or("0")
                .to_owned();
            let later: i64 = expires.parse().unwrap_or(0) + 86_400;
            q.replace(&format!("expires={expires}"), &format!("expires={later}"))
        }),
        (path_of(key), {
            let q = url
                .split_once('?')
                .map(|(_, q)| q.to_owned())
                .unwrap_or_default();
            let (head, signature) = q.split_once("signature=").unwrap_or_default();
            let flipped = if signature.starts_with('A') { "B" } else { "A" };
            format!("{head}signature={flipped}{}", &signature[1..])
        }),
        (path_of(key), String::new()),
    ];
    for (path, query) in refused {
        let response = get(app, &app.url(&format!("{path}?{query}")), None).await;
        assert_eq!(
            error_code(response).await,
            (StatusCode::FORBIDDEN, "link_invalid".to_owned()),
            "{path}?{query}"
        );
    }
    // Still good, then expired once its time (a day by default) is up.
    assert_eq!(get(app, &url, None).await.status(), StatusCode::OK);
    app.clock.advance(Duration::from_secs(86_400));
    assert_eq!(
        error_code(get(app, &url, None).await).await,
        (StatusCode::FORBIDDEN, "link_expired".to_owned())
    );
    // A fresh link works again.
    assert_eq!(
        get(app, &link(app, key), None).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn local_recordings_are_served_with_ranges_behind_signed_links() {
    let app = TestApp::spawn().await;
    let key = new_key();
    // A valid link to a file not stored (yet): 404.
    assert_eq!(
        error_code(get(&app, &link(&app, &key), None).await).await,
        (StatusCode::NOT_FOUND, "recording_not_found".to_owned())
    );
    let bytes = content(200_000);
    assert_eq!(record(&app, &key, &bytes).await, 200_000);
    // Under the data directory, in the company's own directory.
    assert!(
        app.data_dir()
            .join("recordings")
            .join(key.company.to_string())
            .join(key.session.to_string())
            .join(format!("{}.webm", key.recording))
            .is_file()
    );
    assert_served(&app, &key, &bytes).await;
    assert_links_are_checked(&app, &key).await;

    app.recordings()
        .files
        .delete(&key)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        error_code(get(&app, &link(&app, &key), None).await).await,
        (StatusCode::NOT_FOUND, "recording_not_found".to_owned())
    );
}

#[tokio::test]
async fn links_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    let key = new_key();
    record(&app, &key, b"0123456789").await;
    let path = app.recordings().link(&key, app.clock.now());
    app.restart().await;
    let response = get(&app, &app.url(&path), Some("bytes=2-4")).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(body(response).await, b"234");
}

pub(crate) fn s3_config(endpoint: &str, bucket: &str) -> StorageConfig {
    StorageConfig::S3 {
        endpoint: endpoint.to_owned(),
        bucket: bucket.to_owned(),
        region: s3::REGION.to_owned(),
        access_key_id: s3::ACCESS_KEY_ID.to_owned(),
        secret_access_key: s3::SECRET_ACCESS_KEY.to_owned(),
        allow_http: true,
    }
}

#[tokio::test]
async fn s3_recordings_are_uploaded_in_parts_served_with_ranges_and_deleted() {
    let moto = MotoS3::start("recordings").await;
    let config = s3_config(&moto.endpoint, &moto.bucket);
    let app = TestApp::spawn_with(|s| s.recordings.s3 = Some(config)).await;
    let key = new_key();
    // 12 MiB and a bit: two full 8 MiB... one full part and a last, shorter one.
    let bytes = content(12 * 1024 * 1024 + 12_345);
    let spool = app.recordings().files.writing_path(&key);
    assert!(spool.starts_with(app.data_dir().join("recordings")));
    assert_eq!(record(&app, &key, &bytes).await, bytes.len() as u64);
    assert!(!spool.exists(), "the spool copy is removed once uploaded");

    // What is in the bucket, read with object_store directly.
    let bucket = AmazonS3Builder::new()
        .with_endpoint(&moto.endpoint)
        .with_bucket_name(&moto.bucket)
        .with_region(s3::REGION)
        .with_access_key_id(s3::ACCESS_KEY_ID)
        .with_secret_access_key(s3::SECRET_ACCESS_KEY)
        .with_allow_http(true)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let object = ObjectPath::from(key.object_path());
    let meta = bucket.head(&object).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(meta.size, bytes.len() as u64);
    // An ETag with a part count: it went up as a multipart upload.
    assert!(
        meta.e_tag.as_deref().is_some_and(|t| t.contains("-2")),
        "{:?}",
        meta.e_tag
    );
    let stored = bucket
        .get(&object)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        stored.as_ref() == bytes.as_slice(),
        "the object's bytes differ"
    );

    assert_served(&app, &key, &bytes).await;
    assert_links_are_checked(&app, &key).await;

    app.recordings()
        .files
        .delete(&key)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        bucket.head(&object).await,
        Err(object_store::Error::NotFound { .. })
    ));
    assert_eq!(
        error_code(get(&app, &link(&app, &key), None).await).await,
        (StatusCode::NOT_FOUND, "recording_not_found".to_owned())
    );
    // Deleting what is gone is fine.
    app.recordings()
        .files
        .delete(&key)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let listed: Vec<_> = futures::TryStreamExt::try_collect(bucket.list(None))
        .await
        .unwrap_or_else(|e: object_store::Error| panic!("{e}"));
    assert!(listed.is_empty(), "{listed:?}");
}

#[tokio::test]
async fn an_unreachable_object_store_fails_the_upload_soon_and_keeps_the_file() {
    let spool = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = s3::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let files = RecordingFiles::new(s3_config(&endpoint, "recordings"), spool.path().into())
        .unwrap_or_else(|e| panic!("{e}"));
    let key = new_key();
    let path = files.prepare(&key).await.unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&path, content(1000)).unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let error = files.store(&key).await.err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let message = match error {
        Some(e @ FilesError::Store { .. }) => e.to_string(),
        other => panic!("expected a store error, got {other:?}"),
    };
    // The reason a user sees says what failed and where, and no secret.
    assert!(message.contains("upload"), "{message}");
    assert!(message.contains(&endpoint), "{message}");
    assert!(message.contains(&key.object_path()), "{message}");
    assert!(!message.contains(s3::SECRET_ACCESS_KEY), "{message}");
    assert!(
        path.is_file(),
        "the recording stays on disk for another try"
    );
}
