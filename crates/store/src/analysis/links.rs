//! Links between cases (related, duplicate of, parent / child), read from either side.

use helpline_domain::audit::AuditAction;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Timestamp};
use helpline_domain::access::Principal;
use helpline_domain::ids::CaseId;
use helpline_domain::indicator::LinkKind;
use helpline_domain::text::Note;
use helpline_domain::user::Actor;
use serde::Serialize;
use serde_json::json;

use super::{visible_briefs, CaseBrief};
use crate::convert::{from_db, stored, to_db};
use crate::page::{paginate, Cursor};
use crate::schema::case_links as cl;
use crate::sql::{Bind, Sql};
use crate::visibility::visible;
use crate::{DbConnection, Page, Result, StoreError, Tx};

/// A link as seen from one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseLink {
    /// The case it is seen from.
    pub case_id: CaseId,
    /// The other case.
    pub target_id: CaseId,
    /// How they are linked, read from `case_id`.
    pub kind: LinkKind,
    /// Why.
    pub note: Note,
    /// Who linked them.
    pub created_by: Actor,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Links two cases. A link between the same two cases, in either direction, is a conflict.
pub fn link(
    tx: &mut Tx<'_>,
    case: CaseId,
    target: CaseId,
    kind: LinkKind,
    note: Note,
) -> Result<CaseLink> {
    if case == target {
        return Err(StoreError::Domain(helpline_domain::DomainError::invalid(
            "target",
            "a case cannot be linked to itself",
        )));
    }
    let (a, b) = (case.to_string(), target.to_string());
    let exists = cl::table
        .filter(
            cl::case_id
                .eq(&a)
                .and(cl::target_id.eq(&b))
                .or(cl::case_id.eq(&b).and(cl::target_id.eq(&a))),
        )
        .count()
        .get_result::<i64>(tx.conn)?;
    if exists > 0 {
        return Err(StoreError::Conflict(
            "these cases are already linked; remove the link first to change it".into(),
        ));
    }
    diesel::insert_into(cl::table)
        .values((
            cl::case_id.eq(&a),
            cl::target_id.eq(&b),
            cl::kind.eq(kind.as_str()),
            cl::note.eq(note.as_str()),
            cl::created_by.eq(tx.actor.to_string()),
            cl::created_at.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)?;
    tx.audit(
        AuditAction::CaseLinkCreate,
        "case_link",
        target,
        Some(case),
        json!({"target": target, "kind": kind.as_str()}),
    );
    tx.audit(
        AuditAction::CaseLinkCreate,
        "case_link",
        case,
        Some(target),
        json!({"target": case, "kind": kind.inverse().as_str()}),
    );
    Ok(CaseLink {
        case_id: case,
        target_id: target,
        kind,
        note,
        created_by: tx.actor,
        created_at: tx.now,
    })
}

/// Removes the link between two cases, whichever side made it.
pub fn unlink(tx: &mut Tx<'_>, case: CaseId, target: CaseId) -> Result<()> {
    let (a, b) = (case.to_string(), target.to_string());
    let n = diesel::delete(
        cl::table.filter(
            cl::case_id
                .eq(&a)
                .and(cl::target_id.eq(&b))
                .or(cl::case_id.eq(&b).and(cl::target_id.eq(&a))),
        ),
    )
    .execute(tx.conn)?;
    if n == 0 {
        return Err(StoreError::not_found("link"));
    }
    tx.audit(
        AuditAction::CaseLinkDelete,
        "case_link",
        target,
        Some(case),
        json!({"target": target}),
    );
    tx.audit(
        AuditAction::CaseLinkDelete,
        "case_link",
        case,
        Some(target),
        json!({"target": case}),
    );
    Ok(())
}

/// A case's links read from it, oldest first, a page at a time, each with the other case;
/// links to cases the caller may not see are left out in the query, so pages stay full.
pub fn links(
    conn: &mut DbConnection,
    case: CaseId,
    who: &Principal,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<(CaseLink, CaseBrief)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        other: String,
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Bool)]
        outgoing: bool,
        #[diesel(sql_type = Text)]
        note: String,
        #[diesel(sql_type = Text)]
        created_by: String,
        #[diesel(sql_type = Timestamp)]
        created_at: NaiveDateTime,
    }
    let me = case.to_string();
    let mut sql = Sql::default();
    // Each link once, from this case's side: `other` is the case at the far end.
    sql.push("SELECT o.id AS other, l.kind, l.case_id = ")
        .bind(Bind::Text(me.clone()))
        .push(" AS outgoing, l.note, l.created_by, l.created_at FROM case_links l JOIN cases o ON o.id = CASE WHEN l.case_id = ")
        .bind(Bind::Text(me.clone()))
        .push(" THEN l.target_id ELSE l.case_id END WHERE (l.case_id = ")
        .bind(Bind::Text(me.clone()))
        .push(" OR l.target_id = ")
        .bind(Bind::Text(me))
        .push(")");
    visible(&mut sql, who, "o");
    if let Some(Cursor {
        key: Some(at), id, ..
    }) = cursor
    {
        sql.push(" AND (l.created_at > ")
            .bind(Bind::Time(*at))
            .push(" OR (l.created_at = ")
            .bind(Bind::Time(*at))
            .push(" AND o.id > ")
            .bind(Bind::Text(id.clone()))
            .push("))");
    }
    sql.push(" ORDER BY l.created_at, o.id LIMIT ")
        .bind(Bind::Int(limit.saturating_add(1)));
    let rows = paginate(sql.load::<Row>(conn)?, limit, |r| Cursor {
        key: Some(r.created_at),
        id: r.other.clone(),
        offset: None,
    });
    let others: Vec<CaseId> = rows
        .items
        .iter()
        .map(|r| stored(CaseId::parse(&r.other)))
        .collect::<Result<_>>()?;
    let briefs = visible_briefs(conn, others.iter().copied(), who)?;
    let mut items = Vec::with_capacity(rows.items.len());
    for (r, other) in rows.items.into_iter().zip(others) {
        let kind = stored(LinkKind::parse(&r.kind))?;
        let link = CaseLink {
            case_id: case,
            target_id: other,
            kind: if r.outgoing { kind } else { kind.inverse() },
            note: stored(Note::parse(r.note))?,
            created_by: stored(r.created_by.parse())?,
            created_at: from_db(r.created_at),
        };
        if let Some(b) = briefs.get(&other) {
            items.push((link, b.clone()));
        }
    }
    Ok(Page {
        items,
        next_cursor: rows.next_cursor,
    })
}
