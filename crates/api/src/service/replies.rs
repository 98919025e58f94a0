//! A reply goes out: to one of the beneficiary's addresses (or a party's of the case),
//! composed as PGP/MIME — encrypted to the recipient's certificates and signed with the
//! helpline key — or refused when the case, the beneficiary or the deployment requires
//! encryption and no usable certificate is held. It is recorded on the case (the first one to
//! the beneficiary is the first response), its Message-ID remembered for threading the answer,
//! and queued in the outbox, all in one write; the outbox worker sends it after the commit.

use chrono::{DateTime, Utc};
use helpline_domain::beneficiary::EmailAddress;
use helpline_domain::case::Case;
use helpline_domain::log::{Channel, Counterpart, Direction, Message};
use helpline_domain::mail::{
    CryptoOutcome, Delivery, DeliveryState, EmailDetails, PgpFormat, SignatureCheck,
    SignatureStatus,
};
use helpline_domain::text::{Body, Title};
use helpline_domain::user::Actor;
use helpline_domain::DomainError;
use helpline_store::case_log::NewMessage;
use helpline_store::mail as mailstore;
use helpline_store::{DbConnection, StoreError};

use crate::app::AppState;
use crate::config::MailConfig;
use crate::mail::MailState;

/// What the handler wrote.
pub struct Draft {
    /// Recipient: one of the beneficiary's addresses (default: the first) or a party's.
    pub to: Option<EmailAddress>,
    /// Subject (default `Re: <case summary>`); the case's tag is added.
    pub subject: Option<Title>,
    /// The text.
    pub body: Body,
}

/// Who a reply goes to, and the certificates it can be encrypted to.
struct Recipient {
    address: String,
    counterpart: Counterpart,
    /// The certificates chosen, as stored (read only when a reply is composed).
    certs: Vec<mailstore::Certificate>,
}

/// Why a reply was not sent.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// The helpline holds no key to sign with: an operator must make one.
    #[error("the helpline has no OpenPGP key to sign with (helpline admin gen-key)")]
    NoSigningKey,
    /// Refused (a domain rule) or not stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(m: String) -> StoreError {
    StoreError::Domain(DomainError::invalid("to", m))
}

/// Sends a reply on `case` (already checked writable by the caller): blocking — it reads,
/// composes and writes.
pub fn send(
    st: &AppState,
    actor: Actor,
    now: DateTime<Utc>,
    case: &Case,
    draft: Draft,
) -> Result<Message, ReplyError> {
    let (store, mail, cfg) = (&st.store, &st.mail, &st.config.mail);
    let policy = st.policy.clone();
    let cid = case.id;
    let (to, required, thread_ids) = store.read(|c| {
        Ok((
            recipient(c, case, draft.to.clone())?,
            mailstore::encryption_required(c, cid)?,
            mailstore::inbound_message_ids(c, cid)?,
        ))
    })?;
    if let Outlook::Refused { to } = Outlook::of(&to, required, cfg) {
        return Err(ReplyError::Store(invalid(format!(
            "replies on this case must be encrypted, and no usable certificate is held for {to}; add one to the beneficiary first"
        ))));
    }
    let out = compose(mail, cfg, case, &draft, to, &thread_ids)?;
    let mut msg = store.write(actor, now, move |tx| {
        let m = super::messages::record(
            tx,
            cid,
            NewMessage {
                direction: Direction::Outbound,
                channel: Channel::Email,
                counterpart: out.counterpart,
                subject: out.subject,
                body: draft.body,
                occurred_at: None,
                email: Some(out.details),
            },
            &policy,
        )?;
        mailstore::remember_message_id(tx, &out.message_id, cid, Some(m.id))?;
        mailstore::enqueue(tx, m.id, cid, &out.from, &out.to, &out.raw, out.encrypted)?;
        Ok(m)
    })?;
    if let Some(e) = &mut msg.email {
        e.delivery = Some(Delivery {
            state: DeliveryState::Queued,
            attempts: 0,
            next_attempt_at: Some(msg.created_at),
            last_error: None,
            sent_at: None,
        });
    }
    Ok(msg)
}

/// What a reply will be, said before it is written: the one rule [`send`] also follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outlook {
    /// Encrypted to the recipient's certificates, and signed.
    Encrypted {
        /// The recipient's address.
        to: String,
    },
    /// Signed only: no usable certificate is held, and encryption is not required.
    SignedOnly {
        /// The recipient's address.
        to: String,
    },
    /// Refused: encryption is required and no usable certificate is held.
    Refused {
        /// The recipient's address.
        to: String,
    },
}

impl Outlook {
    fn of(to: &Recipient, required: bool, cfg: &MailConfig) -> Outlook {
        let address = to.address.clone();
        match (to.certs.is_empty(), required || cfg.require_encryption) {
            (false, _) => Outlook::Encrypted { to: address },
            (true, false) => Outlook::SignedOnly { to: address },
            (true, true) => Outlook::Refused { to: address },
        }
    }
}

/// What a reply on `case` to `to` (default: the beneficiary's first address) would be, for
/// the composer to say before anything is written; an error names a recipient it cannot have.
pub fn outlook(
    conn: &mut DbConnection,
    cfg: &MailConfig,
    case: &Case,
    to: Option<EmailAddress>,
) -> Result<Outlook, StoreError> {
    let to = recipient(conn, case, to)?;
    let required = mailstore::encryption_required(conn, case.id)?;
    Ok(Outlook::of(&to, required, cfg))
}

/// A reply composed: the bytes for the relay and what the case's log says of them.
struct Composed {
    raw: Vec<u8>,
    message_id: String,
    from: String,
    to: Vec<String>,
    counterpart: Counterpart,
    subject: Option<Title>,
    details: EmailDetails,
    encrypted: bool,
}

/// Composes the PGP/MIME reply: tagged subject, threading headers (the last ten messages of
/// the thread), encrypted to the recipient's certificates if any, signed with the helpline key.
///
/// Long because the headers of a reply are read top to bottom as they will be sent.
fn compose(
    mail: &MailState,
    cfg: &MailConfig,
    case: &Case,
    draft: &Draft,
    to: Recipient,
    thread_ids: &[String],
) -> Result<Composed, ReplyError> {
    let keys = mail.keys();
    if keys.is_empty() {
        return Err(ReplyError::NoSigningKey);
    }
    let domain = cfg
        .address
        .rsplit_once('@')
        .map_or("helpline.invalid", |(_, d)| d);
    let message_id = format!("{}@{domain}", uuid::Uuid::now_v7().simple());
    let from_address = match &mail.plus {
        Some(p) => p.for_case(case.reference),
        None => cfg.address.clone(),
    };
    let subject_text = draft
        .subject
        .as_ref()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_else(|| format!("Re: {}", case.summary.as_str()));
    let subject = mail.tag.tagged(&subject_text, case.reference);
    let subject_tag = mail.tag.tagged("", case.reference).trim().to_owned();
    let references: Vec<String> = thread_ids.iter().rev().take(10).rev().cloned().collect();
    let from = helpline_mail::Mailbox {
        address: from_address.clone(),
        name: Some(cfg.display_name.clone()),
    };
    let rcpt = [helpline_mail::Mailbox {
        address: to.address.clone(),
        name: None,
    }];
    let reply = helpline_mail::Reply {
        from: &from,
        to: &rcpt,
        subject: &subject,
        subject_tag: &subject_tag,
        body: draft.body.as_str(),
        message_id: &message_id,
        in_reply_to: thread_ids.last().map(String::as_str),
        references: &references,
        date: Utc::now(),
    };
    let certs: Vec<helpline_mail::Cert> = to
        .certs
        .iter()
        .filter_map(|c| helpline_mail::pgp::read_cert(c.armored.as_bytes()).ok())
        .collect();
    // A held certificate that no longer reads is never a reason to send in the clear.
    if certs.len() != to.certs.len() {
        return Err(invalid(format!(
            "a certificate held for {} cannot be read; add it again",
            to.address
        ))
        .into());
    }
    let encrypted_to: Vec<String> = certs.iter().map(|c| c.fingerprint().to_hex()).collect();
    let protection = if certs.is_empty() {
        helpline_mail::Protection::SignOnly
    } else {
        helpline_mail::Protection::Encrypt(certs)
    };
    let raw =
        helpline_mail::compose(&reply, &keys, &protection).map_err(|e| invalid(e.to_string()))?;
    let mut crypto = CryptoOutcome::plain();
    crypto.format = PgpFormat::PgpMime;
    crypto.signatures.push(SignatureCheck {
        status: SignatureStatus::Good,
        fingerprint: keys.keys().first().map(|k| k.fingerprint().to_hex()),
        issuer: None,
        detail: None,
    });
    crypto.summarise_signatures();
    Ok(Composed {
        raw,
        details: EmailDetails {
            message_id: Some(message_id.clone()),
            from: Some(from_address.clone()),
            to: vec![to.address.clone()],
            crypto,
            attachments: Vec::new(),
            delivery: None,
            encrypted_to: encrypted_to.clone(),
        },
        message_id,
        from: from_address,
        to: vec![to.address],
        counterpart: to.counterpart,
        subject: Title::parse(subject.chars().take(300).collect::<String>()).ok(),
        encrypted: !encrypted_to.is_empty(),
    })
}

/// The recipient: one of the beneficiary's addresses (their usable certificates: confirmed
/// ones first, an unconfirmed one — first use — only when none is), or a party's of the case.
fn recipient(
    conn: &mut DbConnection,
    case: &Case,
    to: Option<EmailAddress>,
) -> Result<Recipient, StoreError> {
    let beneficiary = helpline_store::beneficiaries::get(conn, case.beneficiary_id)?;
    let wanted = match to {
        Some(a) => a,
        None => beneficiary
            .emails
            .first()
            .cloned()
            .ok_or_else(|| invalid("the beneficiary has no email address; give `to`".into()))?,
    };
    let addr = wanted.normalized();
    match super::messages::counterpart_for(conn, case, &beneficiary, &addr)? {
        Counterpart::Beneficiary => {
            let held = mailstore::certificates_of(conn, case.beneficiary_id)?;
            let usable: Vec<_> = held
                .iter()
                .filter(|c| c.can_encrypt && !c.revoked)
                .filter(|c| c.emails.iter().any(|e| e.to_lowercase() == addr) || c.confirmed)
                .collect();
            let confirmed: Vec<_> = usable.iter().filter(|c| c.confirmed).copied().collect();
            let chosen = if confirmed.is_empty() {
                usable
            } else {
                confirmed
            };
            let certs = chosen.into_iter().cloned().collect();
            Ok(Recipient {
                address: wanted.as_str().to_owned(),
                counterpart: Counterpart::Beneficiary,
                certs,
            })
        }
        party @ Counterpart::Party { .. } => Ok(Recipient {
            address: wanted.as_str().to_owned(),
            counterpart: party,
            certs: Vec::new(),
        }),
        Counterpart::Unknown => Err(invalid(format!(
            "{} is neither an address of the case's beneficiary nor of a party involved in it",
            wanted.as_str()
        ))),
    }
}

/// A delivery attempt is recorded on the reply; a reply that will not be tried again is
/// announced to the webhooks (the relay's answer stays out of it: it may name the recipient).
pub fn attempted(
    tx: &mut helpline_store::Tx<'_>,
    item: &mailstore::OutboxItem,
    state: DeliveryState,
    error: Option<String>,
    next_attempt_at: Option<DateTime<Utc>>,
    policy: &helpline_store::workflow::Policy,
) -> Result<(), StoreError> {
    mailstore::record_attempt(tx, item, state, error, next_attempt_at)?;
    if state == DeliveryState::Failed && !policy.webhook_urls.is_empty() {
        let case = helpline_store::cases::locate(
            tx.conn,
            helpline_domain::case::CaseLocator::Id(item.case_id),
        )?;
        let detail = serde_json::json!({
            "message_id": item.message_id,
            "attempts": item.attempts + 1,
        });
        helpline_store::workflow::announce_with(
            tx,
            policy,
            helpline_domain::workflow::WebhookEvent::ReplyFailed,
            &case,
            detail,
        );
    }
    Ok(())
}
