//! Mail: raw messages kept byte for byte (content-addressed), the record of every message a
//! gateway posted (threaded or quarantined), Message-IDs for threading, beneficiaries'
//! certificates, evidence from attachments, and the outbox of replies.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::ids::{BeneficiaryId, CaseId, CertificateId, InboundMailId, MessageId};
use helpline_domain::mail::{
    CertificateSource, CryptoOutcome, Delivery, DeliveryState, EmailDetails,
};
use helpline_domain::user::Actor;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::convert::{from_db, from_json, stored, to_db, to_json};
use crate::page::{paginate, Cursor};
use crate::schema::{
    blobs, certificate_keys, certificates, inbound_mail, mail_ids, messages, outbox,
};
use crate::{DbConnection, Page, Result, StoreError, Tx};

// ---- blobs ----

/// Stores bytes once under their SHA-256; returns the hex hash.
pub fn put_blob(tx: &mut Tx<'_>, data: &[u8]) -> Result<String> {
    let sha = hex::encode(Sha256::digest(data));
    let exists: Option<String> = blobs::table
        .find(&sha)
        .select(blobs::sha256)
        .first(tx.conn)
        .optional()?;
    if exists.is_none() {
        diesel::insert_into(blobs::table)
            .values((
                blobs::sha256.eq(&sha),
                blobs::size.eq(i64::try_from(data.len()).unwrap_or(i64::MAX)),
                blobs::data.eq(data),
                blobs::created_at.eq(to_db(tx.now)),
            ))
            .execute(tx.conn)?;
    }
    Ok(sha)
}

/// The bytes stored under a hash.
pub fn blob(conn: &mut DbConnection, sha256: &str) -> Result<Vec<u8>> {
    blobs::table
        .find(sha256)
        .select(blobs::data)
        .first(conn)
        .optional()?
        .ok_or(StoreError::not_found("blob"))
}

// ---- inbound mail ----

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
    fn as_str(self) -> &'static str {
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
#[diesel(table_name = inbound_mail)]
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
            case_id: self
                .case_id
                .as_deref()
                .map(CaseId::parse)
                .transpose()
                .map_err(crate::convert::corrupt)?,
            message_id: self
                .message_id
                .as_deref()
                .map(MessageId::parse)
                .transpose()
                .map_err(crate::convert::corrupt)?,
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
        "mail.quarantine",
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
    how: &str,
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
        &format!("mail.{how}"),
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
        "mail.retry_failed",
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
        .first::<InboundRow>(conn)
        .optional()?
        .ok_or(StoreError::not_found("inbound mail"))?
        .into_mail()
}

/// The posted message with these bytes, if it was received before.
pub fn inbound_by_sha256(conn: &mut DbConnection, sha256: &str) -> Result<Option<InboundMail>> {
    inbound_mail::table
        .filter(inbound_mail::sha256.eq(sha256))
        .first::<InboundRow>(conn)
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
            .first::<Option<String>>(tx.conn)
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
                "message.reverify",
                "message",
                mid,
                inbound.case_id,
                json!({"signature": {"from": before, "to": crypto.signature}}),
            );
        }
    }
    Ok(())
}

// ---- threading by Message-ID ----

/// Remembers a Message-ID as belonging to a case (first one wins).
pub fn remember_message_id(
    tx: &mut Tx<'_>,
    rfc_message_id: &str,
    case: CaseId,
    message: Option<MessageId>,
) -> Result<()> {
    let known: Option<String> = mail_ids::table
        .find(rfc_message_id)
        .select(mail_ids::case_id)
        .first(tx.conn)
        .optional()?;
    if known.is_none() {
        diesel::insert_into(mail_ids::table)
            .values((
                mail_ids::rfc_message_id.eq(rfc_message_id),
                mail_ids::case_id.eq(case.to_string()),
                mail_ids::message_id.eq(message.map(|m| m.to_string())),
            ))
            .execute(tx.conn)?;
    }
    Ok(())
}

/// The case of the first of these Message-IDs that Helpline has seen.
pub fn case_for_message_ids(conn: &mut DbConnection, ids: &[String]) -> Result<Option<CaseId>> {
    for id in ids {
        let found: Option<String> = mail_ids::table
            .find(id)
            .select(mail_ids::case_id)
            .first(conn)
            .optional()?;
        if let Some(c) = found {
            return Ok(Some(stored(CaseId::parse(&c))?));
        }
    }
    Ok(None)
}

// ---- certificates ----

/// A certificate held for a beneficiary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Certificate {
    /// Stable id.
    pub id: CertificateId,
    /// Whose.
    pub beneficiary_id: BeneficiaryId,
    /// Primary key fingerprint.
    pub fingerprint: String,
    /// User IDs.
    pub user_ids: Vec<String>,
    /// Email addresses in the user IDs.
    pub emails: Vec<String>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked by its owner.
    pub revoked: bool,
    /// Has a key that can be encrypted to.
    pub can_encrypt: bool,
    /// How it was obtained.
    pub source: CertificateSource,
    /// Whether a person confirmed it belongs to the beneficiary.
    pub confirmed: bool,
    /// Who added it.
    pub added_by: Actor,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The certificate, armored.
    pub armored: String,
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = certificates)]
struct CertRow {
    id: String,
    beneficiary_id: String,
    fingerprint: String,
    armored: String,
    user_ids: String,
    emails: String,
    expires_at: Option<NaiveDateTime>,
    revoked: bool,
    can_encrypt: bool,
    source: String,
    confirmed: bool,
    added_by: String,
    created_at: NaiveDateTime,
}

impl CertRow {
    fn into_cert(self) -> Result<Certificate> {
        Ok(Certificate {
            id: stored(CertificateId::parse(&self.id))?,
            beneficiary_id: stored(BeneficiaryId::parse(&self.beneficiary_id))?,
            fingerprint: self.fingerprint,
            user_ids: from_json(&self.user_ids)?,
            emails: from_json(&self.emails)?,
            expires_at: self.expires_at.map(from_db),
            revoked: self.revoked,
            can_encrypt: self.can_encrypt,
            source: stored(CertificateSource::parse(&self.source))?,
            confirmed: self.confirmed,
            added_by: stored(self.added_by.parse())?,
            created_at: from_db(self.created_at),
            armored: self.armored,
        })
    }
}

/// A certificate to store, already read and summarised by the mail crate.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    /// Whose.
    pub beneficiary_id: BeneficiaryId,
    /// Fingerprint.
    pub fingerprint: String,
    /// Armored.
    pub armored: String,
    /// User IDs.
    pub user_ids: Vec<String>,
    /// Emails in them.
    pub emails: Vec<String>,
    /// Every key id and fingerprint in it.
    pub key_handles: Vec<String>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked.
    pub revoked: bool,
    /// Can be encrypted to.
    pub can_encrypt: bool,
    /// How obtained.
    pub source: CertificateSource,
    /// Confirmed by a person.
    pub confirmed: bool,
}

/// Stores a certificate for a beneficiary; the same fingerprint again updates it (a refreshed
/// expiry or a revocation) and keeps the stronger of the two confirmations.
pub fn add_certificate(tx: &mut Tx<'_>, new: NewCertificate) -> Result<(Certificate, bool)> {
    let existing: Option<CertRow> = certificates::table
        .filter(certificates::beneficiary_id.eq(new.beneficiary_id.to_string()))
        .filter(certificates::fingerprint.eq(&new.fingerprint))
        .first(tx.conn)
        .optional()?;
    let (id, created) = match existing {
        Some(row) => {
            diesel::update(certificates::table.find(&row.id))
                .set((
                    certificates::armored.eq(&new.armored),
                    certificates::user_ids.eq(to_json(&new.user_ids)?),
                    certificates::emails.eq(to_json(&new.emails)?),
                    certificates::expires_at.eq(new.expires_at.map(to_db)),
                    certificates::revoked.eq(new.revoked),
                    certificates::can_encrypt.eq(new.can_encrypt),
                    certificates::confirmed.eq(row.confirmed || new.confirmed),
                ))
                .execute(tx.conn)?;
            (row.id, false)
        }
        None => {
            let id = CertificateId::new().to_string();
            diesel::insert_into(certificates::table)
                .values(CertRow {
                    id: id.clone(),
                    beneficiary_id: new.beneficiary_id.to_string(),
                    fingerprint: new.fingerprint.clone(),
                    armored: new.armored.clone(),
                    user_ids: to_json(&new.user_ids)?,
                    emails: to_json(&new.emails)?,
                    expires_at: new.expires_at.map(to_db),
                    revoked: new.revoked,
                    can_encrypt: new.can_encrypt,
                    source: new.source.as_str().to_owned(),
                    confirmed: new.confirmed,
                    added_by: tx.actor.to_string(),
                    created_at: to_db(tx.now),
                })
                .execute(tx.conn)?;
            for h in &new.key_handles {
                diesel::insert_into(certificate_keys::table)
                    .values((
                        certificate_keys::handle.eq(h.to_uppercase()),
                        certificate_keys::certificate_id.eq(&id),
                    ))
                    .execute(tx.conn)?;
            }
            (id, true)
        }
    };
    tx.audit(
        if created {
            "certificate.create"
        } else {
            "certificate.update"
        },
        "certificate",
        &id,
        None,
        json!({"beneficiary_id": new.beneficiary_id, "fingerprint": new.fingerprint,
               "source": new.source, "confirmed": new.confirmed, "revoked": new.revoked}),
    );
    let row: CertRow = certificates::table.find(&id).first(tx.conn)?;
    Ok((row.into_cert()?, created))
}

/// A beneficiary's certificates, oldest first.
pub fn certificates_of(conn: &mut DbConnection, who: BeneficiaryId) -> Result<Vec<Certificate>> {
    certificates::table
        .filter(certificates::beneficiary_id.eq(who.to_string()))
        .order(certificates::created_at.asc())
        .load::<CertRow>(conn)?
        .into_iter()
        .map(CertRow::into_cert)
        .collect()
}

/// Armored certificates holding any of these key ids or fingerprints (upper-case hex).
pub fn armored_for_handles(conn: &mut DbConnection, handles: &[String]) -> Result<Vec<String>> {
    let upper: Vec<String> = handles.iter().map(|h| h.to_uppercase()).collect();
    let ids: Vec<String> = certificate_keys::table
        .filter(certificate_keys::handle.eq_any(&upper))
        .select(certificate_keys::certificate_id)
        .distinct()
        .load(conn)?;
    Ok(certificates::table
        .filter(certificates::id.eq_any(ids))
        .select(certificates::armored)
        .load(conn)?)
}

/// Keeps a message's attachment as evidence on its case.
pub fn add_attachment(
    tx: &mut Tx<'_>,
    case: CaseId,
    message: MessageId,
    filename: Option<String>,
    media_type: &str,
    data: &[u8],
) -> Result<crate::evidence::Evidence> {
    crate::evidence::collect(
        tx,
        case,
        crate::evidence::NewEvidence {
            data,
            filename,
            media_type: media_type.to_owned(),
            source: crate::evidence::EvidenceSource::MessageAttachment,
            message_id: Some(message),
            description: String::new(),
            tlp: helpline_domain::indicator::Tlp::Amber,
            collected_at: None,
        },
    )
}

// ---- outbox ----

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

/// Replies due for an attempt at `now`, oldest first.
pub fn due(conn: &mut DbConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<OutboxItem>> {
    let rows: Vec<(String, String, String, String, String, i32)> = outbox::table
        .filter(outbox::state.eq_any([
            DeliveryState::Queued.as_str(),
            DeliveryState::Retrying.as_str(),
        ]))
        .filter(outbox::next_attempt_at.le(to_db(now)))
        .order(outbox::next_attempt_at.asc())
        .limit(limit)
        .select((
            outbox::message_id,
            outbox::case_id,
            outbox::sender,
            outbox::recipients,
            outbox::sha256,
            outbox::attempts,
        ))
        .load(conn)?;
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
        ))
        .execute(tx.conn)?;
    tx.audit(
        "message.delivery",
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

// ---- encryption policy ----

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    flag: bool,
}

/// Whether the case or its beneficiary requires encrypted replies.
pub fn encryption_required(conn: &mut DbConnection, case: CaseId) -> Result<bool> {
    let f: Option<Flag> = diesel::sql_query(
        "SELECT (c.require_encryption OR b.require_encryption) AS flag \
         FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id WHERE c.id = $1",
    )
    .bind::<diesel::sql_types::Text, _>(case.to_string())
    .get_result(conn)
    .optional()?;
    Ok(f.is_some_and(|f| f.flag))
}

/// Sets whether a case (`cases`) or a beneficiary (`beneficiaries`) requires encrypted replies.
pub fn set_encryption_required(
    tx: &mut Tx<'_>,
    case: Option<CaseId>,
    beneficiary: Option<BeneficiaryId>,
    required: bool,
) -> Result<()> {
    let (table, id, entity) = match (case, beneficiary) {
        (Some(c), _) => ("cases", c.to_string(), "case"),
        (None, Some(b)) => ("beneficiaries", b.to_string(), "beneficiary"),
        (None, None) => return Ok(()),
    };
    let n = diesel::sql_query(format!(
        "UPDATE {table} SET require_encryption = $1 WHERE id = $2"
    ))
    .bind::<diesel::sql_types::Bool, _>(required)
    .bind::<diesel::sql_types::Text, _>(&id)
    .execute(tx.conn)?;
    if n == 0 {
        return Err(StoreError::not_found(entity));
    }
    tx.audit(
        &format!("{entity}.mail_policy"),
        entity,
        &id,
        case,
        json!({"require_encryption": required}),
    );
    Ok(())
}

/// The Message-IDs of a case's inbound mail, oldest first (to answer the latest).
pub fn inbound_message_ids(conn: &mut DbConnection, case: CaseId) -> Result<Vec<String>> {
    let rows: Vec<Option<String>> = inbound_mail::table
        .filter(inbound_mail::case_id.eq(case.to_string()))
        .filter(inbound_mail::state.eq(InboundState::Threaded.as_str()))
        .order(inbound_mail::received_at.asc())
        .select(inbound_mail::rfc_message_id)
        .load(conn)?;
    Ok(rows.into_iter().flatten().collect())
}

/// Whether a delivery attempt failed for good (too many attempts or a permanent refusal).
pub fn next_state(attempts_made: u32, max_attempts: u32, permanent: bool) -> DeliveryState {
    if permanent || attempts_made >= max_attempts {
        DeliveryState::Failed
    } else {
        DeliveryState::Retrying
    }
}
