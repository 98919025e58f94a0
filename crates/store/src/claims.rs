//! Background work claimed exactly once across the nodes sharing a database.
//!
//! A queue's due rows are taken with one `UPDATE … WHERE key IN (SELECT … FOR UPDATE SKIP
//! LOCKED) RETURNING key`: on Postgres a row another node is claiming at that moment is
//! skipped, not waited for and never taken twice; SQLite has one writer, so the statement alone
//! is enough. The claim is a lease (`claimed_by`, `claimed_until`): recording the outcome
//! clears it in the same transaction; a node that dies leaves it to run out, and another node
//! takes the row over. Periodic scans instead elect one runner per run ([`elected`]).

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::Text;

use crate::convert::to_db;
use crate::sql::{Bind, Sql};
use crate::{DbConnection, Result, Tx};

/// A queue of background work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queue {
    /// Replies waiting for the relay.
    Outbox,
    /// Webhook calls.
    Webhooks,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Queue::Outbox => "outbox",
            Queue::Webhooks => "webhook_deliveries",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Queue::Outbox => "message_id",
            Queue::Webhooks => "id",
        }
    }

    fn waiting(self) -> &'static str {
        match self {
            Queue::Outbox => "state IN ('queued', 'retrying')",
            Queue::Webhooks => "state = 'pending'",
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Key {
    #[diesel(sql_type = Text)]
    k: String,
}

/// Takes up to `limit` rows of `queue` due at the transaction's time for `node`, for `lease`;
/// answers their keys. Rows claimed by a node whose lease has not run out are left alone.
pub(crate) fn claim(
    tx: &mut Tx<'_>,
    queue: Queue,
    node: &str,
    lease: Duration,
    limit: i64,
) -> Result<Vec<String>> {
    let pg = matches!(tx.conn, DbConnection::Pg(_));
    let mut sql = Sql::default();
    sql.push("UPDATE ")
        .push(queue.table())
        .push(" SET claimed_by = ")
        .bind(Bind::Text(node.to_owned()))
        .push(", claimed_until = ")
        .bind(Bind::Time(to_db(tx.now + lease)))
        .push(" WHERE ")
        .push(queue.key())
        .push(" IN (");
    select_due(&mut sql, queue, tx.now);
    sql.push(" ORDER BY next_attempt_at, ")
        .push(queue.key())
        .push(" LIMIT ")
        .bind(Bind::Int(limit));
    if pg {
        sql.push(" FOR UPDATE SKIP LOCKED");
    }
    sql.push(") RETURNING ").push(queue.key()).push(" AS k");
    Ok(sql.load::<Key>(tx.conn)?.into_iter().map(|k| k.k).collect())
}

/// `SELECT key FROM queue WHERE` due at `now` and claimed by no live node: the one statement
/// of what may be claimed.
fn select_due(sql: &mut Sql, queue: Queue, now: DateTime<Utc>) {
    let now = to_db(now);
    sql.push("SELECT ")
        .push(queue.key())
        .push(" AS k FROM ")
        .push(queue.table())
        .push(" WHERE ")
        .push(queue.waiting())
        .push(" AND next_attempt_at <= ")
        .bind(Bind::Time(now))
        .push(" AND (claimed_until IS NULL OR claimed_until < ")
        .bind(Bind::Time(now))
        .push(")");
}

/// Whether any row of `queue` may be claimed at `now`: the cheap look (a read) before
/// claiming (a write).
pub(crate) fn any_due(conn: &mut DbConnection, queue: Queue, now: DateTime<Utc>) -> Result<bool> {
    let mut sql = Sql::default();
    select_due(&mut sql, queue, now);
    sql.push(" LIMIT 1");
    Ok(!sql.load::<Key>(conn)?.is_empty())
}

/// The advisory lock of the breach scan.
pub(crate) const BREACH_SCAN: i64 = 0x4845_4c50_0001;

/// Whether this transaction runs a periodic scan that every node schedules (the breach scan):
/// on Postgres the one that takes a transaction-scoped advisory lock first, the others skip
/// this round; on SQLite (one node) always.
pub(crate) fn elected(conn: &mut DbConnection, scan: i64) -> Result<bool> {
    if !matches!(conn, DbConnection::Pg(_)) {
        return Ok(true);
    }
    #[derive(diesel::QueryableByName)]
    struct Got {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        got: bool,
    }
    let mut sql = Sql::default();
    sql.push("SELECT pg_try_advisory_xact_lock(")
        .bind(Bind::Int(scan))
        .push(") AS got");
    Ok(sql.load::<Got>(conn)?.pop().is_some_and(|g| g.got))
}
