//! Who acts: a signed-in user (a [`Principal`]) or the local operator (the CLI).

use std::net::IpAddr;

use plenum_domain::Timestamp;
use plenum_domain::audit::{Action, AuditEntry};
use plenum_domain::ids::{CompanyId, UserId};
use plenum_domain::schedule::MeetingNumber;
use plenum_domain::sign_in::AccessTokenRecord;
use plenum_domain::user::User;

use crate::ServiceError;
use crate::tokens::Expiring;

/// Who is making a request: a signed-in user and the token they used.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub token: AccessTokenRecord,
    /// A SystemAdmin of the default company: may create and list companies.
    pub platform_operator: bool,
}

impl Expiring for Principal {
    fn is_expired(&self, now: Timestamp) -> bool {
        self.token.is_expired(now)
    }
}

impl Principal {
    pub fn company(&self) -> CompanyId {
        self.user.company_id
    }

    /// Refuses unless the principal is a platform operator (may create and list companies).
    pub fn require_platform_operator(&self) -> Result<(), ServiceError> {
        if self.platform_operator {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(
                "only a SystemAdmin of the default company may manage companies",
            ))
        }
    }

    /// Refuses unless the principal may create, change and delete the company's meeting
    /// rooms (a MeetingOperator or SystemAdmin). Handlers call it before validating a body.
    pub fn require_room_manager(&self) -> Result<(), ServiceError> {
        if self.user.role.manages_all_meetings() {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(
                "only a MeetingOperator or SystemAdmin may manage meeting rooms",
            ))
        }
    }

    /// Refuses unless the principal may administer their company: create and change its
    /// users, its integration keys, import its history. Handlers call it before validating a
    /// body, so that someone without the right learns nothing from the answer.
    pub fn require_user_admin(&self) -> Result<(), ServiceError> {
        if self.user.role.can_manage_users() {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(
                "only a SystemAdmin may do this: manage the company's users, integration keys and history",
            ))
        }
    }
}

/// Who performs a use case that both the API and the command line offer. The API acts for
/// a signed-in user, within their company and role; the command line acts for whoever may
/// open the data directory, with every right, in the company it names. One path serves
/// both, so a rule added to a use case holds for the CLI too.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A signed-in user, and the address their request came from (for the audit log).
    User(&'a Principal, Option<IpAddr>),
    /// The local operator (`plenum user create`, `plenum import`, ...), acting in this
    /// company. For company-wide calls (creating a company) the company is the default one.
    Operator(CompanyId),
}

impl Actor<'_> {
    /// The company the actor acts in.
    pub fn company(&self) -> CompanyId {
        match self {
            Actor::User(p, _) => p.company(),
            Actor::Operator(company) => *company,
        }
    }

    /// The signed-in user who acts, if one does.
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Actor::User(p, _) => Some(p),
            Actor::Operator(_) => None,
        }
    }

    /// The user who acts, if a user does (for logs and the audit).
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::User(p, _) => Some(p.user.id),
            Actor::Operator(_) => None,
        }
    }

    /// See [`Principal::require_platform_operator`]; the operator may.
    pub fn require_platform_operator(&self) -> Result<(), ServiceError> {
        match self {
            Actor::User(p, _) => p.require_platform_operator(),
            Actor::Operator(_) => Ok(()),
        }
    }

    /// See [`Principal::require_user_admin`]; the operator may.
    pub fn require_user_admin(&self) -> Result<(), ServiceError> {
        match self {
            Actor::User(p, _) => p.require_user_admin(),
            Actor::Operator(_) => Ok(()),
        }
    }
}

impl Actor<'_> {
    /// The audit entry of an action of this actor, made now, in the actor's company.
    /// `details` is a JSON object that holds no secret.
    pub(crate) fn audit(
        &self,
        action: Action,
        target: String,
        meeting: Option<MeetingNumber>,
        details: serde_json::Value,
        at: Timestamp,
    ) -> AuditEntry {
        let (actor, address) = match self {
            Actor::User(p, from) => (
                plenum_domain::audit::Actor::User {
                    id: p.user.id,
                    username: p.user.username.as_str().to_owned(),
                },
                *from,
            ),
            Actor::Operator(_) => (plenum_domain::audit::Actor::Operator, None),
        };
        AuditEntry {
            company: self.company(),
            actor,
            address,
            action,
            target,
            meeting,
            details: details.to_string(),
            at,
        }
    }
}

impl std::fmt::Display for Actor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::User(p, _) => write!(f, "{}", p.user.id),
            Actor::Operator(_) => f.write_str("operator"),
        }
    }
}
