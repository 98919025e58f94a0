//! The record of every message a gateway posted: threaded into a case, or quarantined with
//! the reason, and what became of it.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::{CaseId, InboundMailId, MessageId};
use helpline_domain::mail::{CryptoOutcome, EmailDetails};
use helpline_domain::user::Actor;
use serde::Serialize;
use serde_json::json;

use crate::convert::{from_db, from_json, stored, to_db, to_json};
use crate::page::{paginate, Cursor};
use crate::schema::{inbound_mail, messages};
use crate::{DbConnection, Page, Result, StoreError, Tx};

/// What became of a posted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InboundState {
    /// Joined a case's log.
    Threaded,
    /// Could not be read; waits for a lead.
    Quarantined,
}

impl InboundState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Threaded => "threaded",
            Self::Quarantined => "quarantined",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        match s {
            "threaded" => Ok(Self::Threaded),
            "quarantined" => Ok(Self::Quarantined),
            other => Err(StoreError::Corrupt(format!("inbound state {other}"))),
        }
    }
}

/// A message a gateway posted, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboundMail {
    /// Stable id.
    pub id: InboundMailId,
    /// SHA-256 of the raw bytes.
    pub sha256: String,
    /// Its Message-ID.
    pub rfc_message_id: Option<String>,
    /// Raw size in bytes.
    pub size: i64,
    /// Sender address, when it could be read.
    pub sender: Option<String>,
    /// Threaded or quarantined.
    pub state: InboundState,
    /// Why it is in the quarantine.
    pub reason: Option<String>,
    /// The crypto outcome, when the message could be parsed.
    pub crypto: Option<CryptoOutcome>,
    /// The case it joined.
    pub case_id: Option<CaseId>,
    /// The log message it became.
    pub message_id: Option<MessageId>,
    /// Whether it opened its case.
    pub new_case: bool,
    /// Who posted it.
    pub received_by: Actor,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// Last change (retry, assignment).
    pub updated_at: DateTime<Utc>,
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = inbound_mail, treat_none_as_default_value = false)]
struct InboundRow {
    id: String,
    sha256: String,
    rfc_message_id: Option<String>,
    size: i64,
    sender: Option<String>,
    state: String,
    reason: Option<String>,
    crypto: Option<String>,
    case_id: Option<String>,
    message_id: Option<String>,
    new_case: bool,
    received_by: String,
    received_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl InboundRow {
    fn into_mail(self) -> Result<InboundMail> {
        Ok(InboundMail {
            id: stored(InboundMailId::parse(&self.id))?,
            sha256: self.sha256,
            rfc_message_id: self.rfc_message_id,
            size: self.size,
            sender: self.sender,
            state: InboundState::parse(&self.state)?,
            reason: self.reason,
            crypto: self.crypto.as_deref().map(from_json).transpose()?,
            case_id: crate::convert::stored_opt(self.case_id.as_deref(), CaseId::parse)?,
            message_id: crate::convert::stored_opt(self.message_id.as_deref(), MessageId::parse)?,
            new_case: self.new_case,
            received_by: stored(self.received_by.parse())?,
            received_at: from_db(self.received_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

/// The facts of a posted message, whatever became of it.
#[derive(Debug, Clone)]
pub struct NewInbound {
    /// Hash of the raw bytes (already stored with [`put_blob`]).
    pub sha256: String,
    /// Raw size.
    pub size: usize,
    /// Message-ID.
    pub rfc_message_id: Option<String>,
    /// Sender address.
    pub sender: Option<String>,
    /// Crypto outcome, if parsed.
    pub crypto: Option<CryptoOutcome>,
}

/// Records a posted message as threaded into a case.
pub fn record_threaded(
    tx: &mut Tx<'_>,
    new: NewInbound,
    case: CaseId,
    message: MessageId,
    new_case: bool,
) -> Result<InboundMail> {
    insert_inbound(
        tx,
        new,
        InboundState::Threaded,
        None,
        Some((case, message)),
        new_case,
    )
}

/// Records a posted message as quarantined, with the reason.
pub fn record_quarantined(tx: &mut Tx<'_>, new: NewInbound, reason: String) -> Result<InboundMail> {
    let id = new.sha256.clone();
    let m = insert_inbound(
        tx,
        new,
        InboundState::Quarantined,
        Some(reason),
        None,
        false,
    )?;
    tx.audit(
        AuditAction::MailQuarantine,
        "inbound_mail",
        m.id,
        None,
        json!({"sha256": id, "reason": m.reason}),
    );
    Ok(m)
}

fn insert_inbound(
    tx: &mut Tx<'_>,
    new: NewInbound,
    state: InboundState,
    reason: Option<String>,
    threaded: Option<(CaseId, MessageId)>,
    new_case: bool,
) -> Result<InboundMail> {
    let row = InboundRow {
        id: InboundMailId::new().to_string(),
        sha256: new.sha256,
        rfc_message_id: new.rfc_message_id,
        size: i64::try_from(new.size).unwrap_or(i64::MAX),
        sender: new.sender,
        state: state.as_str().to_owned(),
        reason,
        crypto: new.crypto.as_ref().map(to_json).transpose()?,
        case_id: threaded.map(|t| t.0.to_string()),
        message_id: threaded.map(|t| t.1.to_string()),
        new_case,
        received_by: tx.actor.to_string(),
        received_at: to_db(tx.now),
        updated_at: to_db(tx.now),
    };
    diesel::insert_into(inbound_mail::table)
        .values(&row)
        .execute(tx.conn)
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Conflict("this message was already received".into())
            } else {
                e.into()
            }
        })?;
    row.into_mail()
}

/// Marks a quarantined message as threaded (after a retry or a lead's assignment).
pub fn resolve_quarantined(
    tx: &mut Tx<'_>,
    id: InboundMailId,
    crypto: Option<CryptoOutcome>,
    case: CaseId,
    message: MessageId,
    new_case: bool,
    how: AuditAction,
) -> Result<InboundMail> {
    let n = diesel::update(
        inbound_mail::table
            .find(id.to_string())
            .filter(inbound_mail::state.eq(InboundState::Quarantined.as_str())),
    )
    .set((
        inbound_mail::state.eq(InboundState::Threaded.as_str()),
        inbound_mail::crypto.eq(crypto.as_ref().map(to_json).transpose()?),
        inbound_mail::case_id.eq(case.to_string()),
        inbound_mail::message_id.eq(message.to_string()),
        inbound_mail::new_case.eq(new_case),
        inbound_mail::updated_at.eq(to_db(tx.now)),
    ))
    .execute(tx.conn)?;
    if n == 0 {
        return Err(StoreError::Conflict(
            "this message is no longer in the quarantine".into(),
        ));
    }
    tx.audit(
        how,
        "inbound_mail",
        id,
        Some(case),
        json!({"message_id": message, "new_case": new_case}),
    );
    inbound(tx.conn, id)
}

/// Updates the reason a message stays in the quarantine (a retry that failed again).
pub fn requarantine(
    tx: &mut Tx<'_>,
    id: InboundMailId,
    reason: String,
    crypto: Option<CryptoOutcome>,
) -> Result<InboundMail> {
    diesel::update(inbound_mail::table.find(id.to_string()))
        .set((
            inbound_mail::reason.eq(&reason),
            inbound_mail::crypto.eq(crypto.as_ref().map(to_json).transpose()?),
            inbound_mail::updated_at.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)?;
    tx.audit(
        AuditAction::MailRetryFailed,
        "inbound_mail",
        id,
        None,
        json!({"reason": reason}),
    );
    inbound(tx.conn, id)
}

/// One posted message.
pub fn inbound(conn: &mut DbConnection, id: InboundMailId) -> Result<InboundMail> {
    inbound_mail::table
        .find(id.to_string())
        .get_result::<InboundRow>(conn)
        .optional()?
        .ok_or(StoreError::not_found("inbound mail"))?
        .into_mail()
}

/// The posted message with these bytes, if it was received before.
pub fn inbound_by_sha256(conn: &mut DbConnection, sha256: &str) -> Result<Option<InboundMail>> {
    inbound_mail::table
        .filter(inbound_mail::sha256.eq(sha256))
        .get_result::<InboundRow>(conn)
        .optional()?
        .map(InboundRow::into_mail)
        .transpose()
}

/// The quarantine, oldest first, a page at a time.
pub fn quarantine(
    conn: &mut DbConnection,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<InboundMail>> {
    let after = cursor.map(|c| c.id.clone()).unwrap_or_default();
    let rows: Vec<InboundRow> = inbound_mail::table
        .filter(inbound_mail::state.eq(InboundState::Quarantined.as_str()))
        .filter(inbound_mail::id.gt(after))
        .order(inbound_mail::id.asc())
        .limit(limit + 1)
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(InboundRow::into_mail)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |m| Cursor {
        id: m.id.to_string(),
        key: None,
        offset: None,
    }))
}

/// How many messages wait in the quarantine, and since when the oldest has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QuarantineWaiting {
    /// Messages waiting.
    pub waiting: i64,
    /// When the oldest of them arrived.
    pub oldest_received_at: Option<DateTime<Utc>>,
}

/// What waits in the quarantine, counted (for the leads' queue).
pub fn quarantine_waiting(conn: &mut DbConnection) -> Result<QuarantineWaiting> {
    let (waiting, oldest): (i64, Option<NaiveDateTime>) = inbound_mail::table
        .filter(inbound_mail::state.eq(InboundState::Quarantined.as_str()))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(inbound_mail::received_at),
        ))
        .first(conn)?;
    Ok(QuarantineWaiting {
        waiting,
        oldest_received_at: oldest.map(from_db),
    })
}

/// Messages received from a sender whose signatures named a key we did not hold, for
/// checking again once a certificate is added.
pub fn threaded_from_sender(conn: &mut DbConnection, sender: &str) -> Result<Vec<InboundMail>> {
    inbound_mail::table
        .filter(inbound_mail::state.eq(InboundState::Threaded.as_str()))
        .filter(inbound_mail::sender.eq(sender.to_lowercase()))
        .order(inbound_mail::id.asc())
        .load::<InboundRow>(conn)?
        .into_iter()
        .map(InboundRow::into_mail)
        .collect()
}

/// Replaces the crypto outcome of a threaded message and of its log entry.
pub fn update_crypto(tx: &mut Tx<'_>, inbound: &InboundMail, crypto: &CryptoOutcome) -> Result<()> {
    diesel::update(inbound_mail::table.find(inbound.id.to_string()))
        .set((
            inbound_mail::crypto.eq(to_json(crypto)?),
            inbound_mail::updated_at.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)?;
    if let Some(mid) = inbound.message_id {
        let email: Option<String> = messages::table
            .find(mid.to_string())
            .select(messages::email)
            .get_result::<Option<String>>(tx.conn)
            .optional()?
            .flatten();
        if let Some(email) = email {
            let mut details: EmailDetails = from_json(&email)?;
            let before = details.crypto.signature;
            details.crypto = crypto.clone();
            diesel::update(messages::table.find(mid.to_string()))
                .set(messages::email.eq(to_json(&details)?))
                .execute(tx.conn)?;
            tx.audit(
                AuditAction::MessageReverify,
                "message",
                mid,
                inbound.case_id,
                json!({"signature": {"from": before, "to": crypto.signature}}),
            );
        }
    }
    Ok(())
}
