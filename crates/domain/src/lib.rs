//! Helpline's field guide, in types.
//!
//! A digital-security helpline tracks every request for help as a *case*: who asked (the
//! *beneficiary*, vetted before help is given), how urgent it is, what service is wanted, every
//! message exchanged, what was done, what comes next, and who else was involved. This crate
//! names those things and holds the rules between them: which status may follow which, how
//! priority follows from urgency and impact, which role may do what, which case a person may
//! see, and how the audit trail is chained so that tampering shows.
//!
//! It must never do I/O: no database, no HTTP, no clock, no files. Everything here is a value
//! or a pure function, so that the rules can be read and tested on their own. Values with rules
//! are parsed once at the edge (`parse`/`TryFrom`) and trusted afterwards.

pub mod access;
pub mod audit;
pub mod beneficiary;
pub mod case;
mod closed_set;
pub mod error;
pub mod ids;
pub mod indicator;
pub mod link;
pub mod log;
pub mod mail;
pub mod party;
pub mod search;
pub mod taxonomy;
pub mod text;
pub mod user;
pub mod workflow;

pub use error::DomainError;

/// Deserialises `Option<Option<T>>` so that an absent field is `None` (leave it) and `null` is
/// `Some(None)` (clear it): the shape of every patch.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}

/// A record written under optimistic concurrency: its version is its ETag, and a change must
/// name the version it was made from.
pub trait Versioned {
    /// The current version, 1 for a new record.
    fn version(&self) -> i64;
}

macro_rules! versioned {
    ($($t:ty),*) => {
        $(impl Versioned for $t {
            fn version(&self) -> i64 {
                self.version
            }
        })*
    };
}
versioned!(
    case::Case,
    beneficiary::Beneficiary,
    party::Party,
    user::User
);
