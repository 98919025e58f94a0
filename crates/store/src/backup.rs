//! Keeping a copy: SQLite's online backup, and the lock that keeps one node on a SQLite file.
//! (PostgreSQL is backed up with its own `pg_dump`, run by the binary.)

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::conn::Backend;
use crate::sql::{Bind, Sql};
use crate::{DbConnection, Result, StoreError};

/// Writes a consistent copy of a live SQLite database to `to` (a new file) with `VACUUM INTO`:
/// one read transaction, so writes go on meanwhile and the copy is as of its start.
pub fn sqlite_copy(conn: &mut DbConnection, to: &Path) -> Result<()> {
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return Err(StoreError::UnsupportedUrl(
            "an online copy is for SQLite; back PostgreSQL up with pg_dump".into(),
        ));
    }
    if to.exists() {
        return Err(StoreError::Conflict(format!(
            "{} exists; a backup never overwrites",
            to.display()
        )));
    }
    let mut sql = Sql::default();
    sql.push("VACUUM INTO ")
        .bind(Bind::Text(to.to_string_lossy().into_owned()));
    sql.execute(conn)?;
    Ok(())
}

/// The file of a SQLite database URL (`None` for PostgreSQL).
pub fn sqlite_file(url: &str) -> Result<Option<PathBuf>> {
    Ok(match Backend::from_url(url)? {
        (Backend::Sqlite, path) => Some(PathBuf::from(path)),
        (Backend::Postgres, _) => None,
    })
}

/// Held by the one node serving a SQLite database (an OS lock on `<file>.node-lock`, released
/// when the node stops or dies): SQLite has one writer, so a second node on the same file is
/// refused at start-up, saying why. PostgreSQL takes any number of nodes.
#[derive(Debug)]
pub struct NodeLock {
    _file: File,
}

/// Takes the node lock of the database at `url` (nothing to take for PostgreSQL).
pub fn node_lock(url: &str) -> Result<Option<NodeLock>> {
    let Some(db) = sqlite_file(url)? else {
        return Ok(None);
    };
    let path = lock_path(&db);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(NodeLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Unavailable(format!(
            "another helpline node is serving {}: SQLite keeps one node (run several on PostgreSQL)",
            db.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Unavailable(format!(
            "{}: {e}",
            path.display()
        ))),
    }
}

fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".node-lock");
    PathBuf::from(name)
}
