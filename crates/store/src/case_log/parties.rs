//! The other parties involved in a case, each in a role.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::{CaseId, PartyId};
use helpline_domain::log::CaseParty;
use helpline_domain::party::PartyRole;
use helpline_domain::text::Note;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::convert::{from_db, referenced, stored, to_db};
use crate::page::{paginate, Cursor};
use crate::schema::case_parties;
use crate::{DbConnection, Page, Result, StoreError, Tx};

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
        AuditAction::CasePartyCreate,
        "case_party",
        party,
        Some(case),
        json!({"party_id": party, "role": role}),
    );
    Ok(x)
}

/// A party's involvement in a case: its row in `case_parties` but the case. A merge keeps the
/// source's rows that the target already had (as JSON), to put them back on unmerge.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = case_parties, treat_none_as_default_value = false)]
pub(crate) struct PartyRow {
    pub party_id: String,
    pub role: String,
    pub note: String,
    pub added_by: String,
    pub added_at: NaiveDateTime,
}

impl PartyRow {
    fn into_case_party(self, case: CaseId) -> Result<CaseParty> {
        Ok(CaseParty {
            case_id: case,
            party_id: stored(PartyId::parse(&self.party_id))?,
            role: stored(PartyRole::parse(&self.role))?,
            note: stored(Note::parse(self.note))?,
            added_by: stored(self.added_by.parse())?,
            added_at: from_db(self.added_at),
        })
    }
}

/// The parties involved in a case, in the order they were involved.
pub fn case_parties(conn: &mut DbConnection, case: CaseId) -> Result<Vec<CaseParty>> {
    Ok(party_page(conn, case, None, crate::page::ALL)?.items)
}

/// The parties involved in a case, in the order they were involved, a page at a time. A party
/// may hold several roles, so the cursor names the party and the role: `<party id>/<role>`.
pub fn party_page(
    conn: &mut DbConnection,
    case: CaseId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<CaseParty>> {
    use case_parties as cp;
    let mut q = cp::table
        .filter(cp::case_id.eq(case.to_string()))
        .order((cp::added_at.asc(), cp::party_id.asc(), cp::role.asc()))
        .select(PartyRow::as_select())
        .limit(limit.saturating_add(1))
        .into_boxed();
    if let Some(Cursor {
        key: Some(at), id, ..
    }) = cursor
    {
        let (party, role) = id.split_once('/').unwrap_or((id.as_str(), ""));
        let (party, role) = (party.to_owned(), role.to_owned());
        q = q.filter(
            cp::added_at.gt(*at).or(cp::added_at.eq(*at).and(
                cp::party_id
                    .gt(party.clone())
                    .or(cp::party_id.eq(party).and(cp::role.gt(role))),
            )),
        );
    }
    let rows = paginate(q.load::<PartyRow>(conn)?, limit, |r| Cursor {
        key: Some(r.added_at),
        id: format!("{}/{}", r.party_id, r.role),
        offset: None,
    });
    Ok(Page {
        items: rows
            .items
            .into_iter()
            .map(|r| r.into_case_party(case))
            .collect::<Result<_>>()?,
        next_cursor: rows.next_cursor,
    })
}
