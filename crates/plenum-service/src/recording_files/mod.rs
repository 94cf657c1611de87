//! Where recording files live, how they are stored once complete, deleted and read back.
//!
//! A recording file is named by a [`FileKey`]: `{company}/{session}/{recording}.{ext}`, so
//! each company's files are under a directory (or object prefix) of their own.
//!
//! Two storages ([`StorageConfig`]):
//! - **Local**: the recorder writes the file at its final place under `dir`; [`store`]
//!   fsyncs it and its directories.
//! - **S3** (any S3-compatible object store, through `object_store`): the recorder writes a
//!   spool file under `spool_dir`; [`store`] streams it up with a multipart upload, a few MiB
//!   at a time, then removes the spool copy.
//!
//! Reading back ([`RecordingFiles::locate`]): a local file is served by the HTTP layer from
//! its path (ranges, `If-Range`, `HEAD`); an object is proxied through Plenum with ranged
//! `GET`s ([`RecordingFiles::read`]), not handed out as a presigned URL. Proxying keeps one
//! URL shape for both storages, keeps the bucket private (it need not be reachable by the
//! people who download, only by Plenum), and lets the same signed links and their expiry
//! govern every download.
//!
//! [`store`]: RecordingFiles::store

pub mod links;

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use jiff::SignedDuration;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore,
    ObjectStoreExt as _, PutMultipartOptions, RetryConfig, WriteMultipart,
};
use plenum_domain::Timestamp;
use plenum_domain::ids::{CompanyId, RecordingId, SessionId};
use tokio::io::AsyncReadExt as _;

pub use links::{LinkError, LinkSigner, load_or_create_key};

/// The extensions a recording file may have, with their media types. A link naming any other
/// extension is refused, so a path is always built from known parts.
const EXTENSIONS: &[(&str, &str)] = &[
    ("webm", "video/webm"),
    ("mkv", "video/x-matroska"),
    ("mp4", "video/mp4"),
    ("m4a", "audio/mp4"),
    ("ogg", "audio/ogg"),
    ("opus", "audio/ogg"),
];

/// The known extension equal to `text`, as the `'static` a [`FileKey`] holds.
pub fn known_extension(text: &str) -> Option<&'static str> {
    EXTENSIONS
        .iter()
        .find(|(extension, _)| *extension == text)
        .map(|(extension, _)| *extension)
}

/// The media type of a known extension (`application/octet-stream` otherwise).
pub fn content_type(extension: &str) -> &'static str {
    EXTENSIONS
        .iter()
        .find(|(e, _)| *e == extension)
        .map_or("application/octet-stream", |(_, t)| *t)
}

/// Bytes of the file read at a time while uploading.
const READ_CHUNK: usize = 1024 * 1024;
/// Size of each multipart part (S3 wants at least 5 MiB but for the last).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts in flight at once: with the part being filled, at most about 3 × `PART_SIZE` of the
/// file is in memory.
const PARTS_IN_FLIGHT: usize = 2;

/// Names one recording file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileKey {
    pub company: CompanyId,
    pub session: SessionId,
    pub recording: RecordingId,
    /// One of the known extensions (see [`known_extension`]), without the dot.
    pub extension: &'static str,
}

impl From<plenum_domain::history::RecordingFileKey> for FileKey {
    fn from(key: plenum_domain::history::RecordingFileKey) -> Self {
        FileKey {
            company: key.company,
            session: key.session,
            recording: key.recording,
            extension: key.file.extension(),
        }
    }
}

impl FileKey {
    /// `{company}/{session}/{recording}.{extension}`: the object's name, and the file's path
    /// relative to the storage directory.
    pub fn object_path(&self) -> String {
        format!(
            "{}/{}/{}.{}",
            self.company, self.session, self.recording, self.extension
        )
    }

    fn relative_path(&self) -> PathBuf {
        PathBuf::from(self.company.to_string())
            .join(self.session.to_string())
            .join(format!("{}.{}", self.recording, self.extension))
    }
}

/// Where complete recordings are kept.
#[derive(Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// Files in a directory (by default `<data_dir>/recordings`).
    Local { dir: PathBuf },
    /// Objects in an S3-compatible bucket.
    S3 {
        /// `https://s3.eu-central-1.amazonaws.com`, `http://127.0.0.1:9000`, ...
        endpoint: String,
        bucket: String,
        region: String,
        access_key_id: String,
        /// Never logged (`Debug` redacts it).
        secret_access_key: String,
        /// Whether a plain-HTTP endpoint is accepted.
        allow_http: bool,
    },
}

impl fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local { dir } => f.debug_struct("Local").field("dir", dir).finish(),
            Self::S3 {
                endpoint,
                bucket,
                region,
                access_key_id,
                secret_access_key: _,
                allow_http,
            } => f
                .debug_struct("S3")
                .field("endpoint", endpoint)
                .field("bucket", bucket)
                .field("region", region)
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"<redacted>")
                .field("allow_http", allow_http)
                .finish(),
        }
    }
}

/// What went wrong with a recording file. Its `Display` is the failure reason a user sees
/// on a failed recording, so it says what and where, never a credential.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("the recording file {0} does not exist")]
    NotFound(String),
    #[error("cannot {action} the recording file {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error(
        "cannot {action} {object} in the object store at {endpoint} (bucket {bucket}): {source}"
    )]
    Store {
        action: &'static str,
        object: String,
        endpoint: String,
        bucket: String,
        source: Box<object_store::Error>,
    },
    #[error("the recording storage is misconfigured: {0}")]
    Config(String),
}

/// Where a file to be served is.
#[derive(Debug, Clone)]
pub enum Location {
    /// A local file: serve it from its path.
    File(PathBuf),
    /// An object: read it with [`RecordingFiles::read`].
    Object {
        size: u64,
        /// The object's entity tag, for `ETag` and `If-Range`.
        etag: Option<String>,
        last_modified: Timestamp,
    },
}

/// The recording files of this installation. Cheap to clone.
#[derive(Clone)]
pub struct RecordingFiles {
    inner: Arc<Inner>,
}

impl fmt::Debug for RecordingFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingFiles")
            .field("config", &self.inner.config)
            .field("spool_dir", &self.inner.spool_dir)
            .finish()
    }
}

struct Inner {
    config: StorageConfig,
    spool_dir: PathBuf,
    s3: Option<S3>,
}

struct S3 {
    store: AmazonS3,
    endpoint: String,
    bucket: String,
}

impl RecordingFiles {
    /// Storage as configured. For S3, recordings are written under `spool_dir` while they
    /// run; for local storage `spool_dir` is not used. Nothing is contacted yet: an
    /// unreachable object store shows when a recording is stored.
    pub fn new(config: StorageConfig, spool_dir: PathBuf) -> Result<Self, FilesError> {
        let s3 = match &config {
            StorageConfig::Local { .. } => None,
            StorageConfig::S3 {
                endpoint,
                bucket,
                region,
                access_key_id,
                secret_access_key,
                allow_http,
            } => {
                let store = AmazonS3Builder::new()
                    .with_endpoint(endpoint)
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key)
                    .with_allow_http(*allow_http)
                    // Bounded: an unreachable store fails a recording within about a minute,
                    // never hangs it. A part (8 MiB) has 5 minutes, at least ~30 kB/s.
                    .with_client_options(
                        ClientOptions::new()
                            .with_allow_http(*allow_http)
                            .with_connect_timeout(Duration::from_secs(5))
                            .with_timeout(Duration::from_secs(300)),
                    )
                    .with_retry(RetryConfig {
                        backoff: BackoffConfig {
                            init_backoff: Duration::from_millis(100),
                            max_backoff: Duration::from_secs(5),
                            base: 2.0,
                        },
                        max_retries: 3,
                        retry_timeout: Duration::from_secs(30),
                    })
                    .build()
                    .map_err(|e| FilesError::Config(e.to_string()))?;
                Some(S3 {
                    store,
                    endpoint: endpoint.clone(),
                    bucket: bucket.clone(),
                })
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                spool_dir,
                s3,
            }),
        })
    }

    pub fn config(&self) -> &StorageConfig {
        &self.inner.config
    }

    /// The local file the recorder writes while recording: its final place for local
    /// storage, a spool file for S3. Its directories may not exist yet: see [`Self::prepare`].
    pub fn writing_path(&self, key: &FileKey) -> PathBuf {
        match &self.inner.config {
            StorageConfig::Local { dir } => dir.join(key.relative_path()),
            StorageConfig::S3 { .. } => self.inner.spool_dir.join(key.relative_path()),
        }
    }

    /// [`Self::writing_path`], with its directories created: call it before the recorder
    /// opens the file.
    pub async fn prepare(&self, key: &FileKey) -> Result<PathBuf, FilesError> {
        let path = self.writing_path(key);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|source| FilesError::Io {
                    action: "create the directory of",
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(path)
    }

    /// Makes a finished recording file durable where it is kept, and returns its size.
    /// Local: fsyncs the file and its directories. S3: streams it up (multipart), then removes
    /// the spool copy; on failure the spool copy stays (nothing is lost) and the upload is
    /// aborted.
    pub async fn store(&self, key: &FileKey) -> Result<u64, FilesError> {
        let path = self.writing_path(key);
        match &self.inner.s3 {
            None => {
                let root = match &self.inner.config {
                    StorageConfig::Local { dir } => dir.clone(),
                    StorageConfig::S3 { .. } => self.inner.spool_dir.clone(),
                };
                tokio::task::spawn_blocking(move || sync_file(&path, &root))
                    .await
                    .map_err(|e| FilesError::Io {
                        action: "sync",
                        path: self.writing_path(key),
                        source: io::Error::other(e),
                    })?
            }
            Some(s3) => {
                let size = s3.upload(key, &path).await?;
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => remove_empty_parents(&path, &self.inner.spool_dir).await,
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "the recording is uploaded but its spool file could not be removed");
                    }
                }
                Ok(size)
            }
        }
    }

    /// Removes a recording's file (and, for S3, any spool copy left). A file that is not there
    /// is not an error.
    pub async fn delete(&self, key: &FileKey) -> Result<(), FilesError> {
        let local = self.writing_path(key);
        match tokio::fs::remove_file(&local).await {
            Ok(()) => {
                let root = match &self.inner.config {
                    StorageConfig::Local { dir } => dir,
                    StorageConfig::S3 { .. } => &self.inner.spool_dir,
                };
                remove_empty_parents(&local, root).await;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(FilesError::Io {
                    action: "delete",
                    path: local,
                    source,
                });
            }
        }
        if let Some(s3) = &self.inner.s3 {
            let object = ObjectPath::from(key.object_path());
            match s3.store.delete(&object).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(source) => return Err(s3.error("delete", key, source)),
            }
        }
        Ok(())
    }

    /// Where a complete file is, for serving it; [`FilesError::NotFound`] if it is not there.
    pub async fn locate(&self, key: &FileKey) -> Result<Location, FilesError> {
        match &self.inner.s3 {
            None => {
                let path = self.writing_path(key);
                match tokio::fs::metadata(&path).await {
                    Ok(meta) if meta.is_file() => Ok(Location::File(path)),
                    Ok(_) => Err(FilesError::NotFound(key.object_path())),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        Err(FilesError::NotFound(key.object_path()))
                    }
                    Err(source) => Err(FilesError::Io {
                        action: "read",
                        path,
                        source,
                    }),
                }
            }
            Some(s3) => {
                let object = ObjectPath::from(key.object_path());
                match s3.store.head(&object).await {
                    Ok(meta) => Ok(Location::Object {
                        size: meta.size,
                        etag: meta.e_tag,
                        last_modified: Timestamp::from_millisecond(
                            meta.last_modified.timestamp_millis(),
                        )
                        .unwrap_or(Timestamp::UNIX_EPOCH),
                    }),
                    Err(object_store::Error::NotFound { .. }) => {
                        Err(FilesError::NotFound(key.object_path()))
                    }
                    Err(source) => Err(s3.error("read", key, source)),
                }
            }
        }
    }

    /// The bytes `range` of an object (S3 storage), as a stream. For local storage this
    /// reads the file the same way, so callers may use it for either.
    pub async fn read(
        &self,
        key: &FileKey,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, io::Result<bytes::Bytes>>, FilesError> {
        match &self.inner.s3 {
            Some(s3) => {
                let object = ObjectPath::from(key.object_path());
                let options = GetOptions {
                    range: Some(GetRange::Bounded(range)),
                    ..GetOptions::default()
                };
                match s3.store.get_opts(&object, options).await {
                    Ok(result) => Ok(result
                        .into_stream()
                        .map(|r| r.map_err(io::Error::other))
                        .boxed()),
                    Err(object_store::Error::NotFound { .. }) => {
                        Err(FilesError::NotFound(key.object_path()))
                    }
                    Err(source) => Err(s3.error("read", key, source)),
                }
            }
            None => {
                let path = self.writing_path(key);
                let io_error = |source| FilesError::Io {
                    action: "read",
                    path: path.clone(),
                    source,
                };
                let mut file = tokio::fs::File::open(&path).await.map_err(io_error)?;
                tokio::io::AsyncSeekExt::seek(&mut file, io::SeekFrom::Start(range.start))
                    .await
                    .map_err(io_error)?;
                let limited = file.take(range.end.saturating_sub(range.start));
                Ok(tokio_util_stream(limited))
            }
        }
    }
}

/// A reader as a stream of chunks.
fn tokio_util_stream(
    reader: impl tokio::io::AsyncRead + Send + Unpin + 'static,
) -> BoxStream<'static, io::Result<bytes::Bytes>> {
    futures::stream::unfold(reader, |mut reader| async move {
        let mut buffer = vec![0u8; 64 * 1024];
        match reader.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(bytes::Bytes::from(buffer)), reader))
            }
            Err(e) => Some((Err(e), reader)),
        }
    })
    .boxed()
}

impl S3 {
    fn error(
        &self,
        action: &'static str,
        key: &FileKey,
        source: object_store::Error,
    ) -> FilesError {
        FilesError::Store {
            action,
            object: key.object_path(),
            endpoint: self.endpoint.clone(),
            bucket: self.bucket.clone(),
            source: Box::new(source),
        }
    }

    /// Streams the file at `path` to the object of `key`: parts of `PART_SIZE`, at most
    /// `PARTS_IN_FLIGHT` uploading while the next is read.
    async fn upload(&self, key: &FileKey, path: &Path) -> Result<u64, FilesError> {
        let io_error = |source| FilesError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(io_error)?;
        let object = ObjectPath::from(key.object_path());
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, content_type(key.extension).into());
        let upload = self
            .store
            .put_multipart_opts(
                &object,
                PutMultipartOptions {
                    attributes,
                    ..PutMultipartOptions::default()
                },
            )
            .await
            .map_err(|e| self.error("upload", key, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buffer = vec![0u8; READ_CHUNK];
        let mut size = 0u64;
        let outcome: Result<(), FilesError> = async {
            loop {
                let n = file.read(&mut buffer).await.map_err(io_error)?;
                if n == 0 {
                    return Ok(());
                }
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| self.error("upload", key, e))?;
                writer.write(&buffer[..n]);
                size += n as u64;
            }
        }
        .await;
        match outcome {
            Ok(()) => {
                writer
                    .finish()
                    .await
                    .map_err(|e| self.error("upload", key, e))?;
                Ok(size)
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(object = %object, error = %abort, "could not abort a failed multipart upload; the bucket's lifecycle rules should expire it");
                }
                Err(e)
            }
        }
    }
}

/// fsyncs a finished file and every directory from its own up to `root`, so a crash cannot
/// lose the file or its name. Returns its size.
fn sync_file(path: &Path, root: &Path) -> Result<u64, FilesError> {
    let io_error = |action, path: &Path| {
        let path = path.to_owned();
        move |source| FilesError::Io {
            action,
            path,
            source,
        }
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(FilesError::NotFound(path.display().to_string()));
        }
        Err(e) => return Err(io_error("open", path)(e)),
    };
    file.sync_all().map_err(io_error("sync", path))?;
    let size = file.metadata().map_err(io_error("sync", path))?.len();
    let mut dir = path.parent();
    while let Some(d) = dir {
        sync_dir(d).map_err(io_error("sync the directory of", path))?;
        if d == root || !d.starts_with(root) {
            break;
        }
        dir = d.parent();
    }
    Ok(size)
}

/// fsyncs a directory, making the names in it durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Removes the session and company directories of a removed file if they are now empty
/// (best effort: a concurrent recording may have just created something in them).
async fn remove_empty_parents(path: &Path, root: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || tokio::fs::remove_dir(d).await.is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// What the HTTP layer needs to hand out and serve download links.
#[derive(Debug, Clone)]
pub struct Downloads {
    pub files: RecordingFiles,
    pub links: LinkSigner,
    /// How long a link handed out is valid (`recordings.link_ttl_secs`).
    pub link_ttl: SignedDuration,
}

impl Downloads {
    /// The path and query of a link to `key`, valid for `link_ttl` from `now`.
    pub fn link(&self, key: &FileKey, now: Timestamp) -> String {
        let expires = now.checked_add(self.link_ttl).unwrap_or(Timestamp::MAX);
        self.links.sign(key, expires)
    }
}

#[cfg(test)]
mod tests;
