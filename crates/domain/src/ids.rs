//! One identifier type per entity, so that a beneficiary id can never be passed as a case id.
//!
//! Every id is a UUIDv7: time-ordered, so that keyset pagination on the id is pagination by
//! creation time, and unguessable enough that ids can appear in URLs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::DomainError;

macro_rules! entity_id {
    ($(#[$doc:meta] $name:ident, $what:literal;)+) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// Wraps an existing UUID (as read back from storage).
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            /// The UUID inside.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
            /// Parses the canonical hyphenated form.
            pub fn parse(s: &str) -> Result<Self, DomainError> {
                Uuid::try_parse(s)
                    .map(Self)
                    .map_err(|_| DomainError::invalid($what, format!("`{}` is not a UUID", truncate(s))))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    )+};
}

entity_id! {
    /// Identifies a case.
    CaseId, "case id";
    /// Identifies a beneficiary.
    BeneficiaryId, "beneficiary id";
    /// Identifies a staff account.
    UserId, "user id";
    /// Identifies an API token.
    TokenId, "token id";
    /// Identifies another party (intermediary, platform, partner).
    PartyId, "party id";
    /// Identifies a message in a case log.
    MessageId, "message id";
    /// Identifies an internal comment.
    CommentId, "comment id";
    /// Identifies an action taken.
    ActionId, "action id";
    /// Identifies a next step.
    NextStepId, "next step id";
    /// Identifies a verification record of a beneficiary.
    VerificationId, "verification id";
    /// Identifies an audit event.
    AuditEventId, "audit event id";
    /// Identifies an evidence item.
    EvidenceId, "evidence id";
    /// Identifies a message received from a mail gateway (threaded or quarantined).
    InboundMailId, "inbound mail id";
    /// Identifies a certificate held for a beneficiary.
    CertificateId, "certificate id";
    /// Identifies an indicator (one per canonical value, system-wide).
    IndicatorId, "indicator id";
}

/// Shortens user input quoted back in an error, so a megabyte of garbage is not echoed.
pub(crate) fn truncate(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}
