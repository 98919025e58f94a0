//! Outgoing webhooks: events queued in the transaction of the change they tell of, the calls
//! due, and the record of each attempt.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::case::Case;
use helpline_domain::workflow::WebhookEvent;
use serde::Serialize;
use serde_json::{json, Value};

use super::Policy;
use crate::convert::{from_db, to_db};
use crate::page::{paginate, Cursor};
use crate::schema::webhook_deliveries as wd;
use crate::{DbConnection, Page, Result, Tx};

/// What a webhook may say about a case: ids, levels, times and people; never names, text
/// or the beneficiary (receivers are chat rooms and pagers).
fn case_facts(case: &Case) -> Value {
    json!({
        "id": case.id,
        "ref": case.reference,
        "status": case.status,
        "urgency": case.urgency,
        "priority": case.priority,
        "confidential": case.confidential,
        "assignee_id": case.assignee_id,
        "vetting": case.vetting,
        "first_response_due_at": case.first_response_due_at,
        "resolution_due_at": case.resolution_due_at,
        "escalation": case.escalation,
    })
}

/// Queues an event for every configured webhook, in the transaction of the change it tells of.
pub fn announce(tx: &mut Tx<'_>, policy: &Policy, event: WebhookEvent, case: &Case) {
    announce_with(tx, policy, event, case, Value::Null);
}

/// Queues an event about a case with what else a receiver needs to know of it (`detail`).
pub fn announce_with(
    tx: &mut Tx<'_>,
    policy: &Policy,
    event: WebhookEvent,
    case: &Case,
    detail: Value,
) {
    let mut body = json!({ "case": case_facts(case) });
    if !detail.is_null() {
        body["detail"] = detail;
    }
    queue(tx, policy, event, body);
}

/// Queues an event about a received message that joined no case (it waits in the quarantine):
/// its record's id, size, reason and time — never its sender or content.
pub fn announce_quarantined(tx: &mut Tx<'_>, policy: &Policy, inbound: &crate::mail::InboundMail) {
    let body = json!({
        "inbound": {
            "id": inbound.id,
            "size": inbound.size,
            "reason": inbound.reason,
            "received_at": inbound.received_at,
        }
    });
    queue(tx, policy, WebhookEvent::MailQuarantined, body);
}

/// Adds the event's name, time and a delivery id to `body` and queues it once per URL.
fn queue(tx: &mut Tx<'_>, policy: &Policy, event: WebhookEvent, mut body: Value) {
    if policy.webhook_urls.is_empty() {
        return;
    }
    body["event"] = json!(event);
    body["occurred_at"] = json!(tx.now);
    for url in &policy.webhook_urls {
        let id = uuid::Uuid::now_v7();
        let mut b = body.clone();
        b["id"] = json!(id);
        let r = diesel::insert_into(wd::table)
            .values((
                wd::id.eq(id.to_string()),
                wd::url.eq(url),
                wd::event.eq(event.as_str()),
                wd::payload.eq(b.to_string()),
                wd::state.eq("pending"),
                wd::attempts.eq(0),
                wd::next_attempt_at.eq(to_db(tx.now)),
                wd::created_at.eq(to_db(tx.now)),
            ))
            .execute(tx.conn);
        if let Err(e) = r {
            tracing::error!(error = %e, event = event.as_str(), "could not queue a webhook");
        }
    }
}

/// A webhook call waiting to be made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// Stable id (also in the payload, for receivers to drop repeats).
    pub id: String,
    /// Where.
    pub url: String,
    /// The event name.
    pub event: String,
    /// The JSON body, as signed.
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i32,
    /// Last failure.
    pub last_error: Option<String>,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

type DeliveryRow = (
    String,
    String,
    String,
    String,
    String,
    i32,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

fn delivery(r: DeliveryRow) -> Delivery {
    Delivery {
        id: r.0,
        url: r.1,
        event: r.2,
        payload: r.3,
        state: r.4,
        attempts: r.5,
        last_error: r.6,
        created_at: from_db(r.7),
        delivered_at: r.8.map(from_db),
    }
}

macro_rules! delivery_columns {
    () => {
        (
            wd::id,
            wd::url,
            wd::event,
            wd::payload,
            wd::state,
            wd::attempts,
            wd::last_error,
            wd::created_at,
            wd::delivered_at,
        )
    };
}

/// Whether any call is due by `now` and not claimed by a live node: the cheap look before
/// claiming, which is a write.
pub fn any_due(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<bool> {
    crate::claims::any_due(conn, crate::claims::Queue::Webhooks, now)
}

/// Claims up to `limit` calls due at the transaction's time for `node`, for `lease` (see
/// [`crate::claims`]): no other node makes them meanwhile. Oldest due first.
pub fn claim_due(
    tx: &mut Tx<'_>,
    node: &str,
    lease: chrono::Duration,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let keys = crate::claims::claim(tx, crate::claims::Queue::Webhooks, node, lease, limit)?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<DeliveryRow> = wd::table
        .filter(wd::id.eq_any(&keys))
        .order((wd::next_attempt_at.asc(), wd::id.asc()))
        .select(delivery_columns!())
        .load(tx.conn)?;
    Ok(rows.into_iter().map(delivery).collect())
}

/// The calls made, newest first, a page at a time (for admins to see what failed).
pub fn deliveries(
    conn: &mut DbConnection,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Delivery>> {
    let mut q = wd::table
        .order(wd::id.desc())
        .limit(limit + 1)
        .select(delivery_columns!())
        .into_boxed();
    if let Some(c) = cursor {
        q = q.filter(wd::id.lt(c.id.clone()));
    }
    let rows: Vec<DeliveryRow> = q.load(conn)?;
    Ok(paginate(
        rows.into_iter().map(delivery).collect(),
        limit,
        |d| crate::page::after_id(&d.id),
    ))
}

/// Records one attempt: delivered, retried at `retry_at`, or failed for good (`None`).
pub fn record_delivery(
    tx: &mut Tx<'_>,
    id: &str,
    outcome: std::result::Result<(), (String, Option<DateTime<Utc>>)>,
) -> Result<()> {
    let target = wd::table.find(id);
    // The outcome is recorded: the claim ends with it, in the same transaction.
    diesel::update(target)
        .set((
            wd::claimed_by.eq(None::<String>),
            wd::claimed_until.eq(None::<chrono::NaiveDateTime>),
        ))
        .execute(tx.conn)?;
    match outcome {
        Ok(()) => diesel::update(target)
            .set((
                wd::state.eq("delivered"),
                wd::attempts.eq(wd::attempts + 1),
                wd::delivered_at.eq(Some(to_db(tx.now))),
                wd::last_error.eq(None::<String>),
            ))
            .execute(tx.conn)?,
        Err((why, Some(retry))) => diesel::update(target)
            .set((
                wd::attempts.eq(wd::attempts + 1),
                wd::next_attempt_at.eq(to_db(retry)),
                wd::last_error.eq(Some(why)),
            ))
            .execute(tx.conn)?,
        Err((why, None)) => diesel::update(target)
            .set((
                wd::state.eq("failed"),
                wd::attempts.eq(wd::attempts + 1),
                wd::last_error.eq(Some(why)),
            ))
            .execute(tx.conn)?,
    };
    Ok(())
}
