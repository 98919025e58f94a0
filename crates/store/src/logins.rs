//! Failed logins per account name and per source address, and the version of who may act: what every node sharing the
//! database must agree on at once (a pause after five failures; a revocation or a role change).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::convert::{from_db, to_db};
use crate::schema::{auth_epoch, login_failures as lf};
use crate::sql::{Bind, Sql};
use crate::{DbConnection, Result, Tx};

/// Until when the account is paused, if it is.
pub fn paused_until(conn: &mut DbConnection, account: &str) -> Result<Option<DateTime<Utc>>> {
    Ok(lf::table
        .find(account)
        .select(lf::paused_until)
        .first::<Option<chrono::NaiveDateTime>>(conn)
        .optional()?
        .flatten()
        .map(from_db))
}

/// Whether any failure is counted against the account (a success then clears it).
pub fn any_failures(conn: &mut DbConnection, account: &str) -> Result<bool> {
    Ok(lf::table
        .find(account)
        .select(lf::failures)
        .first::<i32>(conn)
        .optional()?
        .is_some())
}

/// Counts a failure against `key` (an account name, or `address:<ip>`); from the `allowed`-th
/// within `window` of each other on, it waits `pause`. A failure more than `window` after the
/// last one starts the count again. One upsert, so that failures on several nodes at once all
/// count.
pub fn failed(
    tx: &mut Tx<'_>,
    key: &str,
    allowed: i32,
    pause: chrono::Duration,
    window: chrono::Duration,
) -> Result<()> {
    let mut sql = Sql::default();
    sql.push("INSERT INTO login_failures (account, failures, paused_until, last_failed_at) VALUES (")
        .bind(Bind::Text(key.to_owned()))
        .push(", 1, NULL, ")
        .bind(Bind::Time(to_db(tx.now)))
        .push(
            ") ON CONFLICT (account) DO UPDATE SET failures = CASE WHEN login_failures.last_failed_at IS NULL OR login_failures.last_failed_at < ",
        )
        .bind(Bind::Time(to_db(tx.now - window)))
        .push(" THEN 1 ELSE login_failures.failures + 1 END, last_failed_at = excluded.last_failed_at");
    sql.execute(tx.conn)?;
    let mut sql = Sql::default();
    sql.push("UPDATE login_failures SET paused_until = ")
        .bind(Bind::Time(to_db(tx.now + pause)))
        .push(" WHERE account = ")
        .bind(Bind::Text(key.to_owned()))
        .push(" AND failures >= ")
        .bind(Bind::Int(i64::from(allowed)));
    sql.execute(tx.conn)?;
    Ok(())
}

/// Clears the account's count after a successful login.
pub fn succeeded(tx: &mut Tx<'_>, account: &str) -> Result<()> {
    diesel::delete(lf::table.find(account)).execute(tx.conn)?;
    Ok(())
}

/// The version of who may act, moved by every role or activation change, token revoked and
/// session given up or cut off (triggers in the migrations).
pub fn auth_epoch(conn: &mut DbConnection) -> Result<i64> {
    Ok(auth_epoch::table
        .find(1)
        .select(auth_epoch::epoch)
        .first(conn)?)
}
