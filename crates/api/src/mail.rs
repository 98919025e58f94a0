//! The server side of mail: the helpline's keys, certificates looked up in the store, and
//! ingestion — raw bytes kept, the message opened, threaded into a case or quarantined.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use helpline_domain::beneficiary::EmailAddress;
use helpline_domain::case::{CaseLocator, Impact, Tag, Urgency};
use helpline_domain::ids::{CaseId, MessageId};
use helpline_domain::log::{Channel, Counterpart, Direction};
use helpline_domain::mail::{
    AttachmentRef, CertificateSource, CryptoOutcome, EmailDetails, SignatureStatus,
};
use helpline_domain::taxonomy::TaxonomyTerm;
use helpline_domain::text::{Body, Description, Name, Note, Summary, Title};
use helpline_mail::{Cert, CertLookup, InboundMail, KeyHandle, Keyring, Limits, Opener};
use helpline_store::beneficiaries::{self, NewBeneficiary};
use helpline_store::case_log::{self, NewMessage};
use helpline_store::cases::{self, NewCase};
use helpline_store::mail::{self as mailstore, NewCertificate, NewInbound};
use helpline_store::{Store, StoreError, Tx};
use serde::Serialize;

use crate::config::Config;

/// The helpline's keys (reloadable: a key added to the key folder is used by the next retry)
/// and the threading settings.
pub struct MailState {
    keys: RwLock<Arc<Keyring>>,
    /// Parsed correspondents' certificates by their armored text: parsing and validating a
    /// certificate costs about as much as checking the signature it is wanted for.
    parsed: Mutex<HashMap<String, Cert>>,
    /// Subject tag.
    pub tag: helpline_mail::SubjectTag,
    /// Plus-address, when configured.
    pub plus: Option<helpline_mail::PlusAddress>,
    /// Parsing limits.
    pub limits: Limits,
    /// Service type of cases opened by mail.
    pub service_type: TaxonomyTerm,
}

/// Reads every key file of the configuration: the key folder's `*.asc|*.key|*.pgp` and the
/// listed files.
pub fn load_keys(config: &Config) -> Result<Keyring, String> {
    let mut files = Vec::new();
    let dir = config.key_dir();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension()
                .is_some_and(|x| x == "asc" || x == "key" || x == "pgp")
            {
                files.push(p);
            }
        }
    }
    files.sort();
    files.extend(config.mail.key_files.iter().map(std::path::PathBuf::from));
    let mut certs = Vec::new();
    for f in &files {
        certs.extend(read_key_file(f)?);
    }
    Keyring::new(certs).map_err(|e| e.to_string())
}

fn read_key_file(f: &Path) -> Result<Vec<Cert>, String> {
    let bytes = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
    Keyring::parse_keys(&bytes).map_err(|e| format!("{}: {e}", f.display()))
}

impl MailState {
    /// Builds the mail state from the configuration, loading the keys.
    pub fn new(
        config: &Config,
        service_types: &helpline_domain::taxonomy::Taxonomy,
    ) -> Result<Self, String> {
        let keys = load_keys(config)?;
        if keys.is_empty() {
            tracing::warn!(
                dir = %config.key_dir().display(),
                "no helpline OpenPGP key: encrypted mail will be quarantined and replies cannot be signed (run `helpline admin gen-key`)"
            );
        }
        let plus = if config.mail.plus_addressing {
            Some(helpline_mail::PlusAddress::new(&config.mail.address).map_err(|e| e.to_string())?)
        } else {
            None
        };
        Ok(Self {
            keys: RwLock::new(Arc::new(keys)),
            parsed: Mutex::new(HashMap::new()),
            tag: helpline_mail::SubjectTag::new(&config.mail.subject_tag)
                .map_err(|e| e.to_string())?,
            plus,
            limits: Limits {
                max_message_bytes: config.mail.max_message_bytes,
                max_decoded_bytes: config.mail.max_decoded_bytes,
                ..Limits::default()
            },
            service_type: service_types
                .term(&config.mail.service_type)
                .map_err(|e| format!("mail.service_type: {e}"))?,
        })
    }

    /// The current keys.
    pub fn keys(&self) -> Arc<Keyring> {
        self.keys.read().map(|k| k.clone()).unwrap_or_default()
    }

    /// Reads the key files again (after a key was added).
    pub fn reload(&self, config: &Config) -> Result<(), String> {
        let keys = load_keys(config)?;
        if let Ok(mut k) = self.keys.write() {
            *k = Arc::new(keys);
        }
        Ok(())
    }

    /// Opens a raw message with the current keys and the stored certificates.
    pub fn open(&self, store: &Store, raw: &[u8]) -> Result<InboundMail, helpline_mail::MailError> {
        let keys = self.keys();
        let certs = StoredCerts {
            store,
            parsed: &self.parsed,
        };
        Opener {
            keys: &keys,
            certs: &certs,
            limits: self.limits,
            now: SystemTime::now(),
        }
        .open(raw)
    }
}

/// Correspondents' certificates, looked up in the store by key id or fingerprint. The store is
/// asked every time (another node may have added one); only the parsing is cached, keyed by the
/// stored text, so a changed certificate is a new entry.
struct StoredCerts<'a> {
    store: &'a Store,
    parsed: &'a Mutex<HashMap<String, Cert>>,
}

/// Parsed certificates kept at most; past it the cache starts again.
const PARSED_CERTS_KEPT: usize = 4096;

impl CertLookup for StoredCerts<'_> {
    fn certs_for(&self, handles: &[KeyHandle]) -> Vec<Cert> {
        let hex: Vec<String> = handles.iter().map(|h| h.to_hex()).collect();
        let armored = self
            .store
            .read(|c| mailstore::armored_for_handles(c, &hex))
            .unwrap_or_default();
        let mut certs = Vec::with_capacity(armored.len());
        for a in armored {
            if let Some(c) = self.parsed.lock().ok().and_then(|p| p.get(&a).cloned()) {
                certs.push(c);
                continue;
            }
            let Ok(cert) = helpline_mail::pgp::read_cert(a.as_bytes()) else {
                continue;
            };
            if let Ok(mut p) = self.parsed.lock() {
                if p.len() >= PARSED_CERTS_KEPT {
                    p.clear();
                }
                p.insert(a, cert.clone());
            }
            certs.push(cert);
        }
        certs
    }
}

/// What the gateway is told.
#[derive(Debug, Clone, Serialize)]
pub struct IngestOutcome {
    /// The inbound record.
    pub inbound_id: String,
    /// `threaded` or `quarantined`.
    pub state: mailstore::InboundState,
    /// The case it joined.
    pub case_id: Option<CaseId>,
    /// That case's reference.
    #[serde(rename = "ref")]
    pub reference: Option<i64>,
    /// The log message it became.
    pub message_id: Option<MessageId>,
    /// Whether it opened the case.
    pub new_case: bool,
    /// Why it is in the quarantine.
    pub reason: Option<String>,
    /// The crypto outcome.
    pub crypto: Option<CryptoOutcome>,
    /// Whether the same bytes had been received before (nothing was added).
    pub duplicate: bool,
}

impl IngestOutcome {
    /// The outcome recorded for a message received before.
    pub fn from_record(
        m: &mailstore::InboundMail,
        reference: Option<i64>,
        duplicate: bool,
    ) -> Self {
        Self {
            inbound_id: m.id.to_string(),
            state: m.state,
            case_id: m.case_id,
            reference,
            message_id: m.message_id,
            new_case: m.new_case,
            reason: m.reason.clone(),
            crypto: m.crypto.clone(),
            duplicate,
        }
    }
}

/// Facts of a message for the inbound record.
pub fn inbound_facts(sha256: String, size: usize, mail: Option<&InboundMail>) -> NewInbound {
    NewInbound {
        sha256,
        size,
        rfc_message_id: mail.and_then(|m| m.message_id.clone()),
        sender: mail
            .and_then(|m| m.from.as_ref())
            .map(|f| f.address.to_lowercase()),
        crypto: mail.map(|m| m.crypto.clone()),
    }
}

/// Why a readable message must still wait in the quarantine, if it must.
pub fn quarantine_reason(mail: &InboundMail) -> Option<String> {
    if mail.crypto.decryption.is_unreadable() {
        let detail = mail.crypto.detail.clone().unwrap_or_default();
        return Some(format!("{}: {detail}", mail.crypto.decryption));
    }
    if mail.from.is_none() {
        return Some("no sender address".into());
    }
    None
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
    pub fn of(m: &MailState, policy: &helpline_store::workflow::Policy) -> Self {
        Self {
            tag: m.tag.clone(),
            plus: m.plus.clone(),
            service_type: m.service_type.clone(),
            policy: policy.clone(),
        }
    }
}

/// Threads a readable message into a case (`into` given: that case) and records it in the
/// log with its attachments as evidence. Returns (case id, ref, message id, new case).
pub fn thread(
    tx: &mut Tx<'_>,
    mail: &InboundMail,
    how: &Threading,
    into: Option<CaseId>,
) -> Result<(CaseId, i64, MessageId, bool), StoreError> {
    let mut found = into;
    if found.is_none() {
        if let Some(r) = mail.subject.as_deref().and_then(|s| how.tag.find_ref(s)) {
            found = cases::locate(tx.conn, CaseLocator::Ref(r))
                .ok()
                .map(|c| c.id);
        }
    }
    if found.is_none() {
        if let Some(plus) = &how.plus {
            if let Some(r) = mail
                .to
                .iter()
                .chain(&mail.cc)
                .find_map(|m| plus.find_ref(&m.address))
            {
                found = cases::locate(tx.conn, CaseLocator::Ref(r))
                    .ok()
                    .map(|c| c.id);
            }
        }
    }
    if found.is_none() {
        let ids: Vec<String> = mail
            .in_reply_to
            .iter()
            .chain(mail.references.iter().rev())
            .cloned()
            .collect();
        found = mailstore::case_for_message_ids(tx.conn, &ids)?;
    }
    let sender = mail.from.as_ref().ok_or_else(|| {
        StoreError::Domain(helpline_domain::DomainError::invalid(
            "from",
            "no sender address",
        ))
    })?;
    let (case, new_case) = match found {
        Some(id) => {
            // A case merged into another hands its mail on to where its log went.
            let mut case = cases::locate(tx.conn, CaseLocator::Id(id))?;
            for _ in 0..8 {
                match case.merged_into {
                    Some(next) => case = cases::locate(tx.conn, CaseLocator::Id(next))?,
                    None => break,
                }
            }
            (case, false)
        }
        None => {
            let beneficiary = beneficiary_for(tx, sender)?;
            let summary = mail
                .subject
                .as_deref()
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(300).collect::<String>())
                .and_then(|s| Summary::parse(s).ok())
                .map_or_else(|| Summary::parse("Email without a subject"), Ok)?;
            let case = cases::create(
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
            )?;
            (case, true)
        }
    };
    let mut attachments = Vec::new();
    let body_text = mail
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let body = Body::parse(
        body_text
            .map(|t| t.chars().take(1_000_000).collect::<String>())
            .unwrap_or_else(|| "(no text)".into()),
    )?;
    let subject = mail
        .subject
        .as_deref()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .and_then(|s| Title::parse(s.chars().take(300).collect::<String>()).ok());
    let details = EmailDetails {
        message_id: mail.message_id.clone(),
        from: Some(sender.address.to_lowercase()),
        to: mail.to.iter().map(|m| m.address.clone()).collect(),
        crypto: mail.crypto.clone(),
        attachments: Vec::new(),
        delivery: None,
        encrypted_to: Vec::new(),
    };
    let m = case_log::add_message(
        tx,
        case.id,
        NewMessage {
            direction: Direction::Inbound,
            channel: Channel::Email,
            counterpart: Counterpart::Beneficiary,
            subject,
            body,
            occurred_at: None,
            email: Some(details.clone()),
        },
    )?;
    for a in &mail.attachments {
        let e = mailstore::add_attachment(
            tx,
            case.id,
            m.id,
            a.filename.clone(),
            &a.media_type,
            &a.bytes,
        )?;
        attachments.push(AttachmentRef {
            evidence_id: e.id,
            filename: e.filename,
            media_type: e.media_type,
            size: u64::try_from(e.size).unwrap_or(0),
            sha256: e.sha256,
        });
    }
    if !attachments.is_empty() {
        let details = EmailDetails {
            attachments,
            ..details
        };
        case_log::set_email(tx, m.id, &details)?;
    }
    if let Some(id) = &mail.message_id {
        mailstore::remember_message_id(tx, id, case.id, Some(m.id))?;
    }
    learn_certificates(tx, mail, case.beneficiary_id, case.id, &how.policy)?;
    Ok((case.id, case.reference.get(), m.id, new_case))
}

/// The beneficiary who owns the sender address, or a new `unverified` one.
fn beneficiary_for(
    tx: &mut Tx<'_>,
    sender: &helpline_mail::Mailbox,
) -> Result<helpline_domain::ids::BeneficiaryId, StoreError> {
    let email = EmailAddress::parse(&sender.address).map_err(|_| {
        StoreError::Domain(helpline_domain::DomainError::invalid(
            "from",
            "the sender address is not valid",
        ))
    })?;
    if let Some(id) = beneficiaries::find_by_email(tx.conn, &email)? {
        return Ok(id);
    }
    let name = sender
        .name
        .as_deref()
        .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(200).collect::<String>())
        .and_then(|n| Name::parse(n).ok())
        .or_else(|| Name::parse(sender.address.split('@').next().unwrap_or("unknown")).ok())
        .ok_or_else(|| {
            StoreError::Domain(helpline_domain::DomainError::invalid(
                "from",
                "no usable sender name",
            ))
        })?;
    Ok(beneficiaries::create(
        tx,
        NewBeneficiary {
            name,
            emails: vec![email],
            channels: Vec::new(),
            preferred_language: None,
            organisation: None,
            country: None,
            audience: None,
            notes: Note::empty(),
        },
    )?
    .id)
}

/// Stores certificates the message offered (Autocrypt, attached keys) as unconfirmed; a sender
/// whose key differs from the one held is flagged on the case, never silently swapped.
fn learn_certificates(
    tx: &mut Tx<'_>,
    mail: &InboundMail,
    beneficiary: helpline_domain::ids::BeneficiaryId,
    case: CaseId,
    policy: &helpline_store::workflow::Policy,
) -> Result<(), StoreError> {
    if mail.candidate_certs.is_empty() {
        return Ok(());
    }
    let held = mailstore::certificates_of(tx.conn, beneficiary)?;
    for c in &mail.candidate_certs {
        let fingerprint = c.cert.fingerprint().to_hex();
        if held.iter().any(|h| h.fingerprint == fingerprint) {
            continue;
        }
        if !held.is_empty() {
            // Trust on first use: a different key for someone we hold a key for is a warning.
            let x = cases::locate(tx.conn, CaseLocator::Id(case))?;
            let flag = Tag::parse("pgp-key-changed")?;
            if !x.tags.contains(&flag) {
                cases::update(tx, case, x.version, policy, move |c, _| {
                    c.tags.push(flag);
                    Ok(())
                })?;
            }
        }
        let new = certificate_record(&c.cert, beneficiary, c.source, false)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        mailstore::add_certificate(tx, new)?;
    }
    Ok(())
}

/// What the store keeps of a certificate (public parts only), as summarised today.
pub fn certificate_record(
    cert: &Cert,
    beneficiary: helpline_domain::ids::BeneficiaryId,
    source: CertificateSource,
    confirmed: bool,
) -> Result<NewCertificate, helpline_mail::PgpError> {
    let summary = helpline_mail::pgp::summarise(cert, SystemTime::now());
    let armored = helpline_mail::pgp::armored_public(cert)?;
    Ok(NewCertificate {
        beneficiary_id: beneficiary,
        fingerprint: summary.fingerprint,
        armored: String::from_utf8_lossy(&armored).into_owned(),
        user_ids: summary.user_ids,
        emails: summary.emails,
        key_handles: summary.key_handles,
        expires_at: summary
            .expires_at
            .map(chrono::DateTime::<chrono::Utc>::from),
        revoked: summary.revoked,
        can_encrypt: summary.can_encrypt,
        source,
        confirmed,
    })
}

/// Whether a stored message's signatures may read differently now (a key was missing).
pub fn worth_reverifying(crypto: &Option<CryptoOutcome>) -> bool {
    crypto.as_ref().is_some_and(|c| {
        c.signatures
            .iter()
            .any(|s| s.status == SignatureStatus::UnknownKey)
    })
}

/// The source of an uploaded certificate.
pub fn upload_source(manual: bool) -> CertificateSource {
    if manual {
        CertificateSource::Manual
    } else {
        CertificateSource::Upload
    }
}
