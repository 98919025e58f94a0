//! The audit trail and the access log: appending to their hash chains, reading them,
//! verifying them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use helpline_domain::audit::{chain_hash, AuditAction, ChainBreak, ChainVerifier, ChainedFields};
use helpline_domain::ids::{AuditEventId, CaseId};
use helpline_domain::user::Actor;
use serde::Serialize;

use crate::convert::{corrupt, from_db, from_json, rfc3339, stored, to_db};
use crate::page::{paginate, Cursor};
use crate::schema::audit_events;
use crate::sql::{Bind, Sql};
use crate::{DbConnection, Page, Result, Tx};

/// What an audit event says: who did what, when, to which entity of which case. A
/// transaction records these as it goes; the commit chains them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Who.
    pub actor: Actor,
    /// What happened (`case.create`, `case.update`, `message.create`, ...).
    pub action: String,
    /// Kind of entity changed.
    pub entity_type: String,
    /// Its id.
    pub entity_id: String,
    /// The case concerned, if any.
    pub case_id: Option<CaseId>,
    /// What changed.
    pub changes: serde_json::Value,
}

/// An audit event as served: the record, its place in the chain and the chain's hashes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    /// Position in the chain.
    pub seq: i64,
    /// Event id.
    pub id: AuditEventId,
    /// What it records.
    #[serde(flatten)]
    pub record: AuditRecord,
    /// Hash of the previous event.
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
}

#[derive(Queryable, QueryableByName, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub(crate) struct Row {
    seq: i64,
    id: String,
    occurred_at: chrono::NaiveDateTime,
    actor: String,
    action: String,
    entity_type: String,
    entity_id: String,
    case_id: Option<String>,
    changes: String,
    prev_hash: String,
    hash: String,
}

impl Row {
    pub(crate) fn into_event(self) -> Result<AuditEvent> {
        Ok(AuditEvent {
            seq: self.seq,
            id: stored(AuditEventId::parse(&self.id))?,
            record: AuditRecord {
                occurred_at: from_db(self.occurred_at),
                actor: stored(self.actor.parse())?,
                action: self.action,
                entity_type: self.entity_type,
                entity_id: self.entity_id,
                case_id: crate::convert::stored_opt(self.case_id.as_deref(), CaseId::parse)?,
                changes: from_json(&self.changes)?,
            },
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// The two hash chains: what changed (the audit trail) and who read a confidential case (the
/// access log). Same columns, same hash, each with its own head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// Every change.
    Audit,
    /// Every read of a confidential case or of its parts.
    Access,
}

impl Chain {
    fn events(self) -> &'static str {
        match self {
            Chain::Audit => "audit_events",
            Chain::Access => "access_events",
        }
    }

    fn head(self) -> &'static str {
        match self {
            Chain::Audit => "audit_head",
            Chain::Access => "access_head",
        }
    }
}

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    hash: String,
}

/// Appends events to the audit trail.
pub(crate) fn append(conn: &mut DbConnection, events: Vec<AuditRecord>) -> Result<()> {
    append_to(conn, Chain::Audit, events)
}

/// Appends events to a chain. Reserving their positions with one `UPDATE` takes the head row's
/// lock, which serialises appends across API nodes on Postgres, so the chain never forks.
pub(crate) fn append_to(
    conn: &mut DbConnection,
    chain: Chain,
    events: Vec<AuditRecord>,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let n = i64::try_from(events.len()).unwrap_or(i64::MAX);
    // RETURNING gives the new `seq` and the old `hash`: exactly what chaining needs.
    let mut sql = Sql::default();
    sql.push("UPDATE ")
        .push(chain.head())
        .push(" SET seq = seq + ")
        .bind(Bind::Int(n))
        .push(" WHERE id = 1 RETURNING seq, hash");
    let head: Head = sql
        .load(conn)?
        .pop()
        .ok_or_else(|| corrupt("the audit head row is missing"))?;
    let first = head.seq - n + 1;
    let mut prev = head.hash;
    let mut rows: Vec<Row> = Vec::with_capacity(events.len());
    for (seq, ev) in (first..).zip(events) {
        let id = AuditEventId::new().to_string();
        let occurred = rfc3339(ev.occurred_at);
        let actor = ev.actor.to_string();
        let case_id = ev.case_id.map(|c| c.to_string());
        let changes = serde_json::to_string(&ev.changes).map_err(corrupt)?;
        let hash = chain_hash(
            &prev,
            &ChainedFields {
                seq,
                id: &id,
                occurred_at: &occurred,
                actor: &actor,
                action: &ev.action,
                entity_type: &ev.entity_type,
                entity_id: &ev.entity_id,
                case_id: case_id.as_deref(),
                changes: &changes,
            },
        );
        let row = Row {
            seq,
            id,
            occurred_at: to_db(ev.occurred_at),
            actor,
            action: ev.action,
            entity_type: ev.entity_type,
            entity_id: ev.entity_id,
            case_id,
            changes,
            prev_hash: std::mem::replace(&mut prev, hash.clone()),
            hash,
        };
        rows.push(row);
    }
    insert_rows(conn, chain, rows)?;
    let mut sql = Sql::default();
    sql.push("UPDATE ")
        .push(chain.head())
        .push(" SET hash = ")
        .bind(Bind::Text(prev))
        .push(" WHERE id = 1");
    sql.execute(conn)?;
    Ok(())
}

/// A read of a confidential case, or of the record of a person who has one: what the access
/// log keeps of it besides who and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// The confidential case read (or whose beneficiary was read).
    pub case: CaseId,
    /// `case.read` or `beneficiary.read`.
    pub action: AuditAction,
    /// What was read: the request's method and path (ids only: never a query string).
    pub what: String,
    /// Through which credential: a session's `jti` or an integration token's id.
    pub via: String,
}

/// Writes reads to the access log, in this transaction.
pub fn record_reads(tx: &mut Tx<'_>, reads: Vec<Read>) -> Result<()> {
    let records = reads
        .into_iter()
        .map(|r| AuditRecord {
            occurred_at: tx.now,
            actor: tx.actor,
            action: r.action.as_str().to_owned(),
            entity_type: "case".to_owned(),
            entity_id: r.case.to_string(),
            case_id: Some(r.case),
            changes: serde_json::json!({"read": r.what, "via": r.via}),
        })
        .collect();
    append_to(tx.conn, Chain::Access, records)
}

/// Inserts a group's events, [`ROWS_PER_INSERT`] to a statement and the rest one by one: two
/// statement texts only, so both stay prepared (a text per group size would be parsed anew
/// for every group), and few round trips on Postgres.
fn insert_rows(conn: &mut DbConnection, chain: Chain, rows: Vec<Row>) -> Result<()> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Row> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        let whole = chunk.len() == ROWS_PER_INSERT;
        let chunk: Vec<Vec<Row>> = if whole {
            vec![chunk]
        } else {
            chunk.into_iter().map(|r| vec![r]).collect()
        };
        for c in chunk {
            let mut sql = Sql::default();
            sql.push("INSERT INTO ").push(chain.events()).push(
                " (seq, id, occurred_at, actor, action, entity_type, entity_id, case_id, \
                 changes, prev_hash, hash) VALUES ",
            );
            for (i, r) in c.into_iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" })
                    .bind(Bind::Int(r.seq))
                    .push(", ")
                    .bind(Bind::Text(r.id))
                    .push(", ")
                    .bind(Bind::Time(r.occurred_at))
                    .push(", ")
                    .bind(Bind::Text(r.actor))
                    .push(", ")
                    .bind(Bind::Text(r.action))
                    .push(", ")
                    .bind(Bind::Text(r.entity_type))
                    .push(", ")
                    .bind(Bind::Text(r.entity_id))
                    .push(", ")
                    .bind(Bind::OptText(r.case_id))
                    .push(", ")
                    .bind(Bind::Text(r.changes))
                    .push(", ")
                    .bind(Bind::Text(r.prev_hash))
                    .push(", ")
                    .bind(Bind::Text(r.hash))
                    .push(")");
            }
            sql.execute(conn)?;
        }
    }
    Ok(())
}

/// Events per multi-row insert (see [`insert_rows`]).
const ROWS_PER_INSERT: usize = 16;

/// The audit events of one case, in order.
pub fn for_case(
    conn: &mut DbConnection,
    case: CaseId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<AuditEvent>> {
    entries(conn, Chain::Audit, By::Case(case), cursor, limit)
}

/// Whose entries of a chain to read.
enum By {
    Case(CaseId),
    Actor(Actor),
}

/// One page of a chain's entries about a case or by an actor, in the chain's own order (its
/// sequence number, carried by the cursor).
fn entries(
    conn: &mut DbConnection,
    chain: Chain,
    by: By,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<AuditEvent>> {
    let after = cursor.and_then(|c| c.offset).unwrap_or(0);
    let (column, value) = match by {
        By::Case(c) => ("case_id", c.to_string()),
        By::Actor(a) => ("actor", a.to_string()),
    };
    let mut sql = Sql::default();
    sql.push(
        "SELECT seq, id, occurred_at, actor, action, entity_type, entity_id, case_id, changes, \
         prev_hash, hash FROM ",
    )
    .push(chain.events())
    .push(" WHERE ")
    .push(column)
    .push(" = ")
    .bind(Bind::Text(value))
    .push(" AND seq > ")
    .bind(Bind::Int(after))
    .push(" ORDER BY seq LIMIT ")
    .bind(Bind::Int(limit + 1));
    let events = sql
        .load::<Row>(conn)?
        .into_iter()
        .map(Row::into_event)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(events, limit, |e| Cursor {
        key: None,
        id: e.id.to_string(),
        offset: Some(e.seq),
    }))
}

/// The number of the newest audit event about a case (0 if none): it moves with every change
/// to the case or its log, so an open page polls it to know when to refresh. Reads are in the
/// access log, so watching a case never moves it.
pub fn last_change_of_case(conn: &mut DbConnection, case: CaseId) -> Result<i64> {
    let seq: Option<i64> = audit_events::table
        .filter(audit_events::case_id.eq(case.to_string()))
        .select(diesel::dsl::max(audit_events::seq))
        .first(conn)?;
    Ok(seq.unwrap_or(0))
}

/// The audit events about one entity (a beneficiary, a party, a user), in order.
pub fn for_entity(conn: &mut DbConnection, entity_id: &str) -> Result<Vec<AuditEvent>> {
    audit_events::table
        .filter(audit_events::entity_id.eq(entity_id))
        .order(audit_events::seq.asc())
        .load::<Row>(conn)?
        .into_iter()
        .map(Row::into_event)
        .collect()
}

/// The outcome of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every event is intact; this many were checked.
    Intact(i64),
    /// The first place where the chain breaks.
    Broken(ChainBreak),
}

/// Re-hashes a whole chain in order, in batches, and reports the first break.
pub fn verify(conn: &mut DbConnection, chain: Chain) -> Result<Verification> {
    const BATCH: i64 = 5_000;
    let mut sql = Sql::default();
    sql.push("SELECT seq, hash FROM ")
        .push(chain.head())
        .push(" WHERE id = 1");
    let head: Head = sql
        .load(conn)?
        .pop()
        .ok_or_else(|| corrupt("the chain's head row is missing"))?;
    let mut v = ChainVerifier::default();
    let mut after = 0i64;
    loop {
        let mut sql = Sql::default();
        sql.push(
            "SELECT seq, id, occurred_at, actor, action, entity_type, entity_id, case_id, \
             changes, prev_hash, hash FROM ",
        )
        .push(chain.events())
        .push(" WHERE seq > ")
        .bind(Bind::Int(after))
        .push(" ORDER BY seq LIMIT ")
        .bind(Bind::Int(BATCH));
        let batch: Vec<Row> = sql.load(conn)?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for r in &batch {
            let occurred_at = rfc3339(from_db(r.occurred_at));
            let fields = ChainedFields {
                seq: r.seq,
                id: &r.id,
                occurred_at: &occurred_at,
                actor: &r.actor,
                action: &r.action,
                entity_type: &r.entity_type,
                entity_id: &r.entity_id,
                case_id: r.case_id.as_deref(),
                changes: &r.changes,
            };
            if let Err(b) = v.next(&fields, &r.prev_hash, &r.hash) {
                return Ok(Verification::Broken(b));
            }
        }
    }
    Ok(match v.finish((head.seq, &head.hash)) {
        Ok(n) => Verification::Intact(n),
        Err(b) => Verification::Broken(b),
    })
}

/// The access log of one case (who read it, newest last), paged.
pub fn reads_of_case(
    conn: &mut DbConnection,
    case: CaseId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<AuditEvent>> {
    entries(conn, Chain::Access, By::Case(case), cursor, limit)
}

/// The access log of one reader (a user or a token), paged.
pub fn reads_by(
    conn: &mut DbConnection,
    reader: Actor,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<AuditEvent>> {
    entries(conn, Chain::Access, By::Actor(reader), cursor, limit)
}
