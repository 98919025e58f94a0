//! Idempotency keys: a POST re-sent with the same key gets the first answer, not a duplicate.

use diesel::prelude::*;

use crate::convert::to_db;
use crate::schema::idempotency_keys as ik;
use crate::{Result, StoreError, Tx};

/// A request's idempotency identity: who sent it, the key, and a hash of what was sent.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    /// The caller (`user:<id>` or `token:<id>`): keys are per caller.
    pub principal: String,
    /// The client's key.
    pub key: String,
    /// SHA-256 of method, path and body.
    pub request_hash: String,
}

/// The first answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
}

/// The stored answer for this key, if the request was seen before; a key reused for another
/// request is an error.
pub fn lookup(tx: &mut Tx<'_>, k: &IdempotencyKey) -> Result<Option<StoredResponse>> {
    let row: Option<(String, i32, String)> = ik::table
        .find((&k.principal, &k.key))
        .select((ik::request_hash, ik::status, ik::response))
        .get_result(tx.conn)
        .optional()?;
    match row {
        None => Ok(None),
        Some((hash, _, _)) if hash != k.request_hash => Err(StoreError::IdempotencyMismatch),
        Some((_, status, body)) => Ok(Some(StoredResponse {
            status: u16::try_from(status).unwrap_or(200),
            body,
        })),
    }
}

/// Remembers the answer, in the same transaction as the change it answers for.
pub fn save(tx: &mut Tx<'_>, k: &IdempotencyKey, resp: &StoredResponse) -> Result<()> {
    let now = to_db(tx.now);
    diesel::insert_into(ik::table)
        .values((
            ik::principal.eq(&k.principal),
            ik::idem_key.eq(&k.key),
            ik::request_hash.eq(&k.request_hash),
            ik::status.eq(i32::from(resp.status)),
            ik::response.eq(&resp.body),
            ik::created_at.eq(now),
        ))
        .execute(tx.conn)
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Conflict(
                    "a request with this Idempotency-Key is still being processed; retry".into(),
                )
            } else {
                e.into()
            }
        })?;
    Ok(())
}

/// Forgets the answers kept for retries of requests made before `cutoff`.
pub fn forget_before(tx: &mut Tx<'_>, cutoff: chrono::DateTime<chrono::Utc>) -> Result<usize> {
    Ok(
        diesel::delete(ik::table.filter(ik::created_at.lt(crate::convert::to_db(cutoff))))
            .execute(tx.conn)?,
    )
}
