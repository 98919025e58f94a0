//! Hand-offs: every change of hands on a case, with its note.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use helpline_domain::ids::{CaseId, UserId};
use helpline_domain::text::Note;
use helpline_domain::workflow::Handoff;

use crate::convert::{from_db, stored, to_db};
use crate::schema::handoffs;
use crate::{DbConnection, Result, Tx};

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

/// Every change of hands on a case, oldest first.
pub fn handoffs(conn: &mut DbConnection, case: CaseId) -> Result<Vec<Handoff>> {
    type R = (
        String,
        Option<String>,
        Option<String>,
        String,
        bool,
        String,
        NaiveDateTime,
    );
    let rows: Vec<R> = handoffs::table
        .filter(handoffs::case_id.eq(case.to_string()))
        .order((handoffs::handed_at.asc(), handoffs::id.asc()))
        .select((
            handoffs::id,
            handoffs::from_user,
            handoffs::to_user,
            handoffs::note,
            handoffs::automatic,
            handoffs::handed_by,
            handoffs::handed_at,
        ))
        .load(conn)?;
    let user = |s: Option<String>| -> Result<Option<UserId>> {
        s.as_deref()
            .map(UserId::parse)
            .transpose()
            .map_err(crate::convert::corrupt)
    };
    rows.into_iter()
        .map(|(id, from, to, note, automatic, by, at)| {
            Ok(Handoff {
                id: uuid::Uuid::parse_str(&id).map_err(crate::convert::corrupt)?,
                case_id: case,
                from_user: user(from)?,
                to_user: user(to)?,
                note: stored(Note::parse(note))?,
                automatic,
                handed_by: stored(by.parse())?,
                handed_at: from_db(at),
            })
        })
        .collect()
}
