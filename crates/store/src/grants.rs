//! Access grants: the users who may see a confidential case besides its assignee and those who
//! see every confidential case.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::{CaseId, UserId};
use serde_json::json;

use crate::cases::check_user;
use crate::convert::{from_db, stored, to_db};
use crate::page::{paginate, Cursor};
use crate::schema::case_access;
use crate::{DbConnection, Page, Result, StoreError, Tx};

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

/// Grants a user access to a case (idempotent: a second grant answers the first).
pub fn grant(tx: &mut Tx<'_>, case: CaseId, user: UserId) -> Result<AccessGrant> {
    check_user(tx, user)?;
    if let Some(first) = grants_where(tx.conn, case, Some(user), None, 1)?
        .items
        .pop()
    {
        return Ok(first);
    }
    let row = GrantRow {
        user_id: user.to_string(),
        granted_by: tx.actor.to_string(),
        granted_at: to_db(tx.now),
    };
    diesel::insert_into(case_access::table)
        .values((case_access::case_id.eq(case.to_string()), &row))
        .execute(tx.conn)?;
    tx.audit(
        AuditAction::CaseGrantAccess,
        "case",
        case,
        Some(case),
        json!({"user_id": user}),
    );
    row.into_grant()
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
        AuditAction::CaseRevokeAccess,
        "case",
        case,
        Some(case),
        json!({"user_id": user}),
    );
    Ok(())
}

/// A grant as stored (its case is the key it is read and written under).
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = case_access, treat_none_as_default_value = false)]
struct GrantRow {
    user_id: String,
    granted_by: String,
    granted_at: NaiveDateTime,
}

impl GrantRow {
    fn into_grant(self) -> Result<AccessGrant> {
        Ok(AccessGrant {
            user_id: stored(UserId::parse(&self.user_id))?,
            granted_by: stored(self.granted_by.parse())?,
            granted_at: from_db(self.granted_at),
        })
    }
}

/// Who was granted access to a case, in the order granted, a page at a time.
pub fn grant_page(
    conn: &mut DbConnection,
    case: CaseId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<AccessGrant>> {
    grants_where(conn, case, None, cursor, limit)
}

fn grants_where(
    conn: &mut DbConnection,
    case: CaseId,
    user: Option<UserId>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<AccessGrant>> {
    let mut q = case_access::table
        .filter(case_access::case_id.eq(case.to_string()))
        .order((case_access::granted_at.asc(), case_access::user_id.asc()))
        .select(GrantRow::as_select())
        .limit(limit.saturating_add(1))
        .into_boxed();
    if let Some(u) = user {
        q = q.filter(case_access::user_id.eq(u.to_string()));
    }
    let q =
        crate::page::after_time_and_id!(q, case_access::granted_at, case_access::user_id, cursor);
    let items = q
        .load::<GrantRow>(conn)?
        .into_iter()
        .map(GrantRow::into_grant)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |g| {
        crate::page::after_time(g.granted_at, g.user_id)
    }))
}
