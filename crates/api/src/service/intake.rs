//! Intake: a mail arrives. Its raw bytes are stored first (nothing lost, even if everything
//! after fails); a readable message is threaded into the case it names (subject tag,
//! plus-address) or answers (In-Reply-To / References), else opens a case for its sender;
//! its attachments become evidence; anything that cannot be read or threaded waits in the
//! quarantine with the reason. A lead can later retry a quarantined message (with the keys
//! read again) or assign it to a case by hand.
//!
//! The message is opened (MIME, decryption, signatures) before the write, off the writer:
//! these functions receive what the opener made of it.

use helpline_domain::audit::AuditAction;
use helpline_domain::case::{CaseLocator, Impact, NewCase, Tag, Urgency};
use helpline_domain::ids::{CaseId, InboundMailId, MessageId};
use helpline_domain::log::{Channel, Counterpart, Direction};
use helpline_domain::mail::{AttachmentRef, CryptoOutcome, EmailDetails};
use helpline_domain::taxonomy::TaxonomyTerm;
use helpline_domain::text::{Body, Description, Summary, Title};
use helpline_mail::InboundMail;
use helpline_store::beneficiaries;
use helpline_store::case_log::{self, NewMessage};
use helpline_store::cases;
use helpline_store::mail::{self as mailstore, InboundMail as Received};
use helpline_store::workflow as wf;
use helpline_store::{StoreError, Tx};

use crate::mail::{inbound_facts, quarantine_reason};

/// What opening a message gave: the message, or why it cannot be read.
pub type Opened = Result<Readable, String>;

/// An opened message with its text already in the log's words (body, subject): made on the
/// thread that opened it, so that the one writer only stores them (a 10 KB body read into a
/// `Body` costs more than the statements that store it).
#[derive(Debug)]
pub struct Readable {
    mail: InboundMail,
    body: Result<Body, helpline_domain::DomainError>,
    subject: Option<Title>,
}

impl Readable {
    /// Reads an opened message's text into the log's words.
    pub fn of(mail: InboundMail) -> Readable {
        let text = mail
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let body = Body::parse(text.map_or_else(|| "(no text)".to_owned(), at_most_a_million));
        let subject = one_line(mail.subject.as_deref()).and_then(|s| Title::parse(s).ok());
        Readable {
            mail,
            body,
            subject,
        }
    }
}

/// The text cut to its first million characters (a body's most), copied once.
fn at_most_a_million(text: &str) -> String {
    if text.len() <= 1_000_000 {
        return text.to_owned();
    }
    match text.char_indices().nth(1_000_000) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

impl std::ops::Deref for Readable {
    type Target = InboundMail;

    fn deref(&self) -> &InboundMail {
        &self.mail
    }
}

/// A gateway's message, recorded: threaded or quarantined.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The inbound record.
    pub record: Received,
    /// The reference of the case it joined.
    pub reference: Option<i64>,
    /// The same bytes were received before: nothing was added.
    pub duplicate: bool,
}

/// A message from a gateway: stored byte for byte, then threaded into a case or quarantined
/// with the reason. Bytes received before are answered with the first record.
pub fn receive(
    tx: &mut Tx<'_>,
    raw: &[u8],
    sha256: &str,
    opened: Opened,
    how: &Threading,
) -> Result<Receipt, StoreError> {
    if let Some(prev) = mailstore::inbound_by_sha256(tx.conn, sha256)? {
        let reference = match prev.case_id {
            Some(c) => Some(cases::locate(tx.conn, CaseLocator::Id(c))?.reference.get()),
            None => None,
        };
        return Ok(Receipt {
            record: prev,
            reference,
            duplicate: true,
        });
    }
    let sha = mailstore::put_blob(tx, raw)?;
    let size = raw.len();
    let quarantined = |tx: &mut Tx<'_>, mail: Option<&InboundMail>, reason: String| {
        let record =
            mailstore::record_quarantined(tx, inbound_facts(sha.clone(), size, mail), reason)?;
        wf::announce_quarantined(tx, &how.policy, &record);
        Ok(Receipt {
            record,
            reference: None,
            duplicate: false,
        })
    };
    let mail = match opened {
        Err(reason) => return quarantined(tx, None, reason),
        Ok(m) => m,
    };
    if let Some(reason) = quarantine_reason(&mail) {
        return quarantined(tx, Some(&mail), reason);
    }
    // Threading runs in a savepoint: a message it refuses (no usable sender, say) leaves
    // nothing behind but its quarantine record.
    match tx.attempt(|tx| thread(tx, &mail, how, None)) {
        Ok(t) => {
            let record = mailstore::record_threaded(
                tx,
                inbound_facts(sha.clone(), size, Some(&mail)),
                t.case_id,
                t.message_id,
                t.new_case,
            )?;
            Ok(Receipt {
                record,
                reference: Some(t.reference),
                duplicate: false,
            })
        }
        Err(StoreError::Domain(e)) => quarantined(tx, Some(&mail), e.to_string()),
        Err(e) => Err(e),
    }
}

/// Reads a quarantined message again: threaded if it can now be read, else kept with the new
/// reason.
pub fn retry(
    tx: &mut Tx<'_>,
    id: InboundMailId,
    opened: Opened,
    how: &Threading,
) -> Result<Received, StoreError> {
    let mail = match opened {
        Err(reason) => return mailstore::requarantine(tx, id, reason, None),
        Ok(m) => m,
    };
    let crypto = Some(mail.crypto.clone());
    if let Some(reason) = quarantine_reason(&mail) {
        return mailstore::requarantine(tx, id, reason, crypto);
    }
    match tx.attempt(|tx| thread(tx, &mail, how, None)) {
        Ok(t) => mailstore::resolve_quarantined(
            tx,
            id,
            crypto,
            t.case_id,
            t.message_id,
            t.new_case,
            AuditAction::MailRetry,
        ),
        Err(StoreError::Domain(e)) => mailstore::requarantine(tx, id, e.to_string(), crypto),
        Err(e) => Err(e),
    }
}

/// Attaches a quarantined message to a case by hand: threaded there if readable; if not, the
/// case's log says so and the raw bytes stay retrievable.
pub fn assign(
    tx: &mut Tx<'_>,
    id: InboundMailId,
    case: CaseId,
    opened: Opened,
    reason: &str,
    how: &Threading,
) -> Result<Received, StoreError> {
    if let Ok(mail) = &opened {
        if quarantine_reason(mail).is_none() {
            let t = thread(tx, mail, how, Some(case))?;
            let crypto = Some(mail.crypto.clone());
            return mailstore::resolve_quarantined(
                tx,
                id,
                crypto,
                t.case_id,
                t.message_id,
                false,
                AuditAction::MailAssign,
            );
        }
    }
    let mail = opened.as_ref().ok();
    let crypto = mail.map(|m| m.crypto.clone());
    let body = Body::parse(format!(
        "(this message could not be read: {reason}; its raw bytes are kept with the received mail {id})"
    ))?;
    let details = EmailDetails {
        message_id: mail.and_then(|m| m.envelope.message_id.clone()),
        from: mail
            .and_then(|m| m.envelope.from.as_ref())
            .map(|f| f.address.to_lowercase()),
        to: Vec::new(),
        crypto: crypto.clone().unwrap_or_else(CryptoOutcome::plain),
        attachments: Vec::new(),
        delivery: None,
        encrypted_to: Vec::new(),
    };
    // Who wrote, if the unreadable message says: a lead attached it, not its sender's word.
    let who = match &details.from {
        Some(from) => {
            let c = cases::locate(tx.conn, CaseLocator::Id(case))?;
            let b = beneficiaries::get(tx.conn, c.beneficiary_id)?;
            super::messages::counterpart_for(tx.conn, &c, &b, from)?
        }
        None => Counterpart::Unknown,
    };
    let msg = crate::service::messages::record(
        tx,
        case,
        inbound_mail(who, None, body, details),
        &how.policy,
    )?;
    mailstore::resolve_quarantined(tx, id, crypto, case, msg.id, false, AuditAction::MailAssign)
}

/// A mail as the log records it: inbound, by email, from whom the case knows it came.
fn inbound_mail(
    who: Counterpart,
    subject: Option<Title>,
    body: Body,
    email: EmailDetails,
) -> NewMessage {
    NewMessage {
        direction: Direction::Inbound,
        channel: Channel::Email,
        counterpart: who,
        subject,
        body,
        occurred_at: None,
        email: Some(email),
    }
}

/// Where a message goes: the case it names or answers, else a new case for its sender.
pub struct Threading {
    /// Subject tag.
    pub tag: helpline_mail::SubjectTag,
    /// Plus address.
    pub plus: Option<helpline_mail::PlusAddress>,
    /// Service type for new cases.
    pub service_type: TaxonomyTerm,
    /// Promised times, assignment, webhooks for the cases mail opens.
    pub policy: helpline_store::workflow::Policy,
}

impl Threading {
    /// From the mail state.
    pub fn of(m: &crate::mail::MailState, policy: &helpline_store::workflow::Policy) -> Self {
        Self {
            tag: m.tag.clone(),
            plus: m.plus.clone(),
            service_type: m.service_type.clone(),
            policy: policy.clone(),
        }
    }
}

/// Where a threaded message went.
#[derive(Debug, Clone, Copy)]
pub struct Threaded {
    /// The case it joined.
    pub case_id: CaseId,
    /// That case's reference.
    pub reference: i64,
    /// The log message it became.
    pub message_id: MessageId,
    /// Whether it opened the case.
    pub new_case: bool,
}

/// Threads a readable message into a case (`into` given: that case) and records it in the
/// log with its attachments as evidence.
fn thread(
    tx: &mut Tx<'_>,
    mail: &Readable,
    how: &Threading,
    into: Option<CaseId>,
) -> Result<Threaded, StoreError> {
    let sender = mail.envelope.from.as_ref().ok_or_else(|| {
        StoreError::Domain(helpline_domain::DomainError::invalid(
            "from",
            "no sender address",
        ))
    })?;
    let found = match into {
        Some(id) => Some((id, Naming::ByHand)),
        None => case_named_by(tx, mail, how)?,
    };
    let named = match found {
        Some((id, naming)) => {
            let case = where_mail_goes(tx, id)?;
            let beneficiary = beneficiaries::get(tx.conn, case.beneficiary_id)?;
            let who =
                super::messages::counterpart_for(tx.conn, &case, &beneficiary, &sender.address)?;
            match (who, naming) {
                // A reference without our keyed tag is a guess unless someone the case knows
                // wrote it: the sender is a newcomer, as if they had written to the helpline.
                (Counterpart::Unknown, Naming::UnsignedPlus) => None,
                (Counterpart::Unknown, Naming::Named) if case.confidential => {
                    return Err(StoreError::Domain(helpline_domain::DomainError::invalid(
                        "from",
                        "a sender the case does not know wrote to a confidential case",
                    )))
                }
                (who, _) => Some((case, who)),
            }
        }
        None => None,
    };
    let (case, who, new_case) = match named {
        Some((case, who)) => (case, who, false),
        None => (
            open_from_mail(tx, mail, sender, how)?,
            Counterpart::Beneficiary,
            true,
        ),
    };
    let m = record_in_log(tx, mail, sender, who, case.id, &how.policy)?;
    if let Some(id) = &mail.envelope.message_id {
        mailstore::remember_message_id(tx, id, case.id, Some(m))?;
    }
    // Keys offered by anyone but the beneficiary never become the beneficiary's.
    if who == Counterpart::Beneficiary {
        super::senders::learn_certificates(tx, mail, case.beneficiary_id, case.id, &how.policy)?;
    }
    Ok(Threaded {
        case_id: case.id,
        reference: case.reference.get(),
        message_id: m,
        new_case,
    })
}

/// How a message came to name its case, which decides how far its sender is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Naming {
    /// A lead attached it by hand.
    ByHand,
    /// Its subject tag, its reply headers, or a reply address with our keyed tag.
    Named,
    /// A reply address without our keyed tag: a guess, unless someone the case knows wrote it.
    UnsignedPlus,
}

/// The case a message names: by the tag in its subject, its plus-address, or the messages it
/// answers (`In-Reply-To`, then `References` newest first). Naming a case says nothing of who
/// wrote: the caller still asks the case who the sender is.
fn case_named_by(
    tx: &mut Tx<'_>,
    mail: &InboundMail,
    how: &Threading,
) -> Result<Option<(CaseId, Naming)>, StoreError> {
    let by_tag = mail
        .subject
        .as_deref()
        .and_then(|s| how.tag.find_ref(s))
        .map(|r| (r, Naming::Named));
    let by_plus = how.plus.as_ref().and_then(|plus| {
        mail.envelope
            .to
            .iter()
            .chain(&mail.envelope.cc)
            .filter_map(|m| plus.find_ref(&m.address))
            // A signed address first, should the message carry several.
            .max_by_key(|t| t.signed)
            .map(|t| {
                let naming = if t.signed {
                    Naming::Named
                } else {
                    Naming::UnsignedPlus
                };
                (t.case, naming)
            })
    });
    for (r, naming) in [by_tag, by_plus].into_iter().flatten() {
        if let Ok(c) = cases::locate(tx.conn, CaseLocator::Ref(r)) {
            return Ok(Some((c.id, naming)));
        }
    }
    let ids: Vec<String> = mail
        .envelope
        .in_reply_to
        .iter()
        .chain(mail.envelope.references.iter().rev())
        .cloned()
        .collect();
    Ok(mailstore::case_for_message_ids(tx.conn, &ids)?.map(|c| (c, Naming::Named)))
}

/// The case mail for `id` goes to: a case merged into another hands its mail on to where its
/// log went (followed a few hops at most).
fn where_mail_goes(tx: &mut Tx<'_>, id: CaseId) -> Result<helpline_domain::case::Case, StoreError> {
    let mut case = cases::locate(tx.conn, CaseLocator::Id(id))?;
    for _ in 0..8 {
        match case.merged_into {
            Some(next) => case = cases::locate(tx.conn, CaseLocator::Id(next))?,
            None => break,
        }
    }
    Ok(case)
}

/// A new case for a message that names none, for its sender (found or made a beneficiary).
fn open_from_mail(
    tx: &mut Tx<'_>,
    mail: &InboundMail,
    sender: &helpline_mail::Mailbox,
    how: &Threading,
) -> Result<helpline_domain::case::Case, StoreError> {
    let beneficiary = super::senders::beneficiary_for(tx, sender)?;
    let summary = one_line(mail.subject.as_deref())
        .and_then(|s| Summary::parse(s).ok())
        .map_or_else(|| Summary::parse("Email without a subject"), Ok)?;
    super::cases::open(
        tx,
        NewCase {
            beneficiary_id: beneficiary,
            urgency: Urgency::Medium,
            impact: Impact::Medium,
            priority_override: None,
            summary,
            description: Description::empty(),
            service_type: how.service_type.clone(),
            assignee_id: None,
            tags: Tag::parse("email").into_iter().collect(),
            confidential: false,
            channel: Some(Channel::Email),
        },
        &how.policy,
    )
}

/// A subject on one line, spaces folded, at most 300 characters; none if it is blank.
fn one_line(subject: Option<&str>) -> Option<String> {
    subject
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(300).collect())
}

/// Records the message in the case's log, its attachments as evidence.
fn record_in_log(
    tx: &mut Tx<'_>,
    mail: &Readable,
    sender: &helpline_mail::Mailbox,
    who: Counterpart,
    case: CaseId,
    policy: &helpline_store::workflow::Policy,
) -> Result<MessageId, StoreError> {
    let body = mail.body.clone()?;
    let details = EmailDetails {
        message_id: mail.envelope.message_id.clone(),
        from: Some(sender.address.to_lowercase()),
        to: mail.envelope.to.iter().map(|m| m.address.clone()).collect(),
        crypto: mail.crypto.clone(),
        attachments: Vec::new(),
        delivery: None,
        encrypted_to: Vec::new(),
    };
    let m = crate::service::messages::record(
        tx,
        case,
        inbound_mail(who, mail.subject.clone(), body, details.clone()),
        policy,
    )?;
    if !mail.attachments.is_empty() {
        let mut attachments = Vec::with_capacity(mail.attachments.len());
        for a in &mail.attachments {
            let e = helpline_store::evidence::collect(
                tx,
                case,
                helpline_store::evidence::NewEvidence {
                    data: &a.bytes,
                    filename: a.filename.clone(),
                    media_type: a.media_type.clone(),
                    source: helpline_store::evidence::EvidenceSource::MessageAttachment,
                    message_id: Some(m.id),
                    description: String::new(),
                    tlp: helpline_domain::indicator::Tlp::Amber,
                    collected_at: None,
                },
            )?;
            attachments.push(AttachmentRef {
                evidence_id: e.id,
                filename: e.filename,
                media_type: e.media_type,
                size: u64::try_from(e.size).unwrap_or(0),
                sha256: e.sha256,
            });
        }
        let details = EmailDetails {
            attachments,
            ..details
        };
        case_log::set_email(tx, m.id, &details)?;
    }
    Ok(m.id)
}
