use std::fmt;

/// The input field a validation error is about, named as the domain names it. Dialects map
/// it to their own wire name when they render the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Username,
    RealName,
    Email,
    Department,
    Mobile,
    Role,
    Secret,
    Password,
    CompanyName,
    TimeZone,
    MaxUsers,
    PageNum,
    PageSize,
    Filter,
    UserId,
    CompanyId,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Username => "username",
            Field::RealName => "real_name",
            Field::Email => "email",
            Field::Department => "department",
            Field::Mobile => "mobile",
            Field::Role => "role",
            Field::Secret => "secret",
            Field::Password => "password",
            Field::CompanyName => "name",
            Field::TimeZone => "time_zone",
            Field::MaxUsers => "max_users",
            Field::PageNum => "page_num",
            Field::PageSize => "page_size",
            Field::Filter => "filter",
            Field::UserId => "user_id",
            Field::CompanyId => "company_id",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that does not satisfy the domain's rules. Carries the field and a sentence for a
/// human; never the offending value itself, which may be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    pub field: Field,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: Field, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}
