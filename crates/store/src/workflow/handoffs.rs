//! Hand-offs: every change of hands on a case, with its note.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use helpline_domain::ids::{CaseId, UserId};
use helpline_domain::text::Note;
use helpline_domain::workflow::Handoff;

use crate::convert::{from_db, stored, to_db};
use crate::page::{paginate, Cursor};
use crate::schema::handoffs;
use crate::{DbConnection, Page, Result, Tx};

/// Records a change of hands (the service layer decides when one happens).
pub fn record_handoff(
    tx: &mut Tx<'_>,
    case: CaseId,
    from: Option<UserId>,
    to: Option<UserId>,
    note: Note,
    automatic: bool,
) -> Result<Handoff> {
    let h = Handoff {
        id: uuid::Uuid::now_v7(),
        case_id: case,
        from_user: from,
        to_user: to,
        note,
        automatic,
        handed_by: tx.actor,
        handed_at: tx.now,
    };
    diesel::insert_into(handoffs::table)
        .values((
            handoffs::id.eq(h.id.to_string()),
            handoffs::case_id.eq(case.to_string()),
            handoffs::from_user.eq(from.map(|u| u.to_string())),
            handoffs::to_user.eq(to.map(|u| u.to_string())),
            handoffs::note.eq(h.note.as_str()),
            handoffs::automatic.eq(automatic),
            handoffs::handed_by.eq(tx.actor.to_string()),
            handoffs::handed_at.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)?;
    Ok(h)
}

/// A hand-off as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = handoffs)]
struct HandoffRow {
    id: String,
    case_id: String,
    from_user: Option<String>,
    to_user: Option<String>,
    note: String,
    automatic: bool,
    handed_by: String,
    handed_at: NaiveDateTime,
}

impl HandoffRow {
    fn into_handoff(self) -> Result<Handoff> {
        let user = |s: Option<String>| -> Result<Option<UserId>> {
            s.as_deref()
                .map(UserId::parse)
                .transpose()
                .map_err(crate::convert::corrupt)
        };
        Ok(Handoff {
            id: uuid::Uuid::parse_str(&self.id).map_err(crate::convert::corrupt)?,
            case_id: stored(CaseId::parse(&self.case_id))?,
            from_user: user(self.from_user)?,
            to_user: user(self.to_user)?,
            note: stored(Note::parse(self.note))?,
            automatic: self.automatic,
            handed_by: stored(self.handed_by.parse())?,
            handed_at: from_db(self.handed_at),
        })
    }
}

/// Every change of hands on a case, oldest first.
pub fn handoffs(conn: &mut DbConnection, case: CaseId) -> Result<Vec<Handoff>> {
    Ok(handoff_page(conn, case, None, crate::page::ALL)?.items)
}

/// A case's changes of hands, oldest first, a page at a time.
pub fn handoff_page(
    conn: &mut DbConnection,
    case: CaseId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Handoff>> {
    let q = handoffs::table
        .filter(handoffs::case_id.eq(case.to_string()))
        .order((handoffs::handed_at.asc(), handoffs::id.asc()))
        .select(HandoffRow::as_select())
        .limit(limit.saturating_add(1))
        .into_boxed();
    let q = crate::page::after_time_and_id!(q, handoffs::handed_at, handoffs::id, cursor);
    let items = q
        .load::<HandoffRow>(conn)?
        .into_iter()
        .map(HandoffRow::into_handoff)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |h| {
        crate::page::after_time(h.handed_at, h.id)
    }))
}
