//! Staff access tokens given up before they expire: the deny list every node reads.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::UserId;
use serde_json::json;

use crate::convert::to_db;
use crate::schema::revoked_sessions as rs;
use crate::{DbConnection, Result, Tx};

/// Refuses the token `jti` (of `user`, valid until `expires_at`) from now on; audited. Entries
/// past their expiry are forgotten on the way: the token would be refused anyway.
pub fn revoke(tx: &mut Tx<'_>, jti: &str, user: UserId, expires_at: DateTime<Utc>) -> Result<()> {
    diesel::delete(rs::table.filter(rs::expires_at.lt(to_db(tx.now)))).execute(tx.conn)?;
    // Writes are serialised (one writer, or this transaction's row): look, then add.
    if is_revoked(tx.conn, jti)? {
        return Ok(());
    }
    diesel::insert_into(rs::table)
        .values((
            rs::jti.eq(jti),
            rs::user_id.eq(user.to_string()),
            rs::expires_at.eq(to_db(expires_at)),
            rs::revoked_at.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)
        .or_else(|e| {
            // The same token given up twice at once on two nodes: it is revoked either way.
            if crate::StoreError::is_unique_violation(&e) {
                Ok(0)
            } else {
                Err(e)
            }
        })?;
    // The token's id, never the token.
    tx.audit(
        AuditAction::SessionRevoke,
        "user",
        user,
        None,
        json!({"jti": jti}),
    );
    Ok(())
}

/// Whether the token `jti` was given up.
pub fn is_revoked(conn: &mut DbConnection, jti: &str) -> Result<bool> {
    Ok(rs::table
        .find(jti)
        .select(rs::jti)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Refuses every access token of `user` issued until now (an account deactivated); audited.
pub fn cut_off(tx: &mut Tx<'_>, user: UserId) -> Result<()> {
    use crate::schema::session_cutoffs as sc;
    diesel::delete(sc::table.find(user.to_string())).execute(tx.conn)?;
    diesel::insert_into(sc::table)
        .values((
            sc::user_id.eq(user.to_string()),
            sc::not_before.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)?;
    tx.audit(AuditAction::SessionCutoff, "user", user, None, json!({}));
    Ok(())
}

/// The instant before which `user`'s access tokens are refused, if one was set.
pub fn not_before(conn: &mut DbConnection, user: UserId) -> Result<Option<DateTime<Utc>>> {
    use crate::schema::session_cutoffs as sc;
    Ok(sc::table
        .find(user.to_string())
        .select(sc::not_before)
        .first::<chrono::NaiveDateTime>(conn)
        .optional()?
        .map(crate::convert::from_db))
}
