//! Handlers' internal comments, never sent to anyone.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::{CaseId, CommentId};
use helpline_domain::log::Comment;
use helpline_domain::text::Body;
use serde_json::json;

use crate::convert::{from_db, stored, to_db};
use crate::page::{paginate, Cursor};
use crate::schema::comments;
use crate::{DbConnection, Page, Result, Tx};

use super::after;

#[derive(Queryable, Insertable)]
#[diesel(table_name = comments, treat_none_as_default_value = false)]
pub(crate) struct CommentRow {
    id: String,
    case_id: String,
    author: String,
    body: String,
    created_at: NaiveDateTime,
}

impl CommentRow {
    pub(crate) fn into_comment(self) -> Result<Comment> {
        Ok(Comment {
            id: stored(CommentId::parse(&self.id))?,
            case_id: stored(CaseId::parse(&self.case_id))?,
            author: stored(self.author.parse())?,
            body: stored(Body::parse(self.body))?,
            created_at: from_db(self.created_at),
        })
    }
}

/// Adds an internal comment.
pub fn add_comment(tx: &mut Tx<'_>, case: CaseId, body: Body) -> Result<Comment> {
    let x = Comment {
        id: CommentId::new(),
        case_id: case,
        author: tx.actor,
        body,
        created_at: tx.now,
    };
    diesel::insert_into(comments::table)
        .values(CommentRow {
            id: x.id.to_string(),
            case_id: case.to_string(),
            author: tx.actor.to_string(),
            body: x.body.as_str().to_owned(),
            created_at: to_db(tx.now),
        })
        .execute(tx.conn)?;
    tx.audit(
        AuditAction::CommentCreate,
        "comment",
        x.id,
        Some(case),
        json!({}),
    );
    tx.texts_changed(case);
    Ok(x)
}

/// A case's comments in order.
pub fn comments(
    conn: &mut DbConnection,
    case: CaseId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Comment>> {
    let rows: Vec<CommentRow> = comments::table
        .filter(comments::case_id.eq(case.to_string()))
        .filter(comments::id.gt(after(cursor)))
        .order(comments::id.asc())
        .limit(limit + 1)
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(CommentRow::into_comment)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |x| crate::page::after_id(x.id)))
}
