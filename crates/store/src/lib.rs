//! Helpline's storage: one code path over SQLite (the embedded default) and PostgreSQL.
//!
//! Everything goes through diesel on a [`DbConnection`] that is either backend, from an r2d2
//! pool. Columns are portable (TEXT ids, BIGINT, BOOLEAN, TIMESTAMP in UTC), the SQL
//! migrations exist once per backend under `migrations/` and run at start-up. Every write runs
//! in a [`Tx`], which appends its audit events to the hash chain in the same transaction, so a
//! change and its record commit or vanish together.
//!
//! This crate must never decide who may do what (that is the domain's access matrix, applied by
//! the API) nor log beneficiary data: its errors name entities and ids, never names or bodies.

pub mod analysis;
pub mod audit;
pub mod backup;
pub mod beneficiaries;
pub mod case_log;
pub mod cases;
mod claims;
mod conn;
mod convert;
#[cfg(feature = "demo")]
pub mod demo;
mod error;
pub mod evidence;
pub mod grants;
pub mod idempotency;
pub mod logins;
pub mod mail;
pub mod merge;
pub mod page;
pub mod parties;
pub mod preferences;
pub mod retention;
pub mod schema;
pub mod search;
pub mod second_factors;
pub mod sessions;
pub(crate) mod sql;
pub mod stats;
pub mod timeline;
pub mod tokens;
pub mod users;
mod visibility;
pub mod workflow;
mod writer;

pub use conn::{
    migrate, migrate_redo_all, redact_url, Backend, DbConnection, Store, StoreConfig, Tx,
};
pub use error::StoreError;
pub use page::{Cursor, Page};

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
