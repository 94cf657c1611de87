//! Credentials as the FRTC API defines them.
//!
//! An FRTC client never sends a password: it sends `secret = sha1(password + salt)` as lower-
//! case hex, with a salt both sides know. Plenum treats that secret as *the* credential and
//! stores only an Argon2id hash of it (hashing happens in the service layer: it needs
//! randomness). A client that sends a plain `password` instead gets it turned into the same
//! secret here, so both kinds of client sign in to the same account.

use std::fmt;

use sha1::{Digest, Sha1};

use crate::{Field, Rule, Timestamp, ValidationError};

/// The credential an FRTC client sends. Opaque to us; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub const MAX_LEN: usize = 256;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::parse_as(Field::Secret, raw)
    }

    fn parse_as(field: Field, raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() {
            return Err(ValidationError::breaks(
                Rule::Empty,
                field,
                "must not be empty",
            ));
        }
        if raw.len() > Self::MAX_LEN {
            return Err(ValidationError::breaks(
                Rule::TooLong,
                field,
                format!("must be at most {} bytes", Self::MAX_LEN),
            ));
        }
        if raw.chars().any(char::is_control) {
            return Err(ValidationError::breaks(
                Rule::Characters,
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The secret an FRTC client would compute for this password: `sha1(password + salt)`.
    pub fn from_password(password: &Password, salt: &str) -> Self {
        let mut hasher = Sha1::new();
        hasher.update(password.0.as_bytes());
        hasher.update(salt.as_bytes());
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(40);
        for byte in digest {
            hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
        }
        Self(hex)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A plain password, as typed by a person. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_LEN: usize = 8;

    /// Any non-empty password: what a sign-in attempt may carry.
    pub fn parse_for_sign_in(raw: &str) -> Result<Self, ValidationError> {
        Secret::parse_as(Field::Password, raw).map(|s| Self(s.0))
    }

    /// A password being *set*: at least [`Self::MIN_LEN`] characters.
    pub fn parse_new(raw: &str) -> Result<Self, ValidationError> {
        let password = Self::parse_for_sign_in(raw)?;
        if raw.chars().count() < Self::MIN_LEN {
            return Err(ValidationError::breaks(
                Rule::PasswordTooShort,
                Field::Password,
                format!("must be at least {} characters", Self::MIN_LEN),
            ));
        }
        Ok(password)
    }

    /// Strength by length and character classes (lower, upper, digit, other).
    pub fn security_level(&self) -> SecurityLevel {
        let p = &self.0;
        let classes = [
            p.chars().any(|c| c.is_lowercase()),
            p.chars().any(|c| c.is_uppercase()),
            p.chars().any(|c| c.is_ascii_digit()),
            p.chars().any(|c| !c.is_alphanumeric()),
        ]
        .into_iter()
        .filter(|&b| b)
        .count();
        let len = p.chars().count();
        if len >= 12 && classes >= 3 {
            SecurityLevel::High
        } else if len >= Self::MIN_LEN && classes >= 2 {
            SecurityLevel::Medium
        } else {
            SecurityLevel::Low
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// FRTC's `security_level`: the strength of the password behind the credential. When the
/// credential was set as a pre-hashed `secret` the password was never seen, so its strength
/// is honestly `Unknown` rather than guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityLevel {
    Low,
    Medium,
    High,
    Unknown,
}

impl SecurityLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityLevel::Low => "LOW",
            SecurityLevel::Medium => "MEDIUM",
            SecurityLevel::High => "HIGH",
            SecurityLevel::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Low, Self::Medium, Self::High, Self::Unknown]
            .into_iter()
            .find(|l| l.as_str() == s)
    }
}

/// FRTC's `password_expired_time`: the days left (a started day counts) before the credential
/// set at `changed_at` reaches `lifetime_days`; 0 once it has (the client should then ask for
/// a new password).
pub fn days_until_password_expiry(
    changed_at: Timestamp,
    lifetime_days: u32,
    now: Timestamp,
) -> i64 {
    const DAY_MS: i64 = 86_400_000;
    let expires = changed_at.as_millisecond() + i64::from(lifetime_days) * DAY_MS;
    // Started days count: a password set a moment ago has the whole lifetime left, and one
    // with an hour left has a day, not none.
    let left = (expires - now.as_millisecond()).max(0);
    (left + DAY_MS - 1) / DAY_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_from_password_matches_sha1_hex() {
        // sha1("password123" + "salt") computed independently.
        let p = Password::parse_for_sign_in("password123").unwrap();
        let s = Secret::from_password(&p, "salt");
        assert_eq!(s.expose().len(), 40);
        assert_eq!(s, Secret::from_password(&p, "salt"));
        assert_ne!(s, Secret::from_password(&p, "pepper"));
        // sha1("abc") with an empty salt is the FIPS 180 test vector.
        let abc = Password::parse_for_sign_in("abc").unwrap();
        assert_eq!(
            Secret::from_password(&abc, "").expose(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn debug_never_shows_credentials() {
        let p = Password::parse_for_sign_in("hunter22").unwrap();
        let s = Secret::parse("deadbeef").unwrap();
        assert!(!format!("{p:?}{s:?}").contains("hunter22"));
        assert!(!format!("{p:?}{s:?}").contains("deadbeef"));
    }

    #[test]
    fn new_passwords_have_a_minimum_length() {
        assert!(Password::parse_new("short").is_err());
        assert!(Password::parse_new("longenough").is_ok());
        assert!(Secret::parse("").is_err());
        assert!(Secret::parse(&"a".repeat(257)).is_err());
    }

    #[test]
    fn strength() {
        let level = |s: &str| Password::parse_for_sign_in(s).unwrap().security_level();
        assert_eq!(level("abc"), SecurityLevel::Low);
        assert_eq!(level("abcdefgh"), SecurityLevel::Low);
        assert_eq!(level("abcdefg1"), SecurityLevel::Medium);
        assert_eq!(level("Abcdefghijk1"), SecurityLevel::High);
    }

    #[test]
    fn expiry_counts_whole_days_down_to_zero() {
        let t0 = Timestamp::from_millisecond(0).unwrap();
        let day = |d: i64| Timestamp::from_millisecond(d * 86_400_000).unwrap();
        assert_eq!(days_until_password_expiry(t0, 90, t0), 90);
        assert_eq!(days_until_password_expiry(t0, 90, day(30)), 60);
        assert_eq!(days_until_password_expiry(t0, 90, day(90)), 0);
        assert_eq!(days_until_password_expiry(t0, 90, day(400)), 0);
        let just_after = t0 + jiff::SignedDuration::from_secs(1);
        assert_eq!(days_until_password_expiry(t0, 90, just_after), 90);
        let last_hour = day(90) - jiff::SignedDuration::from_hours(1);
        assert_eq!(days_until_password_expiry(t0, 90, last_hour), 1);
    }
}

/// The SHA-256 of an access token: what the store keeps instead of the token. A fast hash is
/// right here (unlike for passwords): tokens are 256 random bits, so there is nothing to
/// brute-force, and the lookup must be cheap.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        use sha2::Sha256;
        Self(Sha256::digest(token.as_bytes()).into())
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The first bytes are enough to tell tokens apart in a debugger; the hash is not the
        // token, but there is no reason to print all of it either.
        write!(
            f,
            "TokenHash({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}
