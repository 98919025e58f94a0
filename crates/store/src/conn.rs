//! Connections, the pool, migrations and the write transaction.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use helpline_domain::ids::CaseId;
use helpline_domain::user::Actor;

use crate::audit::AuditRecord;
use crate::{Result, StoreError};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// A connection to either backend; every query in Helpline is written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// The embedded default.
    Sqlite(SqliteConnection),
    /// For helplines that outgrow one machine.
    Pg(PgConnection),
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://PATH`.
    Sqlite,
    /// `postgres://...` or `postgresql://...`.
    Postgres,
}

impl Backend {
    /// Picks the backend from the URL scheme; diesel would accept any string as a SQLite path.
    pub fn from_url(url: &str) -> Result<(Backend, String)> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok((Backend::Postgres, url.to_owned()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() || path.starts_with(":memory:") {
                return Err(StoreError::UnsupportedUrl(
                    "sqlite:// needs a file path (an in-memory database would lose everything)"
                        .into(),
                ));
            }
            return Ok((Backend::Sqlite, path.to_owned()));
        }
        Err(StoreError::UnsupportedUrl(redact_url(url)))
    }

    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A URL with any password removed, safe to log.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://PATH` or `postgres://...`.
    pub url: String,
    /// Connections in the pool.
    pub pool_size: u32,
    /// SQLite `synchronous`: `normal` (survives a process crash) or `full` (survives power loss).
    pub sqlite_synchronous: String,
    /// Writer connections on Postgres (SQLite always has one).
    pub postgres_writers: u32,
}

pub(crate) struct Manager {
    backend: Backend,
    target: String,
}

impl Manager {
    pub(crate) fn establish(&self) -> std::result::Result<DbConnection, diesel::ConnectionError> {
        match self.backend {
            Backend::Sqlite => SqliteConnection::establish(&self.target).map(DbConnection::Sqlite),
            Backend::Postgres => PgConnection::establish(&self.target).map(DbConnection::Pg),
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> std::result::Result<DbConnection, Self::Error> {
        self.establish()
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> std::result::Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

#[derive(Debug)]
struct SessionSetup(String);

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SessionSetup {
    fn on_acquire(&self, conn: &mut DbConnection) -> std::result::Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&self.0)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The database behind Helpline: a pool for reads, and one writer thread that commits writes
/// in groups (see [`crate::writer`]).
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    backend: Backend,
    writer: crate::writer::WriterHandle,
}

impl Store {
    /// Opens the database named by `cfg.url`, creating a SQLite file (and its folder) if needed,
    /// and runs pending migrations.
    pub fn open(cfg: &StoreConfig) -> Result<Store> {
        let (backend, target) = Backend::from_url(&cfg.url)?;
        if backend == Backend::Sqlite {
            if let Some(dir) = Path::new(&target).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
            }
        }
        migrate(&cfg.url)?;
        let sync = match cfg.sqlite_synchronous.to_ascii_lowercase().as_str() {
            "full" => "FULL",
            "normal" => "NORMAL",
            other => {
                return Err(StoreError::Unavailable(format!(
                    "sqlite_synchronous must be `normal` or `full`, not `{other}`"
                )))
            }
        };
        // No ping on every checkout: a broken connection is noticed by `has_broken` instead,
        // and the ping would cost a round trip per request.
        let mut builder = Pool::builder()
            .test_on_check_out(false)
            .max_size(cfg.pool_size.max(1))
            .connection_timeout(Duration::from_secs(30));
        builder = builder.connection_customizer(Box::new(SessionSetup(pragmas_for(backend, sync))));
        let pool = builder
            .build(Manager {
                backend,
                target: target.clone(),
            })
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        // SQLite has one writer at a time; Postgres takes several, whose groups overlap except
        // for the audit head and the commit.
        let writers = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => cfg.postgres_writers.max(1),
        };
        let writer = crate::writer::spawn(
            Manager { backend, target },
            backend,
            pragmas_for(backend, sync),
            writers,
        )?;
        Ok(Store {
            pool,
            backend,
            writer,
        })
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs read-only work on a pooled connection.
    pub fn read<T>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }

    /// Whether the database answers.
    pub fn ping(&self) -> Result<()> {
        let mut conn = self.pool.get()?;
        conn.ping().map(|_| ()).map_err(StoreError::from)
    }

    /// Runs `f` in a transaction on the writer thread, as `actor` at `now`, and waits for the
    /// commit. The audit events `f` records are appended to the chain in the same transaction,
    /// so the change and its record land together; an `Ok` is only returned once committed.
    pub fn write<T: Send + 'static>(
        &self,
        actor: Actor,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.submit(actor, now, f, move |r| {
            let _ = tx.send(r);
        });
        rx.recv()
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the writer stopped".into())))
    }

    /// Queues `f` for the writer thread; `reply` gets its result once the group it was
    /// committed with is durable (or the reason it is not).
    pub fn submit<T: Send + 'static>(
        &self,
        actor: Actor,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
        reply: impl FnOnce(Result<T>) + Send + 'static,
    ) {
        self.writer
            .submit(actor, crate::convert::truncate(now), f, reply);
    }

    /// Waits until a write queued cases for the search indexer, or `timeout` passes.
    pub fn wait_for_search_work(&self, timeout: Duration) {
        self.writer.texts_queued.wait(timeout);
    }
}

/// The per-connection set-up: SQLite's pragmas, PostgreSQL's session settings.
///
/// The server's own writer leaves checkpoints to the checkpointer thread (see `writer`); for
/// any other connection that writes (an admin command's), the WAL is checkpointed every 8,000
/// pages (32 MB) rather than SQLite's 1,000: the pages every write touches (indexes, the audit
/// head) are copied back once per checkpoint, so fewer, larger checkpoints copy less.
fn pragmas_for(backend: Backend, sync: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
             PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; \
             PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY; \
             PRAGMA wal_autocheckpoint = 8000;"
        ),
        // No parallel workers: a statement prepared once is planned for any value after five
        // runs, and such a generic plan of the leads' queue guessed 39,000 rows where there
        // were 2,000 and started two workers for it — 11 ms of a 2 ms query, on the cores the
        // other requests were waiting for.
        Backend::Postgres => "SET max_parallel_workers_per_gather = 0".to_owned(),
    }
}

/// A write transaction: the connection, who is acting, the instant, and the audit events to
/// append at commit.
pub struct Tx<'c> {
    /// The connection, inside the transaction.
    pub conn: &'c mut DbConnection,
    /// Who is acting.
    pub actor: Actor,
    /// The instant of the change (microsecond precision, UTC).
    pub now: DateTime<Utc>,
    pub(crate) events: Vec<AuditRecord>,
    /// Cases whose searchable texts this work changed: queued for the search indexer when the
    /// work ends, in its transaction.
    pub(crate) search_dirty: Vec<CaseId>,
}

impl Tx<'_> {
    /// Runs `f` in a savepoint: if it fails, what it wrote and the audit events it recorded
    /// are undone, and the transaction goes on (for a fallback such as the mail quarantine).
    pub fn attempt<T>(
        &mut self,
        f: impl FnOnce(&mut Tx<'_>) -> crate::Result<T>,
    ) -> crate::Result<T> {
        use diesel::RunQueryDsl;
        let events = self.events.len();
        let dirty = self.search_dirty.len();
        diesel::sql_query("SAVEPOINT hl_attempt").execute(self.conn)?;
        match f(self) {
            Ok(v) => {
                diesel::sql_query("RELEASE SAVEPOINT hl_attempt").execute(self.conn)?;
                Ok(v)
            }
            Err(e) => {
                diesel::sql_query("ROLLBACK TO SAVEPOINT hl_attempt").execute(self.conn)?;
                diesel::sql_query("RELEASE SAVEPOINT hl_attempt").execute(self.conn)?;
                self.events.truncate(events);
                self.search_dirty.truncate(dirty);
                Err(e)
            }
        }
    }

    /// Notes that a case's searchable texts (summary, description, messages, comments)
    /// changed; its search document is rebuilt off the write path, once however often it is
    /// noted.
    pub fn texts_changed(&mut self, case: CaseId) {
        if !self.search_dirty.contains(&case) {
            self.search_dirty.push(case);
        }
    }

    /// Records an audit event for this transaction.
    pub fn audit(
        &mut self,
        action: helpline_domain::audit::AuditAction,
        entity_type: &str,
        entity_id: impl ToString,
        case_id: Option<CaseId>,
        changes: serde_json::Value,
    ) {
        self.events.push(AuditRecord {
            occurred_at: self.now,
            actor: self.actor,
            action: action.as_str().to_owned(),
            entity_type: entity_type.to_owned(),
            entity_id: entity_id.to_string(),
            case_id,
            changes,
        });
    }
}

/// Runs pending migrations on the database named by `url`; returns the names applied.
pub fn migrate(url: &str) -> Result<Vec<String>> {
    let (backend, target) = Backend::from_url(url)?;
    let fail = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    let applied = match backend {
        Backend::Sqlite => {
            let mut c = SqliteConnection::establish(&target)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            c.batch_execute(
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;",
            )?;
            names(c.run_pending_migrations(SQLITE_MIGRATIONS).map_err(fail)?)
        }
        Backend::Postgres => {
            let mut c = PgConnection::establish(&target)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            names(
                c.run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map_err(fail)?,
            )
        }
    };
    Ok(applied)
}

fn names(v: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    v.iter().map(|v| v.to_string()).collect()
}

/// Reverts every migration and applies them again: the round trip that proves `down.sql`.
pub fn migrate_redo_all(url: &str) -> Result<usize> {
    let (backend, target) = Backend::from_url(url)?;
    let fail = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    match backend {
        Backend::Sqlite => {
            let mut c = SqliteConnection::establish(&target)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            c.run_pending_migrations(SQLITE_MIGRATIONS).map_err(fail)?;
            let reverted = c
                .revert_all_migrations(SQLITE_MIGRATIONS)
                .map_err(fail)?
                .len();
            c.run_pending_migrations(SQLITE_MIGRATIONS).map_err(fail)?;
            Ok(reverted)
        }
        Backend::Postgres => {
            let mut c = PgConnection::establish(&target)
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            c.run_pending_migrations(POSTGRES_MIGRATIONS)
                .map_err(fail)?;
            let reverted = c
                .revert_all_migrations(POSTGRES_MIGRATIONS)
                .map_err(fail)?
                .len();
            c.run_pending_migrations(POSTGRES_MIGRATIONS)
                .map_err(fail)?;
            Ok(reverted)
        }
    }
}
