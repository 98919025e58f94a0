//! What analysts keep: indicators on cases, links between cases, and the correlation that
//! walks both ("where else have we seen this?").

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::access::{Permission, Principal};
use helpline_domain::ids::{CaseId, IndicatorId, MessageId};
use helpline_domain::indicator::{
    Indicator, IndicatorKind, IndicatorState, LinkKind, Tlp, WarningList,
};
use helpline_domain::text::Note;
use helpline_domain::user::Actor;
use serde::Serialize;
use serde_json::json;

use crate::cases::{Bind, Sql};
use crate::convert::{from_db, stored, to_db};
use crate::page::{paginate, Cursor};
use crate::schema::{case_indicators as ci, case_links as cl, indicators};
use crate::Page;
use crate::{DbConnection, Result, StoreError, Tx};

/// Ids per query: far below SQLite's and Postgres's limits on bound parameters.
const CHUNK: usize = 500;

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
    fn from_row((id, kind, value): (String, String, String)) -> Result<Self> {
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

/// A case indicator's context columns, as [`context_columns`] selects them.
pub(crate) type ContextRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    NaiveDateTime,
    String,
);

fn case_indicator(
    indicator: StoredIndicator,
    case_id: &str,
    r: ContextRow,
) -> Result<CaseIndicator> {
    let (state, tlp, note, source, by, at, first, last, updated, _) = r;
    Ok(CaseIndicator {
        indicator,
        case_id: stored(CaseId::parse(case_id))?,
        state: stored(IndicatorState::parse(&state))?,
        tlp: stored(Tlp::parse(&tlp))?,
        note: stored(Note::parse(note))?,
        source_message_id: source
            .as_deref()
            .map(MessageId::parse)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        added_by: stored(by.parse())?,
        added_at: from_db(at),
        first_seen: first.map(from_db),
        last_seen: last.map(from_db),
        updated_at: from_db(updated),
    })
}

/// The stored indicator with this canonical value, if any case ever held it.
pub fn find(conn: &mut DbConnection, i: &Indicator) -> Result<Option<StoredIndicator>> {
    indicators::table
        .filter(indicators::kind.eq(i.kind().as_str()))
        .filter(indicators::value.eq(i.value()))
        .select((indicators::id, indicators::kind, indicators::value))
        .first::<(String, String, String)>(conn)
        .optional()?
        .map(StoredIndicator::from_row)
        .transpose()
}

/// An indicator by id.
pub fn indicator(conn: &mut DbConnection, id: IndicatorId) -> Result<StoredIndicator> {
    indicators::table
        .find(id.to_string())
        .select((indicators::id, indicators::kind, indicators::value))
        .first::<(String, String, String)>(conn)
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
        .first::<String>(tx.conn)
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
            "case_indicator.create"
        } else {
            "case_indicator.update"
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
        .select(context_columns())
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::not_found("indicator on this case"))?;
    case_indicator(s, &case.to_string(), r)
}

#[allow(clippy::type_complexity)]
pub(crate) fn context_columns() -> (
    ci::state,
    ci::tlp,
    ci::note,
    ci::source_message_id,
    ci::added_by,
    ci::added_at,
    ci::first_seen,
    ci::last_seen,
    ci::updated_at,
    ci::indicator_id,
) {
    (
        ci::state,
        ci::tlp,
        ci::note,
        ci::source_message_id,
        ci::added_by,
        ci::added_at,
        ci::first_seen,
        ci::last_seen,
        ci::updated_at,
        ci::indicator_id,
    )
}

/// Every indicator on a case, oldest first.
pub fn of_case(conn: &mut DbConnection, case: CaseId) -> Result<Vec<CaseIndicator>> {
    let rows = ci::table
        .inner_join(indicators::table.on(indicators::id.eq(ci::indicator_id)))
        .filter(ci::case_id.eq(case.to_string()))
        .order((ci::added_at.asc(), ci::indicator_id.asc()))
        .select((
            (indicators::id, indicators::kind, indicators::value),
            context_columns(),
        ))
        .load::<((String, String, String), ContextRow)>(conn)?;
    let case_id = case.to_string();
    rows.into_iter()
        .map(|(i, r)| case_indicator(StoredIndicator::from_row(i)?, &case_id, r))
        .collect()
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
            context_columns(),
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
        "case_indicator.delete",
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

#[derive(QueryableByName)]
struct CappedCount {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// How many cases hold each of these indicators, counting no further than `cap` (false
/// positives not counted). The correlation only needs to know whether an indicator passes the
/// fan-out limit, and a public provider's domain held by 50,000 cases must not cost 50,000
/// rows each time.
pub fn capped_counts(
    conn: &mut DbConnection,
    ids: &[IndicatorId],
    cap: i64,
) -> Result<HashMap<IndicatorId, i64>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let mut sql = Sql::default();
        sql.push(
            "SELECT i.id AS id, (SELECT count(*) FROM (SELECT 1 FROM case_indicators ci \
             WHERE ci.indicator_id = i.id AND ci.state <> ",
        )
        .bind(Bind::Text(
            IndicatorState::FalsePositive.as_str().to_owned(),
        ))
        .push(" LIMIT ")
        .bind(Bind::Int(cap))
        .push(") AS x) AS n FROM indicators i WHERE i.id IN ")
        .bind_list(chunk.iter().map(ToString::to_string));
        let rows: Vec<CappedCount> = sql.load(conn)?;
        for r in rows {
            out.insert(stored(IndicatorId::parse(&r.id))?, r.n);
        }
    }
    Ok(out)
}

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

/// The cases among `ids` that `who` may see, briefly.
pub fn visible_briefs(
    conn: &mut DbConnection,
    ids: &[String],
    who: &Principal,
) -> Result<HashMap<String, CaseBrief>> {
    #[derive(QueryableByName)]
    struct BriefRow {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
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
    for chunk in ids.chunks(CHUNK) {
        let mut sql = Sql::default();
        sql.push(
            "SELECT c.id, c.ref AS reference, c.summary, c.status FROM cases c WHERE c.id IN ",
        )
        .bind_list(chunk.iter().cloned());
        crate::visibility::visible(&mut sql, who, "c");
        for r in sql.load::<BriefRow>(conn)? {
            let brief = CaseBrief {
                id: stored(CaseId::parse(&r.id))?,
                reference: r.reference,
                summary: r.summary,
                status: r.status,
            };
            out.insert(r.id, brief);
        }
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
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
    let ids: Vec<String> = sql.load::<IdRow>(conn)?.into_iter().map(|r| r.id).collect();
    let mut contexts: HashMap<String, ContextRow> = ci::table
        .filter(ci::indicator_id.eq(id.to_string()))
        .filter(ci::case_id.eq_any(&ids))
        .select((ci::case_id, context_columns()))
        .load::<(String, ContextRow)>(conn)?
        .into_iter()
        .collect();
    let briefs = visible_briefs(conn, &ids, who)?;
    let mut out = Vec::with_capacity(ids.len());
    for case_id in &ids {
        if let (Some(b), Some(r)) = (briefs.get(case_id), contexts.remove(case_id)) {
            out.push((b.clone(), case_indicator(s.clone(), case_id, r)?));
        }
    }
    Ok(paginate(out, limit, |(b, _)| Cursor {
        key: None,
        id: b.id.to_string(),
        offset: None,
    }))
}

// ---- links ----

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
        "case_link.create",
        "case_link",
        target,
        Some(case),
        json!({"target": target, "kind": kind.as_str()}),
    );
    tx.audit(
        "case_link.create",
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
        "case_link.delete",
        "case_link",
        target,
        Some(case),
        json!({"target": target}),
    );
    tx.audit(
        "case_link.delete",
        "case_link",
        case,
        Some(target),
        json!({"target": case}),
    );
    Ok(())
}

type LinkRow = (String, String, String, String, String, NaiveDateTime);

/// The links of these cases, both directions, each read from the case in `ids` it touches.
fn links_of(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<CaseLink>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<LinkRow> = cl::table
            .filter(cl::case_id.eq_any(chunk).or(cl::target_id.eq_any(chunk)))
            .select((
                cl::case_id,
                cl::target_id,
                cl::kind,
                cl::note,
                cl::created_by,
                cl::created_at,
            ))
            .load(conn)?;
        let inside: HashSet<&String> = chunk.iter().collect();
        for (a, b, kind, note, by, at) in rows {
            let kind = stored(LinkKind::parse(&kind))?;
            let make = |from: &str, to: &str, kind: LinkKind| -> Result<CaseLink> {
                Ok(CaseLink {
                    case_id: stored(CaseId::parse(from))?,
                    target_id: stored(CaseId::parse(to))?,
                    kind,
                    note: stored(Note::parse(note.clone()))?,
                    created_by: stored(by.parse())?,
                    created_at: from_db(at),
                })
            };
            if inside.contains(&a) {
                out.push(make(&a, &b, kind)?);
            }
            if inside.contains(&b) {
                out.push(make(&b, &a, kind.inverse())?);
            }
        }
    }
    Ok(out)
}

/// A case's links, read from it, with the other cases the caller may see.
pub fn links(
    conn: &mut DbConnection,
    case: CaseId,
    who: &Principal,
) -> Result<Vec<(CaseLink, CaseBrief)>> {
    let all = links_of(conn, &[case.to_string()])?;
    let others: Vec<String> = all.iter().map(|l| l.target_id.to_string()).collect();
    let briefs = visible_briefs(conn, &others, who)?;
    Ok(all
        .into_iter()
        .filter_map(|l| {
            briefs
                .get(&l.target_id.to_string())
                .cloned()
                .map(|b| (l, b))
        })
        .collect())
}

// ---- correlation ----

/// One step of the path that explains a related case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Step {
    /// The two cases share an indicator.
    Indicator {
        /// Reference of the case the step leaves.
        from: i64,
        /// Reference of the case it reaches.
        to: i64,
        /// The indicator they share.
        indicator: StoredIndicator,
    },
    /// The two cases are linked.
    Link {
        /// Reference of the case the step leaves.
        from: i64,
        /// Reference of the case it reaches.
        to: i64,
        /// The link, read from `from`.
        kind: LinkKind,
    },
}

/// A case reached from the one asked about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Related {
    /// The case.
    pub case: CaseBrief,
    /// Hops from the case asked about.
    pub depth: usize,
    /// How strongly related (0–1): the paths found at that depth combined.
    pub score: f64,
    /// The strongest path.
    pub path: Vec<Step>,
    /// The path in words.
    pub explanation: String,
}

/// An indicator not followed, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotFollowed {
    /// The indicator.
    pub indicator: StoredIndicator,
    /// `fan_out` (held by more cases than the limit) or `warning_list`.
    pub reason: &'static str,
    /// Cases holding it, at least (fan-out: counting stops past the limit).
    pub cases: Option<i64>,
    /// The warning list naming it.
    pub list: Option<String>,
}

/// The correlation's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correlation {
    /// Cases reached, strongest first.
    pub related: Vec<Related>,
    /// Indicators not followed.
    pub not_followed: Vec<NotFollowed>,
}

/// What the correlation follows and how far.
#[derive(Debug, Clone)]
pub struct Walk<'a> {
    /// Hops (1–4).
    pub depth: usize,
    /// Follow explicit links.
    pub links: bool,
    /// Follow shared indicators.
    pub indicators: bool,
    /// An indicator held by more cases than this is not followed.
    pub fan_out: i64,
    /// Values that never correlate.
    pub warnings: &'a WarningList,
}

/// Every case reachable from `start` through links and shared indicators, up to `walk.depth`
/// hops, only ever through cases `who` may see.
pub fn related(
    conn: &mut DbConnection,
    start: &CaseBrief,
    who: &Principal,
    walk: &Walk<'_>,
) -> Result<Correlation> {
    let weight_of_state = |s: &str| {
        if s == IndicatorState::Confirmed.as_str() {
            0.7
        } else {
            0.4
        }
    };
    // case id -> (brief, depth, score, path)
    let mut reached: HashMap<String, (CaseBrief, usize, f64, Vec<Step>)> = HashMap::new();
    let start_id = start.id.to_string();
    reached.insert(start_id.clone(), (start.clone(), 0, 1.0, Vec::new()));
    let mut frontier = vec![start_id.clone()];
    let mut not_followed: HashMap<IndicatorId, NotFollowed> = HashMap::new();
    let mut followed: HashSet<IndicatorId> = HashSet::new();
    let mut known: HashMap<IndicatorId, StoredIndicator> = HashMap::new();
    for depth in 1..=walk.depth {
        if frontier.is_empty() {
            break;
        }
        // (from case id, to case id, step weight, step-without-refs)
        let mut edges: Vec<(String, String, f64, Edge)> = Vec::new();
        if walk.links {
            for l in links_of(conn, &frontier)? {
                edges.push((
                    l.case_id.to_string(),
                    l.target_id.to_string(),
                    l.kind.weight(),
                    Edge::Link(l.kind),
                ));
            }
        }
        if walk.indicators {
            let mut held: Vec<(String, String, String)> = Vec::new();
            for chunk in frontier.chunks(CHUNK) {
                held.extend(
                    ci::table
                        .filter(ci::case_id.eq_any(chunk))
                        .filter(ci::state.ne(IndicatorState::FalsePositive.as_str()))
                        .select((ci::case_id, ci::indicator_id, ci::state))
                        .load::<(String, String, String)>(conn)?,
                );
            }
            let ids: Vec<IndicatorId> = held
                .iter()
                .filter_map(|(_, i, _)| IndicatorId::parse(i).ok())
                .filter(|i| !followed.contains(i) && !not_followed.contains_key(i))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            known.extend(describe(conn, &ids)?);
            let counts = capped_counts(conn, &ids, walk.fan_out + 1)?;
            let mut follow: Vec<String> = Vec::new();
            for id in &ids {
                let Some(s) = known.get(id) else { continue };
                if let Some(list) = walk.warnings.warns(&s.indicator()) {
                    not_followed.insert(
                        *id,
                        NotFollowed {
                            indicator: s.clone(),
                            reason: "warning_list",
                            cases: None,
                            list: Some(list.to_owned()),
                        },
                    );
                    continue;
                }
                let n = counts.get(id).copied().unwrap_or(0);
                if n > walk.fan_out {
                    not_followed.insert(
                        *id,
                        NotFollowed {
                            indicator: s.clone(),
                            reason: "fan_out",
                            cases: Some(n),
                            list: None,
                        },
                    );
                    continue;
                }
                followed.insert(*id);
                follow.push(id.to_string());
            }
            let follow_set: HashSet<&String> = follow.iter().collect();
            let mut holders: HashMap<String, Vec<(String, String)>> = HashMap::new();
            for chunk in follow.chunks(CHUNK) {
                for (case_id, ind, state) in ci::table
                    .filter(ci::indicator_id.eq_any(chunk))
                    .filter(ci::state.ne(IndicatorState::FalsePositive.as_str()))
                    .select((ci::case_id, ci::indicator_id, ci::state))
                    .load::<(String, String, String)>(conn)?
                {
                    holders.entry(ind).or_default().push((case_id, state));
                }
            }
            for (from, ind, from_state) in &held {
                if !follow_set.contains(ind) {
                    continue;
                }
                let Some(s) = IndicatorId::parse(ind).ok().and_then(|i| known.get(&i)) else {
                    continue;
                };
                for (to, to_state) in holders.get(ind).into_iter().flatten() {
                    if to != from {
                        let w = f64::min(weight_of_state(from_state), weight_of_state(to_state));
                        edges.push((from.clone(), to.clone(), w, Edge::Indicator(s.id)));
                    }
                }
            }
        }
        let new_ids: Vec<String> = edges
            .iter()
            .map(|(_, to, _, _)| to.clone())
            .filter(|to| !reached.contains_key(to))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let briefs = visible_briefs(conn, &new_ids, who)?;
        // Paths found at this depth, per newly reached case, combined as independent evidence;
        // only the strongest is spelled out (building every path cost more than the queries).
        let mut found: HashMap<&str, (f64, usize, f64)> = HashMap::new();
        for (n, (from, to, w, _)) in edges.iter().enumerate() {
            if !briefs.contains_key(to) {
                continue;
            }
            let Some((_, _, from_score, _)) = reached.get(from) else {
                continue;
            };
            let score = from_score * w;
            let e = found.entry(to.as_str()).or_insert((-1.0, n, 1.0));
            e.2 *= 1.0 - score;
            if score > e.0 {
                e.0 = score;
                e.1 = n;
            }
        }
        let mut next = Vec::new();
        let mut chosen: Vec<(String, f64, usize)> = found
            .into_iter()
            .map(|(to, (_, n, miss))| (to.to_owned(), 1.0 - miss, n))
            .collect();
        chosen.sort_by(|a, b| a.0.cmp(&b.0));
        for (to, score, n) in chosen {
            let (from, _, _, edge) = &edges[n];
            let (Some(brief), Some((from_brief, _, _, from_path))) =
                (briefs.get(&to), reached.get(from))
            else {
                continue;
            };
            let step = match edge {
                Edge::Link(kind) => Step::Link {
                    from: from_brief.reference,
                    to: brief.reference,
                    kind: *kind,
                },
                Edge::Indicator(id) => match known.get(id) {
                    Some(indicator) => Step::Indicator {
                        from: from_brief.reference,
                        to: brief.reference,
                        indicator: indicator.clone(),
                    },
                    None => continue,
                },
            };
            let mut path = Vec::with_capacity(from_path.len() + 1);
            path.extend(from_path.iter().cloned());
            path.push(step);
            reached.insert(to.clone(), (brief.clone(), depth, score, path));
            next.push(to);
        }
        next.sort();
        frontier = next;
    }
    let mut related: Vec<Related> = reached
        .into_iter()
        .filter(|(id, _)| *id != start_id)
        .map(|(_, (case, depth, score, path))| Related {
            explanation: explain(&path),
            case,
            depth,
            score: (score * 1000.0).round() / 1000.0,
            path,
        })
        .collect();
    related.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.depth.cmp(&b.depth))
            .then(a.case.reference.cmp(&b.case.reference))
    });
    let mut not_followed: Vec<NotFollowed> = not_followed.into_values().collect();
    not_followed.sort_by(|a, b| {
        (a.indicator.kind, &a.indicator.value).cmp(&(b.indicator.kind, &b.indicator.value))
    });
    Ok(Correlation {
        related,
        not_followed,
    })
}

enum Edge {
    Link(LinkKind),
    Indicator(IndicatorId),
}

/// Indicators by id.
fn describe(
    conn: &mut DbConnection,
    ids: &[IndicatorId],
) -> Result<HashMap<IndicatorId, StoredIndicator>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let keys: Vec<String> = chunk.iter().map(ToString::to_string).collect();
        for row in indicators::table
            .filter(indicators::id.eq_any(&keys))
            .select((indicators::id, indicators::kind, indicators::value))
            .load::<(String, String, String)>(conn)?
        {
            let s = StoredIndicator::from_row(row)?;
            out.insert(s.id, s);
        }
    }
    Ok(out)
}

/// "shares domain evil.example with #1042, which is a duplicate of #998"
fn explain(path: &[Step]) -> String {
    let mut out = String::new();
    for (n, step) in path.iter().enumerate() {
        if n > 0 {
            out.push_str(", which ");
        }
        match step {
            Step::Indicator { to, indicator, .. } => out.push_str(&format!(
                "shares {} {} with #{to}",
                indicator.kind.as_str().replace('_', " "),
                indicator.value
            )),
            Step::Link { to, kind, .. } => out.push_str(&format!("{} #{to}", kind.phrase())),
        }
    }
    out
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
        .first::<(Option<String>, String)>(conn)
        .optional()?
        .ok_or_else(|| StoreError::not_found("message"))
}
