//! Local storage. S3 storage is tested against a real S3-compatible server in
//! `crates/plenum/tests/api/recording_files.rs`.

use futures::TryStreamExt as _;

use super::*;

fn key(extension: &'static str) -> FileKey {
    let now = Timestamp::from_second(1_700_000_000).unwrap_or_else(|e| panic!("{e}"));
    FileKey {
        company: CompanyId::new(now),
        session: SessionId::new(now),
        recording: RecordingId::new(now),
        extension,
    }
}

fn local(dir: &Path) -> RecordingFiles {
    RecordingFiles::new(
        StorageConfig::Local {
            dir: dir.join("recordings"),
        },
        dir.join("unused-spool"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn local_files_live_under_their_company_and_are_stored_read_and_deleted() {
    let temp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let files = local(temp.path());
    let k = key("webm");
    let path = files.prepare(&k).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        path,
        temp.path()
            .join("recordings")
            .join(format!("{}/{}/{}.webm", k.company, k.session, k.recording))
    );
    assert_eq!(files.writing_path(&k), path);
    assert!(path.parent().is_some_and(Path::is_dir));

    // Not yet written: nothing to store or serve.
    assert!(matches!(
        files.store(&k).await,
        Err(FilesError::NotFound(_))
    ));
    assert!(matches!(
        files.locate(&k).await,
        Err(FilesError::NotFound(_))
    ));

    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &content).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        files.store(&k).await.unwrap_or_else(|e| panic!("{e}")),
        300_000
    );
    match files.locate(&k).await {
        Ok(Location::File(p)) => assert_eq!(p, path),
        other => panic!("{other:?}"),
    }
    let bytes: Vec<u8> = files
        .read(&k, 1000..1100)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .map_ok(|chunk| chunk.to_vec())
        .try_concat()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bytes, content[1000..1100]);

    // Another company's file of the same session and recording id is another file.
    let neighbour = FileKey {
        company: CompanyId::new(Timestamp::now()),
        ..k
    };
    assert_ne!(files.writing_path(&neighbour), path);
    assert!(matches!(
        files.locate(&neighbour).await,
        Err(FilesError::NotFound(_))
    ));

    files.delete(&k).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!path.exists());
    // The emptied session and company directories go too, the storage directory stays.
    assert!(
        !temp
            .path()
            .join("recordings")
            .join(k.company.to_string())
            .exists()
    );
    assert!(temp.path().join("recordings").is_dir());
    assert!(matches!(
        files.locate(&k).await,
        Err(FilesError::NotFound(_))
    ));
    // Deleting again is fine.
    files.delete(&k).await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn deleting_one_recording_keeps_the_others_of_its_session() {
    let temp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let files = local(temp.path());
    let first = key("webm");
    let second = FileKey {
        extension: "mkv",
        ..first
    };
    for k in [first, second] {
        let path = files.prepare(&k).await.unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, b"x").unwrap_or_else(|e| panic!("{e}"));
    }
    files.delete(&first).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(files.writing_path(&second).is_file());
    assert!(!files.writing_path(&first).exists());
}

#[test]
fn extensions_are_a_closed_list_and_secrets_are_not_logged() {
    assert_eq!(known_extension("webm"), Some("webm"));
    assert_eq!(known_extension("mkv"), Some("mkv"));
    for bad in ["", "exe", "webm/..", "../x", "WEBM"] {
        assert_eq!(known_extension(bad), None, "{bad}");
    }
    assert_eq!(content_type("webm"), "video/webm");
    let config = StorageConfig::S3 {
        endpoint: "http://127.0.0.1:9".into(),
        bucket: "b".into(),
        region: "us-east-1".into(),
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI-very-secret".into(),
        allow_http: true,
    };
    let files = RecordingFiles::new(config.clone(), PathBuf::from("spool"))
        .unwrap_or_else(|e| panic!("{e}"));
    for shown in [format!("{config:?}"), format!("{files:?}")] {
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("AKIDEXAMPLE"), "{shown}");
    }
}

#[test]
fn s3_recordings_are_written_to_the_spool_directory() {
    let files = RecordingFiles::new(
        StorageConfig::S3 {
            endpoint: "http://127.0.0.1:9".into(),
            bucket: "b".into(),
            region: "us-east-1".into(),
            access_key_id: "a".into(),
            secret_access_key: "s".into(),
            allow_http: true,
        },
        PathBuf::from("/var/spool/plenum"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let k = key("webm");
    assert_eq!(
        files.writing_path(&k),
        PathBuf::from("/var/spool/plenum").join(k.object_path())
    );
}

#[test]
fn links_last_the_configured_time() {
    let downloads = Downloads {
        files: RecordingFiles::new(
            StorageConfig::Local {
                dir: PathBuf::from("r"),
            },
            PathBuf::from("s"),
        )
        .unwrap_or_else(|e| panic!("{e}")),
        links: LinkSigner::new([1; 32]),
        link_ttl: SignedDuration::from_secs(3600),
    };
    let now = Timestamp::from_second(1_000_000).unwrap_or_else(|e| panic!("{e}"));
    let link = downloads.link(&key("webm"), now);
    assert!(link.contains("?expires=1003600&signature="), "{link}");
}
