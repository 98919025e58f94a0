//! The outbox: composed replies waiting for the relay, their attempts and delivery.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::{CaseId, MessageId};
use helpline_domain::mail::{Delivery, DeliveryState};
use serde_json::json;

use super::put_blob;
use crate::convert::{from_db, from_json, stored, to_db, to_json};
use crate::schema::outbox;
use crate::{DbConnection, Result, Tx};

/// A composed reply waiting for the relay.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    /// The log message it is.
    pub message_id: MessageId,
    /// Its case.
    pub case_id: CaseId,
    /// Envelope sender.
    pub sender: String,
    /// Envelope recipients.
    pub recipients: Vec<String>,
    /// Hash of the composed bytes.
    pub sha256: String,
    /// Attempts so far.
    pub attempts: u32,
}

/// Puts a composed reply in the outbox.
pub fn enqueue(
    tx: &mut Tx<'_>,
    message: MessageId,
    case: CaseId,
    sender: &str,
    recipients: &[String],
    raw: &[u8],
    encrypted: bool,
) -> Result<()> {
    let sha = put_blob(tx, raw)?;
    diesel::insert_into(outbox::table)
        .values((
            outbox::message_id.eq(message.to_string()),
            outbox::case_id.eq(case.to_string()),
            outbox::sender.eq(sender),
            outbox::recipients.eq(to_json(&recipients)?),
            outbox::sha256.eq(sha),
            outbox::encrypted.eq(encrypted),
            outbox::state.eq(DeliveryState::Queued.as_str()),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(to_db(tx.now)),
            outbox::created_at.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)?;
    Ok(())
}

/// Whether any reply is due for an attempt at `now` and not claimed by a live node: the cheap
/// look before claiming, which is a write.
pub fn any_due(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<bool> {
    crate::claims::any_due(conn, crate::claims::Queue::Outbox, now)
}

/// Claims up to `limit` replies due at the transaction's time for `node`, for `lease` (see
/// [`crate::claims`]): no other node sends them meanwhile. Oldest due first.
pub fn claim_due(
    tx: &mut Tx<'_>,
    node: &str,
    lease: chrono::Duration,
    limit: i64,
) -> Result<Vec<OutboxItem>> {
    let keys = crate::claims::claim(tx, crate::claims::Queue::Outbox, node, lease, limit)?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String, String, String, String, i32)> = outbox::table
        .filter(outbox::message_id.eq_any(&keys))
        .order(outbox::next_attempt_at.asc())
        .select((
            outbox::message_id,
            outbox::case_id,
            outbox::sender,
            outbox::recipients,
            outbox::sha256,
            outbox::attempts,
        ))
        .load(tx.conn)?;
    rows.into_iter()
        .map(|(m, c, s, r, sha, a)| {
            Ok(OutboxItem {
                message_id: stored(MessageId::parse(&m))?,
                case_id: stored(CaseId::parse(&c))?,
                sender: s,
                recipients: from_json(&r)?,
                sha256: sha,
                attempts: u32::try_from(a).unwrap_or(0),
            })
        })
        .collect()
}

/// Records the outcome of one delivery attempt.
pub fn record_attempt(
    tx: &mut Tx<'_>,
    item: &OutboxItem,
    state: DeliveryState,
    error: Option<String>,
    next_attempt_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let attempts = i32::try_from(item.attempts + 1).unwrap_or(i32::MAX);
    diesel::update(outbox::table.find(item.message_id.to_string()))
        .set((
            outbox::state.eq(state.as_str()),
            outbox::attempts.eq(attempts),
            outbox::last_error.eq(&error),
            outbox::next_attempt_at.eq(to_db(next_attempt_at.unwrap_or(tx.now))),
            outbox::sent_at.eq((state == DeliveryState::Sent).then(|| to_db(tx.now))),
            // The outcome is recorded: the claim ends with it, in the same transaction.
            outbox::claimed_by.eq(None::<String>),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(tx.conn)?;
    tx.audit(
        AuditAction::MessageDelivery,
        "message",
        item.message_id,
        Some(item.case_id),
        json!({"state": state, "attempts": attempts, "error": error}),
    );
    Ok(())
}

/// Delivery states of a case's outbound messages, by message id.
pub fn deliveries(conn: &mut DbConnection, case: CaseId) -> Result<Vec<(MessageId, Delivery)>> {
    type R = (
        String,
        String,
        i32,
        NaiveDateTime,
        Option<String>,
        Option<NaiveDateTime>,
    );
    let rows: Vec<R> = outbox::table
        .filter(outbox::case_id.eq(case.to_string()))
        .select((
            outbox::message_id,
            outbox::state,
            outbox::attempts,
            outbox::next_attempt_at,
            outbox::last_error,
            outbox::sent_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(m, s, a, next, err, sent)| {
            let state = stored(DeliveryState::parse(&s))?;
            Ok((
                stored(MessageId::parse(&m))?,
                Delivery {
                    state,
                    attempts: u32::try_from(a).unwrap_or(0),
                    next_attempt_at: matches!(
                        state,
                        DeliveryState::Queued | DeliveryState::Retrying
                    )
                    .then(|| from_db(next)),
                    last_error: err,
                    sent_at: sent.map(from_db),
                },
            ))
        })
        .collect()
}
