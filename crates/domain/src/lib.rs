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

/// Deserialises an optional field that may be left out but is never `null` (the spec gives it a
/// type without null, so a `null` is refused, not read as "left out").
pub fn given<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Deserialises a count as JSON Schema reads an `integer`: `4` and `4.0` alike, never `4.5`.
pub fn whole<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::de::Error;
    let n = <f64 as serde::Deserialize>::deserialize(d)?;
    if n.fract() != 0.0 || !(0.0..=9_007_199_254_740_992.0).contains(&n) {
        return Err(D::Error::custom(format!(
            "expected a whole number, not {n}"
        )));
    }
    // Whole and within 2^53: the cast is exact.
    T::try_from(n as u64).map_err(|_| D::Error::custom(format!("{n} is out of range")))
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
