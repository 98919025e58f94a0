//! The store's typed errors. The API maps each to one HTTP problem, in one place.

use helpline_domain::DomainError;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such entity (or not visible to the caller: the two are indistinguishable on purpose).
    #[error("{entity} not found")]
    NotFound {
        /// Which kind of entity.
        entity: &'static str,
    },
    /// The entity changed since the caller read it.
    #[error("{entity} was changed by someone else (now at version {current}); reload and retry")]
    VersionMismatch {
        /// Which kind of entity.
        entity: &'static str,
        /// The version now stored.
        current: i64,
    },
    /// A uniqueness rule would be broken (email already used, username taken, ...).
    #[error("{0}")]
    Conflict(String),
    /// A value or change the domain refuses.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A stored value no longer parses: the database was changed outside Helpline.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The same idempotency key was used for a different request.
    #[error("this Idempotency-Key was already used for a different request")]
    IdempotencyMismatch,
    /// The database URL names no backend Helpline knows.
    #[error("unsupported database URL: {0} (expected sqlite://PATH or postgres://...)")]
    UnsupportedUrl(String),
    /// A migration failed; the name says which.
    #[error("migration failed: {0}")]
    Migration(String),
    /// No connection could be had.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
}

impl StoreError {
    /// Shorthand for [`StoreError::NotFound`].
    pub fn not_found(entity: &'static str) -> Self {
        Self::NotFound { entity }
    }

    /// Whether the error is the database's unique-constraint violation.
    pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
        matches!(
            e,
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            )
        )
    }
}

impl StoreError {
    /// Whether the error is a foreign-key violation (SQLite reports it without a kind).
    pub fn is_foreign_key_violation(e: &diesel::result::Error) -> bool {
        match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            ) => true,
            diesel::result::Error::DatabaseError(_, info) => {
                info.message().contains("FOREIGN KEY constraint failed")
            }
            _ => false,
        }
    }
}

impl From<r2d2_error::PoolError> for StoreError {
    fn from(e: r2d2_error::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// r2d2's error type, re-exported through diesel.
pub(crate) mod r2d2_error {
    pub use diesel::r2d2::PoolError;
}

/// Refuses a change made from version `expected` of a record now at `current` (409, naming the
/// current version so the client can read it again).
pub(crate) fn check_version(
    entity: &'static str,
    current: i64,
    expected: i64,
) -> Result<(), StoreError> {
    if current == expected {
        Ok(())
    } else {
        Err(StoreError::VersionMismatch { entity, current })
    }
}

/// Checks that a versioned `UPDATE … WHERE version = expected` wrote its row: none written
/// means another transaction committed a new version between our read and our write.
pub(crate) fn written(entity: &'static str, rows: usize, expected: i64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::VersionMismatch {
            entity,
            current: expected + 1,
        })
    } else {
        Ok(())
    }
}
