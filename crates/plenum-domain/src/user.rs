//! Users, their roles and what each role may do.

use std::fmt;
use std::str::FromStr;

use crate::credentials::SecurityLevel;
use crate::ids::{CompanyId, UserId};
use crate::text;
use crate::{Field, Rule, Timestamp, ValidationError};

/// The three roles of the FRTC API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Uses meetings: their own and those they are invited to.
    Normal,
    /// Runs meetings for the whole company.
    MeetingOperator,
    /// Administers the company: users, keys, everything a MeetingOperator does.
    SystemAdmin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Normal, Role::MeetingOperator, Role::SystemAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Normal => "Normal",
            Role::MeetingOperator => "MeetingOperator",
            Role::SystemAdmin => "SystemAdmin",
        }
    }

    /// Only SystemAdmins create and change user accounts (FRTC "available for SystemAdmin").
    pub fn can_manage_users(self) -> bool {
        self == Role::SystemAdmin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ValidationError;

    /// Exact spelling as documented; anything else is refused rather than guessed at.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                ValidationError::breaks(
                    Rule::NotAChoice,
                    Field::Role,
                    "must be one of Normal, MeetingOperator, SystemAdmin",
                )
            })
    }
}

/// A sign-in name, unique across the whole installation (FRTC: "username is global unique").
///
/// 1..=64 characters from `A-Z a-z 0-9 . _ - @`, starting with a letter or digit. Kept as
/// given; uniqueness is case-insensitive so `Alice` and `alice` cannot both exist.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() {
            return Err(ValidationError::breaks(
                Rule::Empty,
                Field::Username,
                "must not be empty",
            ));
        }
        if raw.len() > Self::MAX_LEN {
            return Err(ValidationError::breaks(
                Rule::TooLong,
                Field::Username,
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
        if !raw.chars().all(allowed) {
            return Err(ValidationError::breaks(
                Rule::UsernameForm,
                Field::Username,
                "may contain only ASCII letters, digits and . _ - @",
            ));
        }
        if !raw.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(ValidationError::breaks(
                Rule::UsernameForm,
                Field::Username,
                "must start with a letter or digit",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is decided on.
    pub fn canonical(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Free-text profile fields: optional, trimmed, bounded, no control characters.
fn profile_text(field: Field, raw: &str, max: usize) -> Result<String, ValidationError> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(ValidationError::breaks(
            Rule::TooLong,
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::breaks(
            Rule::Characters,
            field,
            "must not contain control characters",
        ));
    }
    // Shown to others (directory, participant lists): it may not reorder the text around it.
    if value.chars().any(text::is_bidi_control) {
        return Err(ValidationError::breaks(
            Rule::Characters,
            field,
            "must not contain bidirectional formatting characters",
        ));
    }
    Ok(value.to_owned())
}

/// The descriptive fields of a user that the FRTC API shows and SystemAdmins edit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub real_name: String,
    pub email: String,
    pub department: String,
    pub mobile: String,
}

impl Profile {
    pub fn parse_real_name(raw: &str) -> Result<String, ValidationError> {
        profile_text(Field::RealName, raw, 128)
    }

    pub fn parse_department(raw: &str) -> Result<String, ValidationError> {
        profile_text(Field::Department, raw, 128)
    }

    /// Empty, or one `local@domain` address with a dot in the domain. Deliverability is not
    /// our business; catching `"foo"` typed into the wrong box is.
    pub fn parse_email(raw: &str) -> Result<String, ValidationError> {
        let value = profile_text(Field::Email, raw, 254)?;
        if value.is_empty() {
            return Ok(value);
        }
        let ok = match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !value.contains(char::is_whitespace)
            }
            None => false,
        };
        if ok {
            Ok(value)
        } else {
            Err(ValidationError::breaks(
                Rule::EmailForm,
                Field::Email,
                "must be an e-mail address such as name@example.com",
            ))
        }
    }

    /// Empty, or a phone number: digits with optional leading `+` and separators ` -()`.
    pub fn parse_mobile(raw: &str) -> Result<String, ValidationError> {
        let value = profile_text(Field::Mobile, raw, 32)?;
        if value.is_empty() {
            return Ok(value);
        }
        let body = value.strip_prefix('+').unwrap_or(&value);
        let ok = body.chars().any(|c| c.is_ascii_digit())
            && body
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'));
        if ok {
            Ok(value)
        } else {
            Err(ValidationError::breaks(
                Rule::MobileForm,
                Field::Mobile,
                "must be a phone number: digits, an optional leading +, spaces, - ( )",
            ))
        }
    }
}

/// A user account as the domain sees it. The credential hash is not part of it: it never
/// leaves the store except to the sign-in check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub company_id: CompanyId,
    pub username: Username,
    pub profile: Profile,
    pub role: Role,
    pub security_level: SecurityLevel,
    /// When the credential was last set; drives `password_expired_time`.
    pub secret_changed_at: Timestamp,
    pub created_at: Timestamp,
}

/// What it takes to create a user. `secret_hash` is already the Argon2id PHC string.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub company_id: CompanyId,
    pub username: Username,
    pub profile: Profile,
    pub role: Role,
    pub secret_hash: String,
    pub security_level: SecurityLevel,
    pub created_at: Timestamp,
}

/// A change to a user: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub real_name: Option<String>,
    pub email: Option<String>,
    pub department: Option<String>,
    pub mobile: Option<String>,
    pub role: Option<Role>,
    /// New Argon2id hash and the strength of what it was made from.
    pub secret: Option<(String, SecurityLevel)>,
}

impl UserChanges {
    pub fn is_empty(&self) -> bool {
        self.real_name.is_none()
            && self.email.is_none()
            && self.department.is_none()
            && self.mobile.is_none()
            && self.role.is_none()
            && self.secret.is_none()
    }

    /// Whether applying this change to `user` would take the SystemAdmin role away.
    pub fn demotes_system_admin(&self, user: &User) -> bool {
        user.role == Role::SystemAdmin && matches!(self.role, Some(r) if r != Role::SystemAdmin)
    }

    pub fn apply_to(&self, user: &mut User, now: Timestamp) {
        if let Some(v) = &self.real_name {
            user.profile.real_name = v.clone();
        }
        if let Some(v) = &self.email {
            user.profile.email = v.clone();
        }
        if let Some(v) = &self.department {
            user.profile.department = v.clone();
        }
        if let Some(v) = &self.mobile {
            user.profile.mobile = v.clone();
        }
        if let Some(r) = self.role {
            user.role = r;
        }
        if let Some((_, level)) = &self.secret {
            user.security_level = *level;
            user.secret_changed_at = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_exactly() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("normal".parse::<Role>().is_err());
        assert!("Admin".parse::<Role>().is_err());
        assert!("".parse::<Role>().is_err());
    }

    #[test]
    fn only_system_admins_manage_users() {
        assert!(Role::SystemAdmin.can_manage_users());
        assert!(!Role::MeetingOperator.can_manage_users());
        assert!(!Role::Normal.can_manage_users());
    }

    #[test]
    fn usernames() {
        for ok in ["alice", "a", "bob.smith", "c_d-e@corp", "7up"] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            " alice",
            "al ice",
            ".alice",
            "ali\u{e9}",
            "a/b",
            &"x".repeat(65),
        ] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Username::parse("Alice").unwrap().canonical(), "alice");
    }

    #[test]
    fn real_names_may_not_reorder_what_others_read() {
        assert_eq!(Profile::parse_real_name("  Zoë 李 ").unwrap(), "Zoë 李");
        assert!(Profile::parse_real_name("\u{202E}nimda").is_err());
        assert!(Profile::parse_real_name("a\u{2066}b").is_err());
        assert!(Profile::parse_real_name("a\tb").is_err());
    }

    #[test]
    fn emails_and_mobiles() {
        assert_eq!(Profile::parse_email("").unwrap(), "");
        assert!(Profile::parse_email("a@b.co").is_ok());
        for bad in ["foo", "a@b", "@b.co", "a@@b.co", "a b@c.de", "a@.co"] {
            assert!(Profile::parse_email(bad).is_err(), "{bad}");
        }
        assert!(Profile::parse_mobile("+86 138-0000 0000").is_ok());
        assert!(Profile::parse_mobile("call me").is_err());
        assert!(Profile::parse_mobile("+").is_err());
    }

    #[test]
    fn demotion_is_detected() {
        let user = User {
            id: UserId::new(Timestamp::UNIX_EPOCH),
            company_id: CompanyId::new(Timestamp::UNIX_EPOCH),
            username: Username::parse("root").unwrap(),
            profile: Profile::default(),
            role: Role::SystemAdmin,
            security_level: SecurityLevel::High,
            secret_changed_at: Timestamp::UNIX_EPOCH,
            created_at: Timestamp::UNIX_EPOCH,
        };
        let demote = UserChanges {
            role: Some(Role::Normal),
            ..Default::default()
        };
        let keep = UserChanges {
            role: Some(Role::SystemAdmin),
            ..Default::default()
        };
        assert!(demote.demotes_system_admin(&user));
        assert!(!keep.demotes_system_admin(&user));
        assert!(!UserChanges::default().demotes_system_admin(&user));
    }
}
