//! A case's timeline: messages (when they happened), comments, actions (when performed), next
//! steps and parties (when added), hand-offs and the audit events, in time order, a page at a
//! time. Each kind is read with a keyset on (time, id) from where the last page ended, so a
//! page costs the same at the start of a long case as at its end; the kinds are merged on
//! (time, kind, id), which puts a record before its own audit event at the same instant.
//! A case's parties and hand-offs are read whole (they number in the tens) and cut in memory.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::ids::CaseId;
use helpline_domain::log::{ActionTaken, CaseParty, Comment, Message, NextStep};
use helpline_domain::workflow::Handoff;
use serde::Serialize;

use crate::audit::AuditEvent;
use crate::case_log::{ActionRow, CommentRow, MessageRow, NextStepRow};
use crate::convert::to_db;
use crate::page::{paginate, Cursor};
use crate::schema::{actions, audit_events, comments, messages, next_steps};
use crate::{DbConnection, Page, Result, StoreError};

/// One entry of a case's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "item", rename_all = "snake_case")]
pub enum TimelineItem {
    /// A message.
    Message(Box<Message>),
    /// A comment.
    Comment(Comment),
    /// An action taken.
    Action(ActionTaken),
    /// A next step (as it stands now).
    NextStep(NextStep),
    /// A party involved.
    Party(CaseParty),
    /// A change of hands, with the note to the next handler.
    Handoff(Handoff),
    /// A change on record.
    Audit(AuditEvent),
}

impl TimelineItem {
    /// The order of kinds at the same instant: records before the audit that tells of them.
    fn rank(&self) -> i64 {
        match self {
            TimelineItem::Message(_) => 0,
            TimelineItem::Comment(_) => 1,
            TimelineItem::Action(_) => 2,
            TimelineItem::NextStep(_) => 3,
            TimelineItem::Party(_) => 4,
            TimelineItem::Handoff(_) => 5,
            TimelineItem::Audit(_) => 6,
        }
    }

    /// The id that orders entries of one kind at the same instant.
    fn key_id(&self) -> String {
        match self {
            TimelineItem::Message(x) => x.id.to_string(),
            TimelineItem::Comment(x) => x.id.to_string(),
            TimelineItem::Action(x) => x.id.to_string(),
            TimelineItem::NextStep(x) => x.id.to_string(),
            TimelineItem::Party(x) => x.party_id.to_string(),
            TimelineItem::Handoff(x) => x.id.to_string(),
            TimelineItem::Audit(x) => x.id.to_string(),
        }
    }
}

/// A timeline entry with the instant it sorts by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    #[serde(flatten)]
    pub item: TimelineItem,
}

impl TimelineEntry {
    fn key(&self) -> (NaiveDateTime, i64, String) {
        (to_db(self.at), self.item.rank(), self.item.key_id())
    }
}

/// Where a page starts: after the entry with this (time, kind rank, id).
struct After {
    at: NaiveDateTime,
    rank: i64,
    id: String,
}

/// Entries of kind `$rank` strictly after `$after` in (time, kind, id) order.
macro_rules! after {
    ($q:expr, $at:expr, $id:expr, $rank:expr, $after:expr) => {
        match $after {
            None => $q,
            Some(a) if $rank > a.rank => $q.filter($at.ge(a.at)),
            Some(a) if $rank < a.rank => $q.filter($at.gt(a.at)),
            Some(a) => $q.filter($at.gt(a.at).or($at.eq(a.at).and($id.gt(a.id.clone())))),
        }
    };
}

/// A page of the case's timeline; audit events only `with_audit`.
pub fn timeline(
    conn: &mut DbConnection,
    case: CaseId,
    with_audit: bool,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<TimelineEntry>> {
    let after = match cursor {
        None => None,
        Some(Cursor {
            key: Some(at),
            offset: Some(rank),
            id,
        }) => Some(After {
            at: *at,
            rank: *rank,
            id: id.clone(),
        }),
        Some(_) => {
            return Err(StoreError::Domain(helpline_domain::DomainError::invalid(
                "cursor",
                "this cursor belongs to another list",
            )))
        }
    };
    let (after, n) = (after.as_ref(), limit + 1);
    // Each kind's first `n` after the cursor: the page's `n` are among them.
    let mut out = log_entries(conn, case, after, n)?;
    for p in crate::case_log::case_parties(conn, case)? {
        out.push(TimelineEntry {
            at: p.added_at,
            item: TimelineItem::Party(p),
        });
    }
    for h in crate::workflow::handoffs(conn, case)? {
        out.push(TimelineEntry {
            at: h.handed_at,
            item: TimelineItem::Handoff(h),
        });
    }
    if with_audit {
        out.extend(audit_entries(conn, case, after, n)?);
    }
    // Parties and hand-offs were read whole: keep those after the cursor, like the rest.
    if let Some(a) = after {
        let start = (a.at, a.rank, a.id.clone());
        out.retain(|e| e.key() > start);
    }
    out.sort_by_cached_key(TimelineEntry::key);
    out.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    Ok(paginate(out, limit, |e| {
        let (at, rank, id) = e.key();
        Cursor {
            key: Some(at),
            id,
            offset: Some(rank),
        }
    }))
}

/// Up to `n` messages, comments, actions and next steps each, after the cursor.
fn log_entries(
    conn: &mut DbConnection,
    case: CaseId,
    after: Option<&After>,
    n: i64,
) -> Result<Vec<TimelineEntry>> {
    let cid = case.to_string();
    let mut out = Vec::new();
    let q = messages::table
        .filter(messages::case_id.eq(&cid))
        .into_boxed();
    let rows: Vec<MessageRow> = after!(q, messages::occurred_at, messages::id, 0, after)
        .order((messages::occurred_at.asc(), messages::id.asc()))
        .limit(n)
        .load(conn)?;
    let mut msgs = rows
        .into_iter()
        .map(MessageRow::into_message)
        .collect::<Result<Vec<_>>>()?;
    crate::case_log::with_deliveries(conn, case, &mut msgs)?;
    out.extend(msgs.into_iter().map(|m| TimelineEntry {
        at: m.occurred_at,
        item: TimelineItem::Message(Box::new(m)),
    }));
    let q = comments::table
        .filter(comments::case_id.eq(&cid))
        .into_boxed();
    let rows: Vec<CommentRow> = after!(q, comments::created_at, comments::id, 1, after)
        .order((comments::created_at.asc(), comments::id.asc()))
        .limit(n)
        .load(conn)?;
    for c in rows.into_iter().map(CommentRow::into_comment) {
        let c = c?;
        out.push(TimelineEntry {
            at: c.created_at,
            item: TimelineItem::Comment(c),
        });
    }
    let q = actions::table
        .filter(actions::case_id.eq(&cid))
        .into_boxed();
    let rows: Vec<ActionRow> = after!(q, actions::performed_at, actions::id, 2, after)
        .order((actions::performed_at.asc(), actions::id.asc()))
        .limit(n)
        .load(conn)?;
    for a in rows.into_iter().map(ActionRow::into_action) {
        let a = a?;
        out.push(TimelineEntry {
            at: a.performed_at,
            item: TimelineItem::Action(a),
        });
    }
    let q = next_steps::table
        .filter(next_steps::case_id.eq(&cid))
        .into_boxed();
    let rows: Vec<NextStepRow> = after!(q, next_steps::created_at, next_steps::id, 3, after)
        .order((next_steps::created_at.asc(), next_steps::id.asc()))
        .limit(n)
        .load(conn)?;
    for s in rows.into_iter().map(NextStepRow::into_step) {
        let s = s?;
        out.push(TimelineEntry {
            at: s.created_at,
            item: TimelineItem::NextStep(s),
        });
    }
    Ok(out)
}

/// Up to `n` of the case's audit events after the cursor.
fn audit_entries(
    conn: &mut DbConnection,
    case: CaseId,
    after: Option<&After>,
    n: i64,
) -> Result<Vec<TimelineEntry>> {
    let q = audit_events::table
        .filter(audit_events::case_id.eq(case.to_string()))
        .into_boxed();
    let rows: Vec<crate::audit::Row> =
        after!(q, audit_events::occurred_at, audit_events::id, 6, after)
            .order((audit_events::occurred_at.asc(), audit_events::id.asc()))
            .limit(n)
            .load(conn)?;
    rows.into_iter()
        .map(|r| {
            let e = r.into_event()?;
            Ok(TimelineEntry {
                at: e.record.occurred_at,
                item: TimelineItem::Audit(e),
            })
        })
        .collect()
}
