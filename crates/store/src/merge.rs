//! Merging a case into another, and undoing it. The merge moves the source's log (messages,
//! comments, actions, next steps, parties, indicators, evidence, and the mail that threads to
//! it) into the target, leaves the source as a pointer, and records exactly what it moved, so
//! that an unmerge puts back what came from the source and leaves on the target what was added
//! there since.

use helpline_domain::audit::AuditAction;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use helpline_domain::ids::CaseId;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::analysis::ContextRow;
use crate::case_log::PartyRow;
use crate::convert::to_db;
use crate::schema::{case_indicators as ci, case_merges as cm, case_parties as cp, cases};
use crate::{DbConnection, Result, StoreError, Tx};

/// The tables whose rows belong to a case by `case_id` and have their own key: (table, key).
const MOVED_BY_KEY: [(&str, &str); 8] = [
    ("messages", "id"),
    ("comments", "id"),
    ("actions", "id"),
    ("next_steps", "id"),
    ("evidence", "id"),
    ("inbound_mail", "id"),
    ("outbox", "message_id"),
    ("mail_ids", "rfc_message_id"),
];

/// What a merge moved, key by key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Moved {
    by_key: std::collections::BTreeMap<String, Vec<String>>,
    parties: Vec<(String, String)>,
    indicators: Vec<String>,
    duplicate_parties: Vec<PartyRow>,
    duplicate_indicators: Vec<ContextRow>,
}

/// What a merge or an unmerge did, for the caller and the audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeReport {
    /// The case merged.
    pub source: CaseId,
    /// The case it went into.
    pub target: CaseId,
    /// Rows moved, per kind (`messages`, `comments`, ..., `parties`, `indicators`).
    pub moved: serde_json::Value,
    /// When.
    pub at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Key {
    #[diesel(sql_type = Text)]
    key: String,
}

fn merged_into(conn: &mut DbConnection, case: CaseId) -> Result<Option<String>> {
    cases::table
        .find(case.to_string())
        .select(cases::merged_into)
        .get_result::<Option<String>>(conn)
        .optional()?
        .ok_or(StoreError::not_found("case"))
}

fn refuse(what: &str) -> StoreError {
    StoreError::Conflict(what.to_owned())
}

fn counts(m: &Moved) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (table, keys) in &m.by_key {
        out.insert(table.clone(), json!(keys.len()));
    }
    out.insert(
        "parties".into(),
        json!(m.parties.len() + m.duplicate_parties.len()),
    );
    out.insert(
        "indicators".into(),
        json!(m.indicators.len() + m.duplicate_indicators.len()),
    );
    serde_json::Value::Object(out)
}

fn point(tx: &mut Tx<'_>, case: CaseId, to: Option<CaseId>) -> Result<()> {
    diesel::update(cases::table.find(case.to_string()))
        .set((
            cases::merged_into.eq(to.map(|t| t.to_string())),
            cases::updated_at.eq(to_db(tx.now)),
            cases::version.eq(cases::version + 1),
        ))
        .execute(tx.conn)?;
    Ok(())
}

/// Merges `source` into `target`.
pub fn merge(tx: &mut Tx<'_>, source: CaseId, target: CaseId) -> Result<MergeReport> {
    if source == target {
        return Err(StoreError::Domain(helpline_domain::DomainError::invalid(
            "into",
            "a case cannot be merged into itself",
        )));
    }
    if merged_into(tx.conn, source)?.is_some() {
        return Err(refuse("this case is already merged; unmerge it first"));
    }
    if merged_into(tx.conn, target)?.is_some() {
        return Err(refuse(
            "the target was itself merged into another case; merge into that one",
        ));
    }
    let (s, t) = (source.to_string(), target.to_string());
    let mut moved = Moved::default();
    move_keyed(tx, &s, &t, &mut moved)?;
    move_parties(tx, &s, &t, &mut moved)?;
    move_indicators(tx, &s, &t, &mut moved)?;
    point(tx, source, Some(target))?;
    let record = serde_json::to_string(&moved).map_err(crate::convert::corrupt)?;
    diesel::insert_into(cm::table)
        .values((
            cm::id.eq(uuid::Uuid::now_v7().to_string()),
            cm::source_id.eq(&s),
            cm::target_id.eq(&t),
            cm::moved.eq(record),
            cm::merged_by.eq(tx.actor.to_string()),
            cm::merged_at.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)?;
    let n = counts(&moved);
    tx.audit(
        AuditAction::CaseMerge,
        "case",
        source,
        Some(source),
        json!({"into": target, "moved": n}),
    );
    tx.audit(
        AuditAction::CaseMerge,
        "case",
        target,
        Some(target),
        json!({"from": source, "moved": n}),
    );
    tx.texts_changed(source);
    tx.texts_changed(target);
    Ok(MergeReport {
        source,
        target,
        moved: n,
        at: tx.now,
    })
}

/// Moves the rows of the tables keyed on their own (messages, comments, ...) from `s` to `t`,
/// noting each key.
fn move_keyed(tx: &mut Tx<'_>, s: &str, t: &str, moved: &mut Moved) -> Result<()> {
    for (table, key) in MOVED_BY_KEY {
        let keys: Vec<String> = diesel::sql_query(format!(
            "SELECT {key} AS key FROM {table} WHERE case_id = $1 ORDER BY {key}"
        ))
        .bind::<Text, _>(s)
        .load::<Key>(tx.conn)?
        .into_iter()
        .map(|k| k.key)
        .collect();
        diesel::sql_query(format!(
            "UPDATE {table} SET case_id = $1 WHERE case_id = $2"
        ))
        .bind::<Text, _>(t)
        .bind::<Text, _>(s)
        .execute(tx.conn)?;
        moved.by_key.insert(table.to_owned(), keys);
    }
    Ok(())
}

/// Moves the source's party involvements; one the target already has stays there, and the
/// source's row is kept in the record.
fn move_parties(tx: &mut Tx<'_>, s: &str, t: &str, moved: &mut Moved) -> Result<()> {
    let held: HashSet<(String, String)> = cp::table
        .filter(cp::case_id.eq(t))
        .select((cp::party_id, cp::role))
        .load(tx.conn)?
        .into_iter()
        .collect();
    let rows: Vec<PartyRow> = cp::table
        .filter(cp::case_id.eq(s))
        .select(PartyRow::as_select())
        .load(tx.conn)?;
    for row in rows {
        let key = (row.party_id.clone(), row.role.clone());
        if held.contains(&key) {
            diesel::delete(
                cp::table
                    .filter(cp::case_id.eq(s))
                    .filter(cp::party_id.eq(&key.0))
                    .filter(cp::role.eq(&key.1)),
            )
            .execute(tx.conn)?;
            moved.duplicate_parties.push(row);
        } else {
            moved.parties.push(key);
        }
    }
    diesel::update(cp::table.filter(cp::case_id.eq(s)))
        .set(cp::case_id.eq(t))
        .execute(tx.conn)?;
    Ok(())
}

/// Moves the source's indicators; one the target already holds stays there with its context,
/// and the source's context is kept in the record.
fn move_indicators(tx: &mut Tx<'_>, s: &str, t: &str, moved: &mut Moved) -> Result<()> {
    let held: HashSet<String> = ci::table
        .filter(ci::case_id.eq(t))
        .select(ci::indicator_id)
        .load(tx.conn)?
        .into_iter()
        .collect();
    let rows: Vec<ContextRow> = ci::table
        .filter(ci::case_id.eq(s))
        .select(ContextRow::as_select())
        .load(tx.conn)?;
    let (twice, once): (Vec<ContextRow>, Vec<ContextRow>) = rows
        .into_iter()
        .partition(|r| held.contains(&r.indicator_id));
    for chunk in twice.chunks(crate::analysis::CHUNK) {
        diesel::delete(
            ci::table
                .filter(ci::case_id.eq(s))
                .filter(ci::indicator_id.eq_any(chunk.iter().map(|r| &r.indicator_id))),
        )
        .execute(tx.conn)?;
    }
    diesel::update(ci::table.filter(ci::case_id.eq(s)))
        .set(ci::case_id.eq(t))
        .execute(tx.conn)?;
    moved.indicators = once.into_iter().map(|r| r.indicator_id).collect();
    moved.duplicate_indicators = twice;
    Ok(())
}

/// Puts back on `s` what a merge moved from it to `target`, and the rows it kept aside.
fn put_back(tx: &mut Tx<'_>, s: &str, target: &str, moved: &Moved) -> Result<()> {
    for (table, key) in MOVED_BY_KEY {
        for k in moved.by_key.get(table).into_iter().flatten() {
            diesel::sql_query(format!(
                "UPDATE {table} SET case_id = $1 WHERE {key} = $2 AND case_id = $3"
            ))
            .bind::<Text, _>(s)
            .bind::<Text, _>(k)
            .bind::<Text, _>(target)
            .execute(tx.conn)?;
        }
    }
    for (party, role) in &moved.parties {
        diesel::update(
            cp::table
                .filter(cp::case_id.eq(target))
                .filter(cp::party_id.eq(party))
                .filter(cp::role.eq(role)),
        )
        .set(cp::case_id.eq(s))
        .execute(tx.conn)?;
    }
    for p in &moved.duplicate_parties {
        diesel::insert_into(cp::table)
            .values((cp::case_id.eq(s), p))
            .execute(tx.conn)?;
    }
    for i in &moved.indicators {
        diesel::update(
            ci::table
                .filter(ci::case_id.eq(target))
                .filter(ci::indicator_id.eq(i)),
        )
        .set(ci::case_id.eq(s))
        .execute(tx.conn)?;
    }
    for r in &moved.duplicate_indicators {
        diesel::insert_into(ci::table)
            .values((ci::case_id.eq(s), r))
            .execute(tx.conn)?;
    }
    Ok(())
}

/// Undoes the last merge of `source`: what came from it goes back (with the changes made to
/// it since), what was added to the target since stays there.
pub fn unmerge(tx: &mut Tx<'_>, source: CaseId) -> Result<MergeReport> {
    let s = source.to_string();
    let (id, target, record): (String, String, String) = cm::table
        .filter(cm::source_id.eq(&s))
        .filter(cm::undone_at.is_null())
        .order(cm::merged_at.desc())
        .select((cm::id, cm::target_id, cm::moved))
        .first(tx.conn)
        .optional()?
        .ok_or_else(|| refuse("this case is not merged"))?;
    let target_id = CaseId::parse(&target).map_err(crate::convert::corrupt)?;
    if merged_into(tx.conn, target_id)?.is_some() {
        return Err(refuse(
            "the case it was merged into has since been merged elsewhere; unmerge that first",
        ));
    }
    let moved: Moved = serde_json::from_str(&record).map_err(crate::convert::corrupt)?;
    put_back(tx, &s, &target, &moved)?;
    point(tx, source, None)?;
    diesel::update(cm::table.find(&id))
        .set((
            cm::undone_by.eq(Some(tx.actor.to_string())),
            cm::undone_at.eq(Some(to_db(tx.now))),
        ))
        .execute(tx.conn)?;
    let n = counts(&moved);
    tx.audit(
        AuditAction::CaseUnmerge,
        "case",
        source,
        Some(source),
        json!({"from": target_id, "restored": n}),
    );
    tx.audit(
        AuditAction::CaseUnmerge,
        "case",
        target_id,
        Some(target_id),
        json!({"restored_to": source, "restored": n}),
    );
    tx.texts_changed(source);
    tx.texts_changed(target_id);
    Ok(MergeReport {
        source,
        target: target_id,
        moved: n,
        at: tx.now,
    })
}
