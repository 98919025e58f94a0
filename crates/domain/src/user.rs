//! Staff accounts, integration tokens and the actor recorded against every change.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::closed_set::closed_set;
use crate::ids::{TokenId, UserId};
use crate::text::Name;
use crate::DomainError;

closed_set! {
    /// What a person (or an integration) does at the helpline; see [`crate::access`].
    Role, "role" {
        /// First-line incident handler.
        Handler = "handler",
        /// Second-level analyst.
        Analyst = "analyst",
        /// Team lead: triage, assignment, escalation, confidential cases.
        Lead = "lead",
        /// Runs the installation: accounts, tokens.
        Admin = "admin",
        /// A machine: mail gateway, web form. Acts only within its token's scopes.
        Integration = "integration",
    }
}

closed_set! {
    /// What an integration token may do.
    Scope, "scope" {
        /// Post inbound mail.
        MailIngest = "mail:ingest",
        /// Read cases (non-confidential only).
        CasesRead = "cases:read",
        /// Open cases and log messages on them.
        CasesWrite = "cases:write",
        /// Read indicators, the cases holding them and related cases (a MISP sync).
        AnalysisRead = "analysis:read",
        /// Export cases' shareable indicators (MISP, STIX) and read the statistics (reporting).
        ExportsRead = "exports:read",
    }
}

closed_set! {
    /// Who must give a second factor (TOTP) when logging in, as the configuration says.
    SecondFactorRule, "second factor rule" {
        /// Whoever enrolled one.
        Optional = "optional",
        /// Leads and admins (the accounts that see every confidential case), and whoever enrolled.
        Leads = "leads",
        /// Every member of staff.
        Everyone = "everyone",
    }
}

impl SecondFactorRule {
    /// Whether a member of staff with `role` must have a second factor.
    pub fn requires(self, role: Role) -> bool {
        match self {
            SecondFactorRule::Optional => false,
            SecondFactorRule::Leads => matches!(role, Role::Lead | Role::Admin),
            SecondFactorRule::Everyone => role != Role::Integration,
        }
    }
}

/// A login name: 1 to 64 of `a-z 0-9 . _ -`, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Lower-cases and checks the alphabet.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let u = s.trim().to_ascii_lowercase();
        if u.is_empty() || u.len() > 64 {
            return Err(DomainError::invalid(
                "username",
                "must be 1 to 64 characters",
            ));
        }
        if !u.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        }) {
            return Err(DomainError::invalid(
                "username",
                "may only hold a-z, 0-9, '.', '_' and '-'",
            ));
        }
        Ok(Self(u))
    }
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed: at least 12 characters, at most 1024 (argon2 input stays bounded).
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Password(String);

impl Password {
    /// Checks the length; never echoes the value.
    pub fn parse(s: String) -> Result<Self, DomainError> {
        let n = s.chars().count();
        if n < 12 {
            return Err(DomainError::invalid(
                "password",
                "must be at least 12 characters",
            ));
        }
        if n > 1024 {
            return Err(DomainError::invalid(
                "password",
                "must be at most 1024 characters",
            ));
        }
        Ok(Self(s))
    }
    /// The secret, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Password {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A staff account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// Login name.
    pub username: Username,
    /// How colleagues see them.
    pub display_name: Name,
    /// What they may do.
    pub role: Role,
    /// A deactivated account cannot log in; its history stays.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// An integration's API token as shown (the secret is shown once, at creation, and stored hashed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiToken {
    /// Stable id (also the public part of the token).
    pub id: TokenId,
    /// What it is for ("postfix on mx1").
    pub name: Name,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Who made it.
    pub created_by: Actor,
    /// Made.
    pub created_at: DateTime<Utc>,
    /// After this instant it is refused.
    pub expires_at: Option<DateTime<Utc>>,
    /// Once revoked, refused forever.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Usable now: not revoked and not expired.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// Who did something: a person, an integration token, or Helpline itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Actor {
    /// A staff member.
    User(UserId),
    /// An integration, by token.
    Token(TokenId),
    /// Helpline itself (migrations, scheduled jobs, the command line).
    System,
}

impl Actor {
    /// The user behind the actor, if a person.
    pub fn user_id(self) -> Option<UserId> {
        match self {
            Actor::User(u) => Some(u),
            _ => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User(u) => write!(f, "user:{u}"),
            Actor::Token(t) => write!(f, "token:{t}"),
            Actor::System => f.write_str("system"),
        }
    }
}

impl FromStr for Actor {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "system" {
            return Ok(Actor::System);
        }
        match s.split_once(':') {
            Some(("user", id)) => UserId::parse(id).map(Actor::User),
            Some(("token", id)) => TokenId::parse(id).map(Actor::Token),
            _ => Err(DomainError::invalid(
                "actor",
                "expected user:<id>, token:<id> or system",
            )),
        }
    }
}

impl TryFrom<String> for Actor {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Actor> for String {
    fn from(a: Actor) -> String {
        a.to_string()
    }
}
