//! Access grants: the users who may see a confidential case besides its assignee and those who
//! see every confidential case.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::ids::{CaseId, UserId};
use serde_json::json;

use crate::cases::{check_user, is_granted};
use crate::convert::{from_db, stored, to_db};
use crate::schema::case_access;
use crate::{DbConnection, Result, StoreError, Tx};

/// A user granted access to a confidential case.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AccessGrant {
    /// The user.
    pub user_id: UserId,
    /// Who granted it.
    pub granted_by: helpline_domain::user::Actor,
    /// When.
    pub granted_at: DateTime<Utc>,
}

/// Grants a user access to a case (idempotent).
pub fn grant(tx: &mut Tx<'_>, case: CaseId, user: UserId) -> Result<AccessGrant> {
    check_user(tx, user)?;
    if !is_granted(tx.conn, case, Some(user))? {
        diesel::insert_into(case_access::table)
            .values((
                case_access::case_id.eq(case.to_string()),
                case_access::user_id.eq(user.to_string()),
                case_access::granted_by.eq(tx.actor.to_string()),
                case_access::granted_at.eq(to_db(tx.now)),
            ))
            .execute(tx.conn)?;
        tx.audit(
            "case.grant_access",
            "case",
            case,
            Some(case),
            json!({"user_id": user}),
        );
    }
    grants(tx.conn, case)?
        .into_iter()
        .find(|g| g.user_id == user)
        .ok_or(StoreError::not_found("grant"))
}

/// Withdraws a user's access.
pub fn revoke(tx: &mut Tx<'_>, case: CaseId, user: UserId) -> Result<()> {
    let n = diesel::delete(
        case_access::table
            .filter(case_access::case_id.eq(case.to_string()))
            .filter(case_access::user_id.eq(user.to_string())),
    )
    .execute(tx.conn)?;
    if n == 0 {
        return Err(StoreError::not_found("grant"));
    }
    tx.audit(
        "case.revoke_access",
        "case",
        case,
        Some(case),
        json!({"user_id": user}),
    );
    Ok(())
}

/// Who was granted access to a case.
pub fn grants(conn: &mut DbConnection, case: CaseId) -> Result<Vec<AccessGrant>> {
    let rows: Vec<(String, String, NaiveDateTime)> = case_access::table
        .filter(case_access::case_id.eq(case.to_string()))
        .select((
            case_access::user_id,
            case_access::granted_by,
            case_access::granted_at,
        ))
        .order(case_access::granted_at.asc())
        .load(conn)?;
    rows.into_iter()
        .map(|(u, by, at)| {
            Ok(AccessGrant {
                user_id: stored(UserId::parse(&u))?,
                granted_by: stored(by.parse())?,
                granted_at: from_db(at),
            })
        })
        .collect()
}
