//! The other parties involved in a case, each in a role.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use helpline_domain::ids::{CaseId, PartyId};
use helpline_domain::log::CaseParty;
use helpline_domain::party::PartyRole;
use helpline_domain::text::Note;
use serde_json::json;

use crate::convert::{from_db, referenced, stored, to_db};
use crate::schema::case_parties;
use crate::{DbConnection, Result, StoreError, Tx};

/// Involves a party in a case, with a role; the same party may hold several roles.
pub fn link_party(
    tx: &mut Tx<'_>,
    case: CaseId,
    party: PartyId,
    role: PartyRole,
    note: Note,
) -> Result<CaseParty> {
    referenced(crate::parties::get(tx.conn, party), "party_id", "party")?;
    let x = CaseParty {
        case_id: case,
        party_id: party,
        role,
        note,
        added_by: tx.actor,
        added_at: tx.now,
    };
    diesel::insert_into(case_parties::table)
        .values((
            case_parties::case_id.eq(case.to_string()),
            case_parties::party_id.eq(party.to_string()),
            case_parties::role.eq(role.as_str()),
            case_parties::note.eq(x.note.as_str()),
            case_parties::added_by.eq(tx.actor.to_string()),
            case_parties::added_at.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Conflict(format!("this party is already involved as {role}"))
            } else {
                e.into()
            }
        })?;
    tx.audit(
        "case_party.create",
        "case_party",
        party,
        Some(case),
        json!({"party_id": party, "role": role}),
    );
    Ok(x)
}

/// The parties involved in a case.
pub fn case_parties(conn: &mut DbConnection, case: CaseId) -> Result<Vec<CaseParty>> {
    let rows: Vec<(String, String, String, String, String, NaiveDateTime)> = case_parties::table
        .filter(case_parties::case_id.eq(case.to_string()))
        .order((case_parties::added_at.asc(), case_parties::party_id.asc()))
        .load(conn)?;
    rows.into_iter()
        .map(|(c, p, role, note, by, at)| {
            Ok(CaseParty {
                case_id: stored(CaseId::parse(&c))?,
                party_id: stored(PartyId::parse(&p))?,
                role: stored(PartyRole::parse(&role))?,
                note: stored(Note::parse(note))?,
                added_by: stored(by.parse())?,
                added_at: from_db(at),
            })
        })
        .collect()
}
