//! Integration tokens: scoped, optionally expiring, revocable, stored hashed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::TokenId;
use helpline_domain::text::Name;
use helpline_domain::user::{ApiToken, Scope};
use serde_json::json;

use crate::convert::{from_db, from_json, stored, to_db, to_json};
use crate::page::{paginate, Cursor};
use crate::schema::api_tokens;
use crate::{DbConnection, Page, Result, StoreError, Tx};

#[derive(Queryable, Insertable)]
#[diesel(table_name = api_tokens, treat_none_as_default_value = false)]
struct Row {
    id: String,
    name: String,
    scopes: String,
    secret_hash: String,
    created_by: String,
    created_at: chrono::NaiveDateTime,
    expires_at: Option<chrono::NaiveDateTime>,
    revoked_at: Option<chrono::NaiveDateTime>,
}

impl Row {
    fn into_token(self) -> Result<(ApiToken, String)> {
        Ok((
            ApiToken {
                id: stored(TokenId::parse(&self.id))?,
                name: stored(Name::parse(self.name))?,
                scopes: from_json(&self.scopes)?,
                created_by: stored(self.created_by.parse())?,
                created_at: from_db(self.created_at),
                expires_at: self.expires_at.map(from_db),
                revoked_at: self.revoked_at.map(from_db),
            },
            self.secret_hash,
        ))
    }
}

/// Stores a token whose secret was generated and hashed by the caller.
pub fn create(
    tx: &mut Tx<'_>,
    id: TokenId,
    name: Name,
    scopes: Vec<Scope>,
    secret_hash: String,
    expires_at: Option<DateTime<Utc>>,
) -> Result<ApiToken> {
    let row = Row {
        id: id.to_string(),
        name: name.as_str().to_owned(),
        scopes: to_json(&scopes)?,
        secret_hash,
        created_by: tx.actor.to_string(),
        created_at: to_db(tx.now),
        expires_at: expires_at.map(to_db),
        revoked_at: None,
    };
    diesel::insert_into(api_tokens::table)
        .values(&row)
        .execute(tx.conn)?;
    let (token, _) = row.into_token()?;
    tx.audit(
        AuditAction::TokenCreate,
        "token",
        id,
        None,
        json!({"name": token.name, "scopes": token.scopes, "expires_at": token.expires_at}),
    );
    Ok(token)
}

/// A token and its secret hash, for authentication.
pub fn find(conn: &mut DbConnection, id: TokenId) -> Result<Option<(ApiToken, String)>> {
    api_tokens::table
        .find(id.to_string())
        .get_result::<Row>(conn)
        .optional()?
        .map(Row::into_token)
        .transpose()
}

/// Every token, newest first (secrets are never shown again).
pub fn list(
    conn: &mut DbConnection,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<ApiToken>> {
    let mut q = api_tokens::table
        .order(api_tokens::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(c) = cursor {
        q = q.filter(api_tokens::id.lt(c.id.clone()));
    }
    let items = q
        .load::<Row>(conn)?
        .into_iter()
        .map(|r| r.into_token().map(|(t, _)| t))
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |t| crate::page::after_id(t.id)))
}

/// Revokes a token for good (revoking twice is harmless and recorded once).
pub fn revoke(tx: &mut Tx<'_>, id: TokenId) -> Result<ApiToken> {
    let (mut token, _) = find(tx.conn, id)?.ok_or(StoreError::not_found("token"))?;
    if token.revoked_at.is_none() {
        diesel::update(api_tokens::table.find(id.to_string()))
            .set(api_tokens::revoked_at.eq(Some(to_db(tx.now))))
            .execute(tx.conn)?;
        token.revoked_at = Some(tx.now);
        tx.audit(
            AuditAction::TokenRevoke,
            "token",
            id,
            None,
            json!({"name": token.name}),
        );
    }
    Ok(token)
}
