//! Indicators on cases: one row per canonical value system-wide, attached to cases with
//! their context (who, when, from which message, state, TLP), and counted.

use helpline_domain::audit::AuditAction;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::ids::{CaseId, IndicatorId, MessageId};
use helpline_domain::indicator::{Indicator, IndicatorKind, IndicatorState, Tlp};
use helpline_domain::text::Note;
use helpline_domain::user::Actor;
use serde::Serialize;
use serde_json::json;

use super::CHUNK;
use crate::convert::{from_db, stored, to_db};
use crate::page::{paginate, Cursor};
use crate::schema::{case_indicators as ci, indicators};

use crate::Page;
use crate::{DbConnection, Result, StoreError, Tx};

/// A stored indicator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct StoredIndicator {
    /// Stable id.
    pub id: IndicatorId,
    /// Kind.
    pub kind: IndicatorKind,
    /// Canonical value.
    pub value: String,
}

impl StoredIndicator {
    pub(crate) fn from_row((id, kind, value): (String, String, String)) -> Result<Self> {
        Ok(Self {
            id: stored(IndicatorId::parse(&id))?,
            kind: stored(IndicatorKind::parse(&kind))?,
            value,
        })
    }

    /// As a domain value.
    pub fn indicator(&self) -> Indicator {
        Indicator::from_stored(self.kind, self.value.clone())
    }
}

/// An indicator on a case, with its context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseIndicator {
    /// The indicator.
    pub indicator: StoredIndicator,
    /// On which case.
    pub case_id: CaseId,
    /// Candidate, confirmed or false positive.
    pub state: IndicatorState,
    /// How far it may be shared.
    pub tlp: Tlp,
    /// The analyst's note.
    pub note: Note,
    /// The message it was found in.
    pub source_message_id: Option<MessageId>,
    /// Who added it.
    pub added_by: Actor,
    /// When.
    pub added_at: DateTime<Utc>,
    /// First seen in the wild.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last seen in the wild.
    pub last_seen: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Context given when an indicator is put on a case.
#[derive(Debug, Clone)]
pub struct IndicatorContext {
    /// State.
    pub state: IndicatorState,
    /// TLP.
    pub tlp: Tlp,
    /// Note.
    pub note: Note,
    /// Source message (must belong to the case).
    pub source_message_id: Option<MessageId>,
    /// First seen.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last seen.
    pub last_seen: Option<DateTime<Utc>>,
}

/// What a case says about an indicator it holds: its row in `case_indicators` but the case.
/// A merge keeps these rows whole in its record (as JSON) to put them back on unmerge.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize, serde::Deserialize)]
#[diesel(table_name = ci, treat_none_as_default_value = false)]
pub(crate) struct ContextRow {
    pub indicator_id: String,
    pub state: String,
    pub tlp: String,
    pub note: String,
    pub source_message_id: Option<String>,
    pub added_by: String,
    pub added_at: NaiveDateTime,
    pub first_seen: Option<NaiveDateTime>,
    pub last_seen: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

pub(crate) fn case_indicator(
    indicator: StoredIndicator,
    case_id: &str,
    r: ContextRow,
) -> Result<CaseIndicator> {
    Ok(CaseIndicator {
        indicator,
        case_id: stored(CaseId::parse(case_id))?,
        state: stored(IndicatorState::parse(&r.state))?,
        tlp: stored(Tlp::parse(&r.tlp))?,
        note: stored(Note::parse(r.note))?,
        source_message_id: r
            .source_message_id
            .as_deref()
            .map(MessageId::parse)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        added_by: stored(r.added_by.parse())?,
        added_at: from_db(r.added_at),
        first_seen: r.first_seen.map(from_db),
        last_seen: r.last_seen.map(from_db),
        updated_at: from_db(r.updated_at),
    })
}

/// The stored indicator with this canonical value, if any case ever held it.
pub fn find(conn: &mut DbConnection, i: &Indicator) -> Result<Option<StoredIndicator>> {
    indicators::table
        .filter(indicators::kind.eq(i.kind().as_str()))
        .filter(indicators::value.eq(i.value()))
        .select((indicators::id, indicators::kind, indicators::value))
        .get_result::<(String, String, String)>(conn)
        .optional()?
        .map(StoredIndicator::from_row)
        .transpose()
}

/// An indicator by id.
pub fn indicator(conn: &mut DbConnection, id: IndicatorId) -> Result<StoredIndicator> {
    indicators::table
        .find(id.to_string())
        .select((indicators::id, indicators::kind, indicators::value))
        .get_result::<(String, String, String)>(conn)
        .optional()?
        .map(StoredIndicator::from_row)
        .transpose()?
        .ok_or_else(|| StoreError::not_found("indicator"))
}

/// The indicator's row, created the first time any case holds it.
fn ensure(tx: &mut Tx<'_>, i: &Indicator) -> Result<StoredIndicator> {
    if let Some(s) = find(tx.conn, i)? {
        return Ok(s);
    }
    let id = IndicatorId::new();
    diesel::insert_into(indicators::table)
        .values((
            indicators::id.eq(id.to_string()),
            indicators::kind.eq(i.kind().as_str()),
            indicators::value.eq(i.value()),
            indicators::created_at.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)?;
    Ok(StoredIndicator {
        id,
        kind: i.kind(),
        value: i.value().to_owned(),
    })
}

/// Puts an indicator on a case, or updates its context there. Returns it and whether it was
/// new on the case.
pub fn attach(
    tx: &mut Tx<'_>,
    case: CaseId,
    i: &Indicator,
    ctx: IndicatorContext,
) -> Result<(CaseIndicator, bool)> {
    let s = ensure(tx, i)?;
    let existing = ci::table
        .filter(ci::case_id.eq(case.to_string()))
        .filter(ci::indicator_id.eq(s.id.to_string()))
        .select(ci::state)
        .get_result::<String>(tx.conn)
        .optional()?;
    let now = to_db(tx.now);
    let new = existing.is_none();
    if new {
        diesel::insert_into(ci::table)
            .values((
                ci::case_id.eq(case.to_string()),
                ci::indicator_id.eq(s.id.to_string()),
                ci::state.eq(ctx.state.as_str()),
                ci::tlp.eq(ctx.tlp.as_str()),
                ci::note.eq(ctx.note.as_str()),
                ci::source_message_id.eq(ctx.source_message_id.map(|m| m.to_string())),
                ci::added_by.eq(tx.actor.to_string()),
                ci::added_at.eq(now),
                ci::first_seen.eq(ctx.first_seen.map(to_db)),
                ci::last_seen.eq(ctx.last_seen.map(to_db)),
                ci::updated_at.eq(now),
            ))
            .execute(tx.conn)?;
    } else {
        diesel::update(
            ci::table
                .filter(ci::case_id.eq(case.to_string()))
                .filter(ci::indicator_id.eq(s.id.to_string())),
        )
        .set((
            ci::state.eq(ctx.state.as_str()),
            ci::tlp.eq(ctx.tlp.as_str()),
            ci::note.eq(ctx.note.as_str()),
            ci::first_seen.eq(ctx.first_seen.map(to_db)),
            ci::last_seen.eq(ctx.last_seen.map(to_db)),
            ci::updated_at.eq(now),
        ))
        .execute(tx.conn)?;
    }
    tx.audit(
        if new {
            AuditAction::CaseIndicatorCreate
        } else {
            AuditAction::CaseIndicatorUpdate
        },
        "indicator",
        s.id,
        Some(case),
        json!({"kind": s.kind, "value": s.value, "state": ctx.state.as_str(), "tlp": ctx.tlp.as_str()}),
    );
    let one = on_case(tx.conn, case, s.id)?;
    Ok((one, new))
}

/// Adds automatically found indicators as candidates, leaving those already on the case as
/// they are. Returns how many were new.
pub fn add_candidates(
    tx: &mut Tx<'_>,
    case: CaseId,
    found: &[Indicator],
    source: MessageId,
    tlp: Tlp,
) -> Result<usize> {
    let mut added = 0;
    for i in found {
        let s = ensure(tx, i)?;
        let n = ci::table
            .filter(ci::case_id.eq(case.to_string()))
            .filter(ci::indicator_id.eq(s.id.to_string()))
            .count()
            .get_result::<i64>(tx.conn)?;
        if n > 0 {
            continue;
        }
        attach(
            tx,
            case,
            i,
            IndicatorContext {
                state: IndicatorState::Candidate,
                tlp,
                note: Note::empty(),
                source_message_id: Some(source),
                first_seen: None,
                last_seen: None,
            },
        )?;
        added += 1;
    }
    Ok(added)
}

/// One indicator on one case.
pub fn on_case(conn: &mut DbConnection, case: CaseId, id: IndicatorId) -> Result<CaseIndicator> {
    let s = indicator(conn, id)?;
    let r: ContextRow = ci::table
        .filter(ci::case_id.eq(case.to_string()))
        .filter(ci::indicator_id.eq(id.to_string()))
        .select(ContextRow::as_select())
        .get_result(conn)
        .optional()?
        .ok_or_else(|| StoreError::not_found("indicator on this case"))?;
    case_indicator(s, &case.to_string(), r)
}

/// Every indicator on a case, oldest first.
pub fn of_case(conn: &mut DbConnection, case: CaseId) -> Result<Vec<CaseIndicator>> {
    Ok(page_of_case(conn, case, None, crate::page::ALL)?.items)
}

/// The indicators on a case in the order they were added, a page at a time.
pub fn page_of_case(
    conn: &mut DbConnection,
    case: CaseId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<CaseIndicator>> {
    let q = ci::table
        .inner_join(indicators::table.on(indicators::id.eq(ci::indicator_id)))
        .filter(ci::case_id.eq(case.to_string()))
        .order((ci::added_at.asc(), ci::indicator_id.asc()))
        .select((
            (indicators::id, indicators::kind, indicators::value),
            ContextRow::as_select(),
        ))
        .limit(limit + 1)
        .into_boxed();
    let q = crate::page::after_time_and_id!(q, ci::added_at, ci::indicator_id, cursor);
    let rows = q.load::<((String, String, String), ContextRow)>(conn)?;
    let case_id = case.to_string();
    let items = rows
        .into_iter()
        .map(|(i, r)| case_indicator(StoredIndicator::from_row(i)?, &case_id, r))
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |x| {
        crate::page::after_time(x.added_at, x.indicator.id)
    }))
}

/// Takes an indicator off a case (the indicator itself stays, for other cases).
pub fn detach(tx: &mut Tx<'_>, case: CaseId, id: IndicatorId) -> Result<()> {
    let s = indicator(tx.conn, id)?;
    let n = diesel::delete(
        ci::table
            .filter(ci::case_id.eq(case.to_string()))
            .filter(ci::indicator_id.eq(id.to_string())),
    )
    .execute(tx.conn)?;
    if n == 0 {
        return Err(StoreError::not_found("indicator on this case"));
    }
    tx.audit(
        AuditAction::CaseIndicatorDelete,
        "indicator",
        id,
        Some(case),
        json!({"kind": s.kind, "value": s.value}),
    );
    Ok(())
}

/// How many cases hold each of these indicators (false positives not counted).
pub fn case_counts(
    conn: &mut DbConnection,
    ids: &[IndicatorId],
) -> Result<HashMap<IndicatorId, i64>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let keys: Vec<String> = chunk.iter().map(ToString::to_string).collect();
        let rows: Vec<(String, i64)> = ci::table
            .filter(ci::indicator_id.eq_any(&keys))
            .filter(ci::state.ne(IndicatorState::FalsePositive.as_str()))
            .group_by(ci::indicator_id)
            .select((ci::indicator_id, diesel::dsl::count_star()))
            .load(conn)?;
        for (id, n) in rows {
            out.insert(stored(IndicatorId::parse(&id))?, n);
        }
    }
    Ok(out)
}

/// A message's subject and body, for extraction; only a message of `case`.
pub fn message_text(
    conn: &mut DbConnection,
    case: CaseId,
    message: MessageId,
) -> Result<(Option<String>, String)> {
    use crate::schema::messages as m;
    m::table
        .filter(m::id.eq(message.to_string()))
        .filter(m::case_id.eq(case.to_string()))
        .select((m::subject, m::body))
        .get_result::<(Option<String>, String)>(conn)
        .optional()?
        .ok_or_else(|| StoreError::not_found("message"))
}
