//! Staff members' second factors (TOTP secrets) and their recovery codes. The codes are
//! checked by the API; this module keeps the secrets and spends the codes exactly once, on
//! every node sharing the database.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::UserId;
use serde_json::json;

use crate::convert::{from_db, to_db};
use crate::schema::{recovery_codes as rc, second_factors as sf};
use crate::{DbConnection, Result, StoreError, Tx};

/// A member of staff's TOTP secret, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactor {
    /// The shared secret, sealed by the API (`second_factor::SealKey`): never kept in clear.
    pub secret: String,
    /// When a first code proved the authenticator holds it (`None`: enrolment not finished).
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The last time step a code was accepted for: older and equal steps are refused.
    pub last_step: i64,
}

impl SecondFactor {
    /// Whether logins must give a code.
    pub fn confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

/// The second factor of `user`, if one was begun.
pub fn get(conn: &mut DbConnection, user: UserId) -> Result<Option<SecondFactor>> {
    let row = sf::table
        .find(user.to_string())
        .select((sf::secret, sf::confirmed_at, sf::last_step))
        .first::<(String, Option<chrono::NaiveDateTime>, i64)>(conn)
        .optional()?;
    Ok(row.map(|(secret, confirmed_at, last_step)| SecondFactor {
        secret,
        confirmed_at: confirmed_at.map(from_db),
        last_step,
    }))
}

/// Begins an enrolment with a new secret, replacing one not yet confirmed. A confirmed one
/// stays until removed: 409.
pub fn begin(tx: &mut Tx<'_>, user: UserId, secret: &str) -> Result<()> {
    if get(tx.conn, user)?.is_some_and(|f| f.confirmed()) {
        return Err(StoreError::Conflict(
            "a second factor is already set up; remove it first".into(),
        ));
    }
    diesel::delete(sf::table.find(user.to_string())).execute(tx.conn)?;
    diesel::insert_into(sf::table)
        .values((
            sf::user_id.eq(user.to_string()),
            sf::secret.eq(secret),
            sf::confirmed_at.eq(None::<chrono::NaiveDateTime>),
            sf::last_step.eq(0i64),
            sf::created_at.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)?;
    Ok(())
}

/// Finishes an enrolment: the code of time step `step` proved the authenticator; the recovery
/// codes (hashes) replace any earlier ones. Audited (never the secret or the codes).
pub fn confirm(tx: &mut Tx<'_>, user: UserId, step: i64, recovery: Vec<String>) -> Result<()> {
    let n = diesel::update(
        sf::table
            .find(user.to_string())
            .filter(sf::confirmed_at.is_null()),
    )
    .set((
        sf::confirmed_at.eq(Some(to_db(tx.now))),
        sf::last_step.eq(step),
    ))
    .execute(tx.conn)?;
    if n == 0 {
        return Err(StoreError::Conflict(
            "no enrolment to confirm: begin one with POST /api/v1/auth/second-factor".into(),
        ));
    }
    diesel::delete(rc::table.filter(rc::user_id.eq(user.to_string()))).execute(tx.conn)?;
    let count = recovery.len();
    for hash in recovery {
        diesel::insert_into(rc::table)
            .values((
                rc::user_id.eq(user.to_string()),
                rc::code_hash.eq(hash),
                rc::used_at.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(tx.conn)?;
    }
    tx.audit(
        AuditAction::SecondFactorEnrol,
        "user",
        user,
        None,
        json!({"recovery_codes": count}),
    );
    Ok(())
}

/// Accepts a code of time step `step` once: a later step than any accepted before. One
/// conditional `UPDATE`, so that two nodes cannot both accept the same code.
pub fn spend_step(tx: &mut Tx<'_>, user: UserId, step: i64) -> Result<bool> {
    let n = diesel::update(
        sf::table
            .find(user.to_string())
            .filter(sf::confirmed_at.is_not_null())
            .filter(sf::last_step.lt(step)),
    )
    .set(sf::last_step.eq(step))
    .execute(tx.conn)?;
    Ok(n == 1)
}

/// Spends a recovery code (by its hash) once; audited.
pub fn spend_recovery_code(tx: &mut Tx<'_>, user: UserId, hash: &str) -> Result<bool> {
    let n = diesel::update(
        rc::table
            .find((user.to_string(), hash))
            .filter(rc::used_at.is_null()),
    )
    .set(rc::used_at.eq(Some(to_db(tx.now))))
    .execute(tx.conn)?;
    if n == 1 {
        let left: i64 = rc::table
            .filter(rc::user_id.eq(user.to_string()))
            .filter(rc::used_at.is_null())
            .count()
            .get_result(tx.conn)?;
        tx.audit(
            AuditAction::SecondFactorRecovery,
            "user",
            user,
            None,
            json!({"recovery_codes_left": left}),
        );
    }
    Ok(n == 1)
}

/// Removes a member of staff's second factor and recovery codes; audited.
pub fn remove(tx: &mut Tx<'_>, user: UserId) -> Result<()> {
    diesel::delete(rc::table.filter(rc::user_id.eq(user.to_string()))).execute(tx.conn)?;
    let n = diesel::delete(sf::table.find(user.to_string())).execute(tx.conn)?;
    if n == 0 {
        return Err(StoreError::not_found("second factor"));
    }
    tx.audit(
        AuditAction::SecondFactorRemove,
        "user",
        user,
        None,
        json!({}),
    );
    Ok(())
}
