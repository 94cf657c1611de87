//! Company-scoped credentials for integrations: API keys (Rokid, Telnyx: `Authorization:
//! Bearer <key>`) and Huawei app id/app key pairs (`/v2/usg/acs/auth/appauth`).
//!
//! A key is shown once, when it is created, and the store keeps only its SHA-256 (like access
//! tokens: 256 random bits leave nothing to brute-force). A Huawei app key is different: the
//! client signs with it (HMAC-SHA256), so the server must be able to compute the same HMAC.
//! Plenum therefore stores no app key at all but a random per-app seed, and derives the key as
//! `HMAC-SHA256(installation secret, seed)` (the installation secret is a file in the data
//! directory, outside the database). A copy of the database alone reveals no key.

use std::fmt;

use jiff::Timestamp;

use crate::credentials::TokenHash;
use crate::ids::{ApiKeyId, CompanyId};
use crate::{Field, Rule, ValidationError};

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiKeyKind {
    /// A bearer key (`Authorization: Bearer <key>`): Rokid and Telnyx.
    Bearer,
    /// A Huawei app id and app key (`appauth`, HMAC-SHA256).
    HuaweiApp,
}

impl ApiKeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyKind::Bearer => "api_key",
            ApiKeyKind::HuaweiApp => "huawei_app",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "api_key" => Ok(ApiKeyKind::Bearer),
            "huawei_app" => Ok(ApiKeyKind::HuaweiApp),
            _ => Err(ValidationError::breaks(
                Rule::NotAChoice,
                Field::KeyKind,
                "must be api_key or huawei_app",
            )),
        }
    }
}

impl fmt::Display for ApiKeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key as it is listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub company: CompanyId,
    pub name: String,
    pub kind: ApiKeyKind,
    /// The first characters of the secret (bearer keys) so an operator can tell keys apart.
    pub prefix: String,
    /// The Huawei app id (public).
    pub app_id: Option<String>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl ApiKey {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// What the store keeps of a new key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    pub key: ApiKey,
    /// SHA-256 of the bearer key, or of the derived app key.
    pub secret_hash: TokenHash,
    /// The random seed an app key is derived from (Huawei apps only).
    pub seed: Option<[u8; 32]>,
}

/// A key's name: what the operator calls the integration.
pub fn parse_key_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ValidationError::breaks(
            Rule::Empty,
            Field::KeyName,
            "must not be empty",
        ));
    }
    if name.chars().count() > 64 {
        return Err(ValidationError::breaks(
            Rule::TooLong,
            Field::KeyName,
            "must be at most 64 characters",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::breaks(
            Rule::Characters,
            Field::KeyName,
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// The installation's secret that Huawei app keys are derived from. Its `Debug` never shows
/// it.
#[derive(Clone, PartialEq, Eq)]
pub struct AppKeySecret(pub [u8; 32]);

impl fmt::Debug for AppKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppKeySecret(<redacted>)")
    }
}

impl AppKeySecret {
    /// The app key of the app with this seed, as lower-case hex (64 characters).
    pub fn app_key(&self, seed: &[u8; 32]) -> String {
        hex(&hmac(&self.0, seed))
    }
}

/// Huawei's appauth signature: `HMAC-SHA256(app key, data)` as upper-case hex, where `data` is
/// the colon-joined `appId[:corpId]:userId:expireTime:nonce` (with `corpId` in the
/// multi-tenant form). Returns both candidates the server accepts.
pub fn appauth_signatures(
    app_key: &str,
    app_id: &str,
    corp_id: Option<&str>,
    user_id: &str,
    expire_time: i64,
    nonce: &str,
) -> Vec<String> {
    let expire = expire_time.to_string();
    let mut forms = vec![[app_id, user_id, expire.as_str(), nonce].join(":")];
    forms.push(
        [
            app_id,
            corp_id.unwrap_or(""),
            user_id,
            expire.as_str(),
            nonce,
        ]
        .join(":"),
    );
    forms
        .into_iter()
        .map(|data| hex(&hmac(app_key.as_bytes(), data.as_bytes())).to_ascii_uppercase())
        .collect()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
    }
    out
}

/// HMAC-SHA256 (RFC 2104).
pub(crate) fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of every length")
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hex(&hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex(&hmac(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn appauth_signs_the_single_and_multi_tenant_forms() {
        let sigs = appauth_signatures("key", "app", Some("corp"), "u", 100, "n");
        assert_eq!(sigs.len(), 2);
        assert_eq!(
            sigs[0],
            hex(&hmac(b"key", b"app:u:100:n")).to_ascii_uppercase()
        );
        assert_eq!(
            sigs[1],
            hex(&hmac(b"key", b"app:corp:u:100:n")).to_ascii_uppercase()
        );
    }

    #[test]
    fn app_keys_differ_per_seed_and_secret_and_hide_in_debug() {
        let s = AppKeySecret([7; 32]);
        assert_ne!(s.app_key(&[1; 32]), s.app_key(&[2; 32]));
        assert_ne!(s.app_key(&[1; 32]), AppKeySecret([8; 32]).app_key(&[1; 32]));
        assert_eq!(s.app_key(&[1; 32]).len(), 64);
        assert!(!format!("{s:?}").contains('7'));
    }

    #[test]
    fn kinds_and_names_parse() {
        assert_eq!(
            ApiKeyKind::parse("huawei_app").unwrap(),
            ApiKeyKind::HuaweiApp
        );
        assert!(ApiKeyKind::parse("x").is_err());
        assert!(parse_key_name(" ").is_err());
        assert_eq!(parse_key_name(" CRM ").unwrap(), "CRM");
    }
}
