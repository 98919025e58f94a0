//! The server side of mail: the helpline's keys, certificates looked up in the store, opening a
//! raw message, and what the gateway is told. What a message does once opened is the intake
//! use case (`service::intake`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use helpline_domain::ids::{CaseId, MessageId};
use helpline_domain::mail::{CertificateSource, CryptoOutcome, SignatureStatus};
use helpline_domain::taxonomy::TaxonomyTerm;
use helpline_mail::{Cert, CertLookup, InboundMail, KeyHandle, Keyring, Limits, Opener};
use helpline_store::mail::{self as mailstore, NewCertificate, NewInbound};
use helpline_store::Store;
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
        secret: &[u8],
    ) -> Result<Self, String> {
        let keys = load_keys(config)?;
        if keys.is_empty() {
            tracing::warn!(
                dir = %config.key_dir().display(),
                "no helpline OpenPGP key: encrypted mail will be quarantined and replies cannot be signed (run `helpline admin gen-key`)"
            );
        }
        let plus = if config.mail.plus_addressing {
            // Keyed by the server secret the nodes share (the JWT secret): every node makes and
            // checks the same reply addresses.
            Some(
                helpline_mail::PlusAddress::new(&config.mail.address, secret)
                    .map_err(|e| e.to_string())?,
            )
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
        rfc_message_id: mail.and_then(|m| m.envelope.message_id.clone()),
        sender: mail
            .and_then(|m| m.envelope.from.as_ref())
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
    if mail.envelope.from.is_none() {
        return Some("no sender address".into());
    }
    None
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
