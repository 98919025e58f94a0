//! The writer: one thread per process that owns the write connection and commits writes in
//! groups.
//!
//! Writes arrive on a queue. The writer takes everything waiting (up to [`MAX_GROUP`]), runs
//! each in its own savepoint inside one transaction, appends all their audit events to the
//! hash chain once, and commits once; only then does each caller get its answer. Under load
//! this turns N commits into one (SQLite's WAL append, Postgres's WAL flush) and removes the
//! lock contention of many threads fighting for one database writer, while a lone write is
//! committed at once. A write that fails rolls back to its savepoint and leaves the others
//! alone; if the commit fails, nobody is told their write succeeded.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Condvar, Mutex};

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::r2d2::R2D2Connection;
use helpline_domain::user::Actor;

use crate::conn::{Backend, Manager};
use crate::{DbConnection, Result, StoreError, Tx};

/// The most writes committed together.
pub const MAX_GROUP: usize = 128;

/// A queued write: run it, then tell the caller how the group ended.
struct Job {
    actor: Actor,
    now: DateTime<Utc>,
    run: Box<dyn FnOnce(&mut Tx<'_>) -> Ran + Send>,
}

/// What running a job left behind: whether to keep its changes, and how to answer it.
struct Ran {
    ok: bool,
    answer: Box<dyn FnOnce(Option<String>) + Send>,
}

/// A handle to the writer thread; cloned into every `Store`.
#[derive(Clone)]
pub(crate) struct WriterHandle {
    queue: Sender<Job>,
    /// Raised when a write queued cases for the search indexer.
    pub(crate) texts_queued: Signal,
    /// Held only so that the checkpointer stops when the last handle is dropped.
    _checkpointer: Option<Sender<()>>,
}

/// A flag one side raises and another waits on (with a timeout, so a lost wake-up only delays).
#[derive(Clone, Default)]
pub(crate) struct Signal(Arc<(Mutex<bool>, Condvar)>);

impl Signal {
    pub(crate) fn raise(&self) {
        let (lock, cv) = &*self.0;
        let mut up = lock.lock().unwrap_or_else(|p| p.into_inner());
        *up = true;
        cv.notify_all();
    }

    pub(crate) fn wait(&self, timeout: std::time::Duration) {
        let (lock, cv) = &*self.0;
        let mut up = lock.lock().unwrap_or_else(|p| p.into_inner());
        if !*up {
            up = cv
                .wait_timeout(up, timeout)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        *up = false;
    }
}

impl WriterHandle {
    pub(crate) fn submit<T: Send + 'static>(
        &self,
        actor: Actor,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T> + Send + 'static,
        reply: impl FnOnce(Result<T>) + Send + 'static,
    ) {
        let texts_queued = self.texts_queued.clone();
        let run = Box::new(move |tx: &mut Tx<'_>| {
            // Cases whose texts the work changed are queued for the indexer in its savepoint:
            // committed with the change, or not at all.
            let result = f(tx).and_then(|v| crate::search::enqueue(tx).map(|n| (v, n)));
            let result = match result {
                Ok((v, queued)) => {
                    if queued > 0 {
                        texts_queued.raise();
                    }
                    Ok(v)
                }
                Err(e) => Err(e),
            };
            let ok = result.is_ok();
            let answer: Box<dyn FnOnce(Option<String>) + Send> = Box::new(move |failed| {
                reply(match failed {
                    None => result,
                    Some(why) => Err(StoreError::Unavailable(why)),
                })
            });
            Ran { ok, answer }
        });
        // If the writer is gone (shutting down), the job and its reply are dropped unrun, and
        // the caller sees that its write was not committed.
        let _ = self.queue.send(Job { actor, now, run });
    }
}

/// Starts `writers` writer threads, each on its own connection, sharing one queue.
pub(crate) fn spawn(
    manager: Manager,
    backend: Backend,
    pragmas: String,
    writers: u32,
) -> Result<WriterHandle> {
    let (queue, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    let manager = Arc::new(manager);
    let checkpointer = match backend {
        Backend::Sqlite => Some(spawn_checkpointer(manager.clone(), pragmas.clone())?),
        Backend::Postgres => None,
    };
    // On SQLite the checkpointer copies the WAL back; the writer's own automatic checkpoint
    // stays as a backstop, far enough away that it only runs if the checkpointer falls behind.
    let pragmas = match backend {
        Backend::Sqlite => format!("{pragmas} {WRITER_AUTOCHECKPOINT}"),
        Backend::Postgres => pragmas,
    };
    for i in 0..writers {
        let conn = connect(&manager, &pragmas)?;
        let (rx, manager, pragmas) = (rx.clone(), manager.clone(), pragmas.clone());
        std::thread::Builder::new()
            .name(format!("helpline-writer-{i}"))
            .spawn(move || run(&rx, conn, &manager, backend, pragmas))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer: {e}")))?;
    }
    Ok(WriterHandle {
        queue,
        texts_queued: Signal::default(),
        _checkpointer: checkpointer,
    })
}

/// How often the checkpointer copies committed WAL frames back into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// The writer's automatic checkpoint, 100,000 pages (400 MB) away: a backstop only.
const WRITER_AUTOCHECKPOINT: &str = "PRAGMA wal_autocheckpoint = 100000;";

/// Starts the SQLite checkpointer: a thread on its own connection that runs a passive
/// checkpoint every [`CHECKPOINT_EVERY`], until the returned sender and its clones are gone.
///
/// A checkpoint copies pages back and fsyncs the WAL and the database file; run by the commit
/// that crosses `wal_autocheckpoint`, it stalls the one writer and every caller waiting on it
/// (measured under mail load: the writer blocked in fsync while both cores idled a fifth of the
/// time). A passive checkpoint never blocks the writer, which keeps appending meanwhile.
fn spawn_checkpointer(manager: Arc<Manager>, pragmas: String) -> Result<Sender<()>> {
    let (alive, stopped) = mpsc::channel::<()>();
    let mut conn = connect(&manager, &pragmas)?;
    std::thread::Builder::new()
        .name("helpline-checkpointer".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "WAL checkpoint failed; the writer's backstop remains");
                    if let Ok(c) = connect(&manager, &pragmas) {
                        conn = c;
                    }
                }
            }
        })
        .map_err(|e| StoreError::Unavailable(format!("cannot start the checkpointer: {e}")))?;
    Ok(alive)
}

/// Takes the next group: waits for one write, then everything already queued behind it.
fn next_group(rx: &Mutex<Receiver<Job>>) -> Option<Vec<Job>> {
    let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
    let first = rx.recv().ok()?;
    let mut group = vec![first];
    while group.len() < MAX_GROUP {
        match rx.try_recv() {
            Ok(job) => group.push(job),
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
        }
    }
    Some(group)
}

fn connect(manager: &Manager, pragmas: &str) -> Result<DbConnection> {
    let mut c = manager
        .establish()
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    c.batch_execute(pragmas)?;
    Ok(c)
}

fn run(
    rx: &Mutex<Receiver<Job>>,
    mut conn: DbConnection,
    manager: &Manager,
    backend: Backend,
    pragmas: String,
) {
    while let Some(group) = next_group(rx) {
        if conn.is_broken() && reconnect(&mut conn, manager, &pragmas).is_err() {
            fail_all(group, "the database is unreachable");
            continue;
        }
        // A connection that died while idle (Postgres restarted) fails at BEGIN: reconnect once.
        if conn.batch_execute(begin_statement(backend)).is_err()
            && (reconnect(&mut conn, manager, &pragmas).is_err()
                || conn.batch_execute(begin_statement(backend)).is_err())
        {
            fail_all(group, "the database is unreachable");
            continue;
        }
        commit_group(&mut conn, group);
    }
}

fn reconnect(conn: &mut DbConnection, manager: &Manager, pragmas: &str) -> Result<()> {
    *conn = connect(manager, pragmas)?;
    Ok(())
}

fn fail_all(group: Vec<Job>, why: &str) {
    tracing::error!(writes = group.len(), reason = why, "write group failed");
    // Nothing ran. Dropping the jobs drops their replies, so each caller sees that its write
    // was not committed.
    drop(group);
}

fn begin_statement(backend: Backend) -> &'static str {
    match backend {
        // IMMEDIATE takes SQLite's write lock now, not at the first write, so that another
        // process writing meanwhile cannot make this transaction fail half-way.
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    }
}

/// Runs a group inside the transaction already begun, then appends the audit and commits.
fn commit_group(conn: &mut DbConnection, group: Vec<Job>) {
    let mut answers = Vec::with_capacity(group.len());
    let mut events = Vec::new();
    let mut broken: Option<String> = None;
    for job in group {
        if broken.is_some() {
            continue;
        }
        if let Err(e) = conn.batch_execute("SAVEPOINT helpline_write") {
            broken = Some(e.to_string());
            continue;
        }
        let mut tx = Tx {
            conn: &mut *conn,
            actor: job.actor,
            now: job.now,
            events: Vec::new(),
            search_dirty: Vec::new(),
        };
        let ran = catch_unwind(AssertUnwindSafe(|| (job.run)(&mut tx)));
        let job_events = std::mem::take(&mut tx.events);
        let keep = matches!(ran, Ok(Ran { ok: true, .. }));
        let end = if keep {
            "RELEASE SAVEPOINT helpline_write"
        } else {
            "ROLLBACK TO SAVEPOINT helpline_write; RELEASE SAVEPOINT helpline_write"
        };
        if let Err(e) = conn.batch_execute(end) {
            broken = Some(e.to_string());
        }
        if keep {
            events.extend(job_events);
        }
        match ran {
            Ok(r) => answers.push(r.answer),
            Err(_) => tracing::error!("a write panicked; it was rolled back"),
        }
    }
    let outcome = match broken {
        Some(why) => Err(why),
        None => crate::audit::append(conn, events)
            .map_err(|e| e.to_string())
            .and_then(|()| conn.batch_execute("COMMIT").map_err(|e| e.to_string())),
    };
    match outcome {
        Ok(()) => answers.into_iter().for_each(|a| a(None)),
        Err(why) => {
            let _ = conn.batch_execute("ROLLBACK");
            tracing::error!(writes = answers.len(), reason = %why, "write group rolled back");
            answers
                .into_iter()
                .for_each(|a| a(Some(format!("the write was not committed: {why}"))));
        }
    }
}
