//! The cases holding an indicator, as the caller may see them (through the one visibility
//! rule), and the brief form in which correlation shows a case.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use helpline_domain::access::{Permission, Principal};
use helpline_domain::ids::{CaseId, IndicatorId};
use helpline_domain::indicator::IndicatorState;
use serde::Serialize;

use super::{case_indicator, indicator, CaseIndicator, ContextRow};
use crate::page::{paginate, Cursor};
use crate::schema::case_indicators as ci;
use crate::sql::{Bind, Sql};
use crate::Page;
use crate::{DbConnection, Result};

/// How many cases holding an indicator `who` may see, counting no further than `cap`.
pub fn visible_holders(
    conn: &mut DbConnection,
    id: IndicatorId,
    who: &Principal,
    cap: i64,
) -> Result<i64> {
    let mut sql = Sql::default();
    sql.push("SELECT c.id FROM case_indicators ci JOIN cases c ON c.id = ci.case_id WHERE ci.indicator_id = ")
        .bind(Bind::Text(id.to_string()))
        .push(" AND ci.state <> ")
        .bind(Bind::Text(IndicatorState::FalsePositive.as_str().to_owned()));
    crate::visibility::visible(&mut sql, who, "c");
    sql.push(" LIMIT ").bind(Bind::Int(cap));
    Ok(sql.load::<IdRow>(conn)?.len() as i64)
}

/// A case as a correlation shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseBrief {
    /// Id.
    pub id: CaseId,
    /// Reference.
    #[serde(rename = "ref")]
    pub reference: i64,
    /// Summary.
    pub summary: String,
    /// Status.
    pub status: String,
}

impl CaseBrief {
    /// The brief form of a case already read.
    pub fn of(case: &helpline_domain::case::Case) -> Self {
        CaseBrief {
            id: case.id,
            reference: case.reference.get(),
            summary: case.summary.as_str().to_owned(),
            status: case.status.as_str().to_owned(),
        }
    }
}

/// The cases among `ids` that `who` may see, briefly, in one query.
pub fn visible_briefs(
    conn: &mut DbConnection,
    ids: impl IntoIterator<Item = CaseId>,
    who: &Principal,
) -> Result<HashMap<CaseId, CaseBrief>> {
    #[derive(QueryableByName)]
    struct BriefRow {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: CaseId,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        reference: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        summary: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
    }
    let mut out = HashMap::new();
    if !who.may(Permission::ReadCases) {
        return Ok(out);
    }
    let mut sql = Sql::default();
    sql.push("SELECT c.id, c.ref AS reference, c.summary, c.status FROM cases c WHERE c.id")
        .in_ids(ids);
    crate::visibility::visible(&mut sql, who, "c");
    for r in sql.load::<BriefRow>(conn)? {
        let brief = CaseBrief {
            id: r.id,
            reference: r.reference,
            summary: r.summary,
            status: r.status,
        };
        out.insert(r.id, brief);
    }
    Ok(out)
}

/// The cases among `ids` (each an existing case) that `who` may see. Correlation asks this of
/// thousands of cases a hop; for a caller who sees every case it needs no query.
pub fn visible_among(
    conn: &mut DbConnection,
    ids: impl IntoIterator<Item = CaseId>,
    who: &Principal,
) -> Result<HashSet<CaseId>> {
    if !who.may(Permission::ReadCases) {
        return Ok(HashSet::new());
    }
    if crate::visibility::sees_every_case(who) {
        return Ok(ids.into_iter().collect());
    }
    let mut sql = Sql::default();
    sql.push("SELECT c.id FROM cases c WHERE c.id").in_ids(ids);
    crate::visibility::visible(&mut sql, who, "c");
    Ok(sql.load::<IdRow>(conn)?.into_iter().map(|r| r.id).collect())
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: CaseId,
}

/// The cases holding an indicator that `who` may see, with the indicator's context on each, a
/// page at a time in the order the cases were opened (a public provider's domain can be held
/// by tens of thousands of cases).
pub fn cases_of(
    conn: &mut DbConnection,
    id: IndicatorId,
    who: &Principal,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<(CaseBrief, CaseIndicator)>> {
    let s = indicator(conn, id)?;
    let mut sql = Sql::default();
    sql.push("SELECT c.id FROM case_indicators ci JOIN cases c ON c.id = ci.case_id WHERE ci.indicator_id = ")
        .bind(Bind::Text(id.to_string()));
    if let Some(cur) = cursor {
        sql.push(" AND c.id > ").bind(Bind::Text(cur.id.clone()));
    }
    crate::visibility::visible(&mut sql, who, "c");
    sql.push(" ORDER BY c.id LIMIT ").bind(Bind::Int(limit + 1));
    let ids: Vec<CaseId> = sql.load::<IdRow>(conn)?.into_iter().map(|r| r.id).collect();
    let keys: Vec<String> = ids.iter().map(CaseId::to_string).collect();
    let mut contexts: HashMap<String, ContextRow> = ci::table
        .filter(ci::indicator_id.eq(id.to_string()))
        .filter(ci::case_id.eq_any(&keys))
        .select((ci::case_id, ContextRow::as_select()))
        .load::<(String, ContextRow)>(conn)?
        .into_iter()
        .collect();
    let briefs = visible_briefs(conn, ids.iter().copied(), who)?;
    let mut out = Vec::with_capacity(ids.len());
    for (id, case_id) in ids.iter().zip(&keys) {
        if let (Some(b), Some(r)) = (briefs.get(id), contexts.remove(case_id)) {
            out.push((b.clone(), case_indicator(s.clone(), case_id, r)?));
        }
    }
    Ok(paginate(out, limit, |(b, _)| crate::page::after_id(b.id)))
}
