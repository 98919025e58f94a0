//! Raw bytes (mails, attachments, evidence) kept once, content-addressed by SHA-256, in the
//! database so that every API node sees them.

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::convert::to_db;
use crate::schema::blobs;
use crate::{DbConnection, Result, StoreError, Tx};

/// Stores bytes once under their SHA-256; returns the hex hash.
pub fn put_blob(tx: &mut Tx<'_>, data: &[u8]) -> Result<String> {
    let sha = hex::encode(Sha256::digest(data));
    let exists: Option<String> = blobs::table
        .find(&sha)
        .select(blobs::sha256)
        .get_result(tx.conn)
        .optional()?;
    if exists.is_none() {
        diesel::insert_into(blobs::table)
            .values((
                blobs::sha256.eq(&sha),
                blobs::size.eq(i64::try_from(data.len()).unwrap_or(i64::MAX)),
                blobs::data.eq(data),
                blobs::created_at.eq(to_db(tx.now)),
            ))
            .execute(tx.conn)?;
    }
    Ok(sha)
}

/// The bytes stored under a hash.
pub fn blob(conn: &mut DbConnection, sha256: &str) -> Result<Vec<u8>> {
    blobs::table
        .find(sha256)
        .select(blobs::data)
        .get_result(conn)
        .optional()?
        .ok_or(StoreError::not_found("blob"))
}
