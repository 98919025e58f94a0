//! The one error type of the domain: a value that breaks a rule.

use crate::case::CaseStatus;

/// A value or a change that the helpline's rules refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A value that does not parse as what it claims to be.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was being parsed ("email address", "case reference", ...).
        what: &'static str,
        /// Why it was refused, in words a handler understands.
        reason: String,
    },
    /// A status change the case workflow does not allow.
    #[error("a case cannot go from `{from}` to `{to}`; from `{from}` it may go to: {allowed}")]
    IllegalTransition {
        /// The current status.
        from: CaseStatus,
        /// The status asked for.
        to: CaseStatus,
        /// The statuses that would be allowed, comma-separated.
        allowed: String,
    },
    /// A change that is well-formed but not allowed in the current state.
    #[error("{0}")]
    Conflict(String),
    /// A change this caller's role may not make, whatever the state.
    #[error("{0}")]
    NotAllowed(String),
}

impl DomainError {
    /// Shorthand for [`DomainError::Invalid`].
    pub fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            reason: reason.into(),
        }
    }
}
