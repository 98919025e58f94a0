//! Conversions between stored columns and domain values, in one place.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use helpline_domain::DomainError;

use crate::StoreError;

/// Postgres keeps microseconds; truncating everywhere makes both backends (and the audit
/// hashes computed over timestamps) agree.
pub(crate) fn truncate(dt: DateTime<Utc>) -> DateTime<Utc> {
    dt.trunc_subsecs(6)
}

/// A UTC instant as stored.
pub(crate) fn to_db(dt: DateTime<Utc>) -> NaiveDateTime {
    truncate(dt).naive_utc()
}

/// A stored instant back to UTC.
pub(crate) fn from_db(n: NaiveDateTime) -> DateTime<Utc> {
    n.and_utc()
}

/// A stored value that no longer reads back means the database was edited outside Helpline.
pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A stored value parsed back into its domain type, or [`corrupt`].
/// An optional stored value parsed back into its domain type; a value the domain refuses is
/// corruption.
pub(crate) fn stored_opt<T>(
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, DomainError>,
) -> Result<Option<T>, StoreError> {
    value.map(parse).transpose().map_err(corrupt)
}

pub(crate) fn stored<T>(r: Result<T, DomainError>) -> Result<T, StoreError> {
    r.map_err(corrupt)
}

/// A reference the caller gave (an assignee, a party) that names nothing is the caller's
/// error (422 on `field`), not a 404 of the resource they were changing.
pub(crate) fn referenced<T>(
    r: Result<T, StoreError>,
    field: &'static str,
    what: &str,
) -> Result<(), StoreError> {
    match r {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(StoreError::Domain(DomainError::invalid(
            field,
            format!("no such {what}"),
        ))),
        Err(e) => Err(e),
    }
}

/// A JSON column back to its value.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(corrupt)
}

/// A value to its JSON column.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(corrupt)
}

/// RFC 3339 with microseconds: the one spelling of instants inside audit hashes.
pub(crate) fn rfc3339(dt: DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Ids read straight from their text column, without a `String` in between: correlation reads
/// thousands of ids a request, and allocating each one cost more than the rest of its work.
/// A value that is not a UUID is a deserialisation error (corruption).
macro_rules! id_from_text {
    ($($id:ty),+) => {$(
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, crate::conn::MultiBackend> for $id {
            fn from_sql(value: crate::conn::MultiRawValue<'_>) -> diesel::deserialize::Result<Self> {
                use crate::conn::MultiRawValue;
                let uuid = match value {
                    MultiRawValue::Sqlite(mut v) => uuid::Uuid::try_parse(v.read_text()),
                    MultiRawValue::Pg(v) => uuid::Uuid::try_parse_ascii(v.as_bytes()),
                }?;
                Ok(<$id>::from_uuid(uuid))
            }
        }
    )+};
}

id_from_text!(
    helpline_domain::ids::CaseId,
    helpline_domain::ids::IndicatorId
);
