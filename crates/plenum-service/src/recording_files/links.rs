//! Signed download links of recording files.
//!
//! A link is `/files/recordings/{company}/{session}/{recording}.{ext}?expires={unix
//! seconds}&signature={base64url HMAC-SHA256}`. The HMAC covers every part of the path and
//! the expiry, so a link edited in any of them (another company's, session's or recording's
//! id, another extension, a later expiry) no longer verifies. The key is the installation's
//! (`recording-links.secret` in the data directory), so links survive restarts; replacing
//! the file voids every link handed out.

use std::io::{self, Write as _};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use plenum_domain::Timestamp;
use plenum_domain::ids::{CompanyId, RecordingId, SessionId};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use super::FileKey;

/// The path under which recording files are served.
pub const LINK_PATH_PREFIX: &str = "/files/recordings";

/// The file in the data directory holding the key links are signed with.
pub const LINK_KEY_FILE: &str = "recording-links.secret";

/// Why a link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Authentic, but its time is up.
    #[error("this download link has expired; ask for a new one")]
    Expired,
    /// Not signed by this server, edited, or malformed.
    #[error("this download link is not valid")]
    Invalid,
}

/// Signs and verifies download links.
#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner { key: <redacted> }")
    }
}

impl LinkSigner {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// The path and query of a link to `key` valid until `expires_at` (to the second, rounded
    /// down). Prefix it with the server's public URL.
    pub fn sign(&self, key: &FileKey, expires_at: Timestamp) -> String {
        let expires = expires_at.as_second();
        let signature = URL_SAFE_NO_PAD.encode(self.mac(
            key.company,
            key.session,
            key.recording,
            key.extension,
            expires,
        ));
        format!(
            "{LINK_PATH_PREFIX}/{}?expires={expires}&signature={signature}",
            key.object_path()
        )
    }

    /// Checks a link's parts as they came in the request. The signature is checked first (in
    /// constant time), so only an authentic link is ever told it has expired.
    #[allow(clippy::too_many_arguments)]
    pub fn verify(
        &self,
        company: &str,
        session: &str,
        recording: &str,
        extension: &str,
        expires: &str,
        signature: &str,
        now: Timestamp,
    ) -> Result<FileKey, LinkError> {
        let company: CompanyId = company.parse().map_err(|_| LinkError::Invalid)?;
        let session: SessionId = session.parse().map_err(|_| LinkError::Invalid)?;
        let recording: RecordingId = recording.parse().map_err(|_| LinkError::Invalid)?;
        let extension = super::known_extension(extension).ok_or(LinkError::Invalid)?;
        let expires: i64 = expires.parse().map_err(|_| LinkError::Invalid)?;
        let given = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| LinkError::Invalid)?;
        let expected = self.mac(company, session, recording, extension, expires);
        if !bool::from(expected.as_slice().ct_eq(given.as_slice())) {
            return Err(LinkError::Invalid);
        }
        if now.as_second() >= expires {
            return Err(LinkError::Expired);
        }
        Ok(FileKey {
            company,
            session,
            recording,
            extension,
        })
    }

    fn mac(
        &self,
        company: CompanyId,
        session: SessionId,
        recording: RecordingId,
        extension: &str,
        expires: i64,
    ) -> [u8; 32] {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            unreachable!("HMAC takes keys of any length")
        };
        // One field per line: no field can contain a newline (UUIDs, a known extension, a
        // number), so no two different links have the same message.
        mac.update(
            format!("plenum-recording-link-v1\n{company}\n{session}\n{recording}\n{extension}\n{expires}")
                .as_bytes(),
        );
        mac.finalize().into_bytes().into()
    }
}

/// Reads the link key from `data_dir/recording-links.secret`, creating it (32 random bytes,
/// owner-only) on first use. The new file is written under a temporary name, synced, and then
/// linked into place, which fails if another process got there first: then its key is used.
pub fn load_or_create_key(data_dir: &Path) -> io::Result<[u8; 32]> {
    let path = data_dir.join(LINK_KEY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            return bytes.try_into().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} is not 32 bytes long; restore it or remove it (which voids every download link handed out)",
                        path.display()
                    ),
                )
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let key: [u8; 32] = rand::random();
    let temporary = data_dir.join(format!(
        ".{LINK_KEY_FILE}.{}.tmp",
        uuid::Uuid::from_bytes(rand::random())
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(&key)?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, &path));
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            super::sync_dir(data_dir)?;
            Ok(key)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => load_or_create_key(data_dir),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FileKey {
        let now = Timestamp::from_second(1_700_000_000).unwrap_or_else(|e| panic!("{e}"));
        FileKey {
            company: CompanyId::new(now),
            session: SessionId::new(now),
            recording: RecordingId::new(now),
            extension: "webm",
        }
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The parts of a signed link, as the router would see them.
    struct Parts {
        company: String,
        session: String,
        recording: String,
        extension: String,
        expires: String,
        signature: String,
    }

    fn parts(link: &str) -> Parts {
        let rest = link
            .strip_prefix("/files/recordings/")
            .unwrap_or_else(|| panic!("{link}"));
        let (path, query) = rest.split_once('?').unwrap_or_else(|| panic!("{link}"));
        let segments: Vec<&str> = path.split('/').collect();
        let (recording, extension) = segments[2]
            .rsplit_once('.')
            .unwrap_or_else(|| panic!("{link}"));
        let (expires, signature) = query
            .strip_prefix("expires=")
            .and_then(|q| q.split_once("&signature="))
            .unwrap_or_else(|| panic!("{link}"));
        Parts {
            company: segments[0].to_owned(),
            session: segments[1].to_owned(),
            recording: recording.to_owned(),
            extension: extension.to_owned(),
            expires: expires.to_owned(),
            signature: signature.to_owned(),
        }
    }

    fn verify(signer: &LinkSigner, p: &Parts, now: Timestamp) -> Result<FileKey, LinkError> {
        signer.verify(
            &p.company,
            &p.session,
            &p.recording,
            &p.extension,
            &p.expires,
            &p.signature,
            now,
        )
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let signer = LinkSigner::new([7; 32]);
        let k = key();
        let link = signer.sign(&k, at(2_000));
        assert!(link.starts_with(&format!(
            "/files/recordings/{}/{}/{}.webm?expires=2000&signature=",
            k.company, k.session, k.recording
        )));
        let p = parts(&link);
        assert_eq!(verify(&signer, &p, at(1_999)), Ok(k));
        assert_eq!(verify(&signer, &p, at(2_000)), Err(LinkError::Expired));
        assert_eq!(verify(&signer, &p, at(9_999)), Err(LinkError::Expired));
    }

    #[test]
    fn any_edit_is_refused() {
        let signer = LinkSigner::new([7; 32]);
        let k = key();
        let other = key();
        let p = parts(&signer.sign(&k, at(2_000)));
        let now = at(1_000);
        type Edit<'a> = Box<dyn Fn(&mut Parts) + 'a>;
        let edits: [(&str, Edit<'_>); 8] = [
            (
                "company",
                Box::new(|p| p.company = other.company.to_string()),
            ),
            (
                "session",
                Box::new(|p| p.session = other.session.to_string()),
            ),
            (
                "recording",
                Box::new(|p| p.recording = other.recording.to_string()),
            ),
            ("extension", Box::new(|p| p.extension = "mkv".into())),
            (
                "unknown extension",
                Box::new(|p| p.extension = "exe".into()),
            ),
            ("later expiry", Box::new(|p| p.expires = "3000".into())),
            (
                "signature",
                Box::new(|p| {
                    let first = if p.signature.starts_with('A') {
                        "B"
                    } else {
                        "A"
                    };
                    p.signature.replace_range(0..1, first);
                }),
            ),
            ("no signature", Box::new(|p| p.signature.clear())),
        ];
        for (what, edit) in edits {
            let mut edited = parts(&signer.sign(&k, at(2_000)));
            edit(&mut edited);
            assert_eq!(
                verify(&signer, &edited, now),
                Err(LinkError::Invalid),
                "{what}"
            );
        }
        // Another key (another installation, or a replaced key file) signed it.
        assert_eq!(
            verify(&LinkSigner::new([8; 32]), &p, now),
            Err(LinkError::Invalid)
        );
        // An edited link that has expired is still only "invalid".
        let mut late = parts(&signer.sign(&k, at(500)));
        late.company = other.company.to_string();
        assert_eq!(verify(&signer, &late, now), Err(LinkError::Invalid));
        assert!(!format!("{signer:?}").contains('7'));
    }

    #[test]
    fn the_key_is_created_once_owner_only_and_kept() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = load_or_create_key(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let again = load_or_create_key(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first, again);
        let path = dir.path().join(LINK_KEY_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{e}"))
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(LINK_KEY_FILE)]);
        // A damaged key file is an error, not a new key.
        std::fs::write(&path, b"short").unwrap_or_else(|e| panic!("{e}"));
        let error = load_or_create_key(dir.path()).err();
        assert!(
            error.is_some_and(|e| e.to_string().contains("32 bytes")),
            "a short key file must be refused"
        );
    }
}
