//! Companies: the tenants of a Plenum installation.
//!
//! A company is a hard boundary. Every user belongs to one, and everything a user creates
//! belongs to the user's company. The *default* company is created on first start; its
//! SystemAdmins are the platform operators, the only ones who may create more companies.

use crate::ids::CompanyId;
use crate::{Field, Rule, Timestamp, ValidationError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    pub id: CompanyId,
    pub name: CompanyName,
    pub time_zone: TimeZoneName,
    /// Licensed number of user accounts in this company (FRTC `capacity.system.max_users`).
    pub max_users: u32,
    pub is_default: bool,
    pub created_at: Timestamp,
}

/// What it takes to create a company.
#[derive(Debug, Clone)]
pub struct NewCompany {
    pub id: CompanyId,
    pub name: CompanyName,
    pub time_zone: TimeZoneName,
    pub max_users: u32,
    pub is_default: bool,
    pub created_at: Timestamp,
}

/// A change of a company's settings: what is `Some` changes. Whether an actor may make it
/// (the licence is the platform operator's) is the service's rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompanyChanges {
    pub name: Option<CompanyName>,
    pub time_zone: Option<TimeZoneName>,
    pub max_users: Option<u32>,
}

impl CompanyChanges {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// The largest `max_users` a company can be given: far above any real installation, small
/// enough that counts never overflow anywhere.
pub const MAX_USERS_LIMIT: u32 = 10_000_000;

pub fn parse_max_users(value: i64) -> Result<u32, ValidationError> {
    if (1..=i64::from(MAX_USERS_LIMIT)).contains(&value) {
        Ok(value as u32)
    } else {
        Err(ValidationError::breaks(
            Rule::OutOfRange,
            Field::MaxUsers,
            format!("must be between 1 and {MAX_USERS_LIMIT}"),
        ))
    }
}

/// A company's display name: 1..=128 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CompanyName(String);

impl CompanyName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ValidationError::breaks(
                Rule::Empty,
                Field::CompanyName,
                "must not be empty",
            ));
        }
        if name.chars().count() > 128 {
            return Err(ValidationError::breaks(
                Rule::TooLong,
                Field::CompanyName,
                "must be at most 128 characters",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::breaks(
                Rule::Characters,
                Field::CompanyName,
                "must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name such as `Europe/Berlin` or `UTC`, checked against the tz database
/// bundled into the binary (so behaviour does not depend on the host's zoneinfo).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn utc() -> Self {
        Self("UTC".to_owned())
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        match jiff::tz::db().get(name) {
            // Keep the canonical spelling the database knows, not the caller's casing.
            Ok(tz) => Ok(Self(tz.iana_name().unwrap_or(name).to_owned())),
            Err(_) => Err(ValidationError::breaks(
                Rule::TimeZone,
                Field::TimeZone,
                "must be an IANA time zone name such as Europe/Berlin or UTC",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        // A TimeZoneName is only ever built by `parse`, which found it in the same database.
        jiff::tz::db()
            .get(&self.0)
            .unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zone_names_are_checked_and_canonical() {
        assert_eq!(
            TimeZoneName::parse("Europe/Berlin").unwrap().as_str(),
            "Europe/Berlin"
        );
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
        assert!(TimeZoneName::parse("").is_err());
        assert_eq!(TimeZoneName::parse(" UTC ").unwrap().as_str(), "UTC");
    }

    #[test]
    fn company_names_are_trimmed_and_bounded() {
        assert_eq!(CompanyName::parse("  Acme ").unwrap().as_str(), "Acme");
        assert!(CompanyName::parse("   ").is_err());
        assert!(CompanyName::parse(&"x".repeat(129)).is_err());
        assert!(CompanyName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn max_users_is_bounded() {
        assert_eq!(parse_max_users(50), Ok(50));
        assert!(parse_max_users(0).is_err());
        assert!(parse_max_users(-1).is_err());
        assert!(parse_max_users(i64::MAX).is_err());
    }
}
