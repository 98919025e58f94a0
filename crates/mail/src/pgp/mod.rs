//! OpenPGP with sequoia-openpgp: the helpline's own keys, the certificates of the people who
//! write in, decryption, signature checks, and encryption of replies.
//!
//! Nothing here trusts a signature because sequoia handed data over: every signature's outcome
//! is taken from the message structure sequoia reports at the end, and classified into the
//! field's words ([`SignatureStatus`]).

use std::io::Write;
use std::time::SystemTime;

use openpgp::cert::prelude::*;
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message, Signer};
use openpgp::serialize::SerializeInto;
use openpgp::types::RevocationStatus;
use openpgp::{Cert, KeyHandle};
use sequoia_openpgp as openpgp;

/// The policy every check runs under: sequoia's standard one (no SHA-1 signatures, no weak keys).
pub(crate) static POLICY: StandardPolicy<'static> = StandardPolicy::new();

/// Why an OpenPGP operation on Helpline's side failed (not a property of a stranger's message,
/// which is described by [`CryptoOutcome`] instead).
#[derive(Debug, thiserror::Error)]
pub enum PgpError {
    /// The bytes are not an OpenPGP certificate or key.
    #[error("not an OpenPGP certificate: {0}")]
    NotACertificate(String),
    /// A helpline key without its secret parts.
    #[error("the key {0} has no usable secret key material")]
    NoSecret(String),
    /// No key of the helpline can sign.
    #[error("no helpline key can sign")]
    NoSigningKey,
    /// A recipient's certificate has no key that can be encrypted to today.
    #[error("the certificate {0} has no valid encryption key")]
    NoEncryptionKey(String),
    /// A failure inside sequoia while writing.
    #[error("OpenPGP: {0}")]
    Openpgp(String),
}

impl PgpError {
    fn openpgp(e: impl std::fmt::Display) -> Self {
        Self::Openpgp(e.to_string())
    }
}

/// Which kind of helpline key `gen-key` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// Ed25519 signing, X25519 encryption: small and fast (the default).
    Curve25519,
    /// RSA with 3072-bit keys, for correspondents whose software knows nothing newer.
    Rsa3072,
}

/// Makes a new helpline key: a certificate with its secret parts, able to sign and to decrypt.
pub fn generate_key(user_id: &str, algorithm: KeyAlgorithm) -> Result<Cert, PgpError> {
    let suite = match algorithm {
        KeyAlgorithm::Curve25519 => CipherSuite::Cv25519,
        KeyAlgorithm::Rsa3072 => CipherSuite::RSA3k,
    };
    let (cert, _revocation) = CertBuilder::general_purpose(Some(user_id))
        .set_cipher_suite(suite)
        .set_validity_period(None)
        .generate()
        .map_err(PgpError::openpgp)?;
    Ok(cert)
}

/// Armors a certificate with its secret parts (for the key file).
pub fn armored_secret(cert: &Cert) -> Result<Vec<u8>, PgpError> {
    cert.as_tsk().armored().to_vec().map_err(PgpError::openpgp)
}

/// Armors the public parts of a certificate.
pub fn armored_public(cert: &Cert) -> Result<Vec<u8>, PgpError> {
    cert.armored().to_vec().map_err(PgpError::openpgp)
}

/// Reads one certificate (armored or binary).
pub fn read_cert(bytes: &[u8]) -> Result<Cert, PgpError> {
    Cert::from_bytes(bytes).map_err(|e| PgpError::NotACertificate(e.to_string()))
}

/// What a handler needs to see about a certificate before trusting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// Primary key fingerprint, upper-case hex.
    pub fingerprint: String,
    /// User IDs with a valid self-signature.
    pub user_ids: Vec<String>,
    /// Email addresses in those user IDs, lower-cased.
    pub emails: Vec<String>,
    /// When the certificate expires, if it does.
    pub expires_at: Option<SystemTime>,
    /// Whether its owner revoked it.
    pub revoked: bool,
    /// Whether it has a key that can be encrypted to now.
    pub can_encrypt: bool,
    /// Fingerprints and key ids of every key in it, for matching signatures' issuers.
    pub key_handles: Vec<String>,
}

/// Describes a certificate as of `now`.
pub fn summarise(cert: &Cert, now: SystemTime) -> CertSummary {
    let valid = cert.with_policy(&POLICY, now);
    let user_ids: Vec<String> = match &valid {
        Ok(vc) => vc
            .userids()
            .map(|u| String::from_utf8_lossy(u.userid().value()).into_owned())
            .collect(),
        Err(_) => cert
            .userids()
            .map(|u| String::from_utf8_lossy(u.userid().value()).into_owned())
            .collect(),
    };
    let emails = cert
        .userids()
        .filter_map(|u| u.userid().email_normalized().ok().flatten())
        .collect();
    let expires_at = valid
        .as_ref()
        .ok()
        .and_then(|vc| vc.primary_key().key_expiration_time());
    let revoked = matches!(
        cert.revocation_status(&POLICY, now),
        RevocationStatus::Revoked(_)
    );
    let can_encrypt = valid.as_ref().is_ok_and(|vc| {
        vc.keys()
            .supported()
            .alive()
            .revoked(false)
            .for_transport_encryption()
            .next()
            .is_some()
    });
    let key_handles = cert
        .keys()
        .flat_map(|k| [k.key().fingerprint().to_hex(), k.key().keyid().to_hex()])
        .collect();
    CertSummary {
        fingerprint: cert.fingerprint().to_hex(),
        user_ids,
        emails,
        expires_at,
        revoked: revoked || cert.primary_key().self_revocations().next().is_some(),
        can_encrypt,
        key_handles,
    }
}

/// The helpline's own keys: several at once, so that mail encrypted to last year's key is still
/// read after a rotation. The newest key signs.
#[derive(Clone, Default)]
pub struct Keyring {
    keys: Vec<Cert>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| k.fingerprint().to_hex()))
            .finish()
    }
}

impl Keyring {
    /// A keyring from secret keys; refuses a certificate without secret key material.
    pub fn new(keys: Vec<Cert>) -> Result<Self, PgpError> {
        for k in &keys {
            if k.keys().unencrypted_secret().next().is_none() {
                return Err(PgpError::NoSecret(k.fingerprint().to_hex()));
            }
        }
        let mut keys = keys;
        keys.sort_by_key(|k| std::cmp::Reverse(k.primary_key().key().creation_time()));
        Ok(Self { keys })
    }

    /// Reads every key in an armored or binary keyring file.
    pub fn parse_keys(bytes: &[u8]) -> Result<Vec<Cert>, PgpError> {
        CertParser::from_bytes(bytes)
            .map_err(|e| PgpError::NotACertificate(e.to_string()))?
            .map(|c| c.map_err(|e| PgpError::NotACertificate(e.to_string())))
            .collect()
    }

    /// The keys, newest first.
    pub fn keys(&self) -> &[Cert] {
        &self.keys
    }

    /// Whether there are no keys at all.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The public certificates, armored, newest first: what `GET /pgp/key` serves.
    pub fn public_armored(&self) -> Result<String, PgpError> {
        let mut out = String::new();
        for k in &self.keys {
            let a = armored_public(k)?;
            out.push_str(&String::from_utf8_lossy(&a));
        }
        Ok(out)
    }

    /// The newest key that can sign now.
    fn signer(&self) -> Result<openpgp::crypto::KeyPair, PgpError> {
        for cert in &self.keys {
            let Ok(vc) = cert.with_policy(&POLICY, None) else {
                continue;
            };
            if let Some(ka) = vc
                .keys()
                .unencrypted_secret()
                .supported()
                .alive()
                .revoked(false)
                .for_signing()
                .next()
            {
                return ka.key().clone().into_keypair().map_err(PgpError::openpgp);
            }
        }
        Err(PgpError::NoSigningKey)
    }
}

/// Where sender certificates come from: the store, through the server. Returns every
/// certificate holding one of the given keys (by fingerprint or key id).
pub trait CertLookup {
    /// Certificates holding any of `handles`.
    fn certs_for(&self, handles: &[KeyHandle]) -> Vec<Cert>;
}

impl CertLookup for [Cert] {
    fn certs_for(&self, handles: &[KeyHandle]) -> Vec<Cert> {
        self.iter()
            .filter(|c| {
                c.keys()
                    .any(|k| handles.iter().any(|h| h.aliases(k.key().key_handle())))
            })
            .cloned()
            .collect()
    }
}

impl CertLookup for Vec<Cert> {
    fn certs_for(&self, handles: &[KeyHandle]) -> Vec<Cert> {
        self.as_slice().certs_for(handles)
    }
}

mod read;

pub(crate) use read::{open_clearsigned, open_message, record, verify_detached, Opened};

/// Signs `data` (and encrypts it to `recipients`, when there are any) as one armored OpenPGP
/// message. The helpline's own newest key is added as a recipient so that its staff can read
/// what was sent.
pub fn sign_and_encrypt(
    data: &[u8],
    keys: &Keyring,
    recipients: &[Cert],
) -> Result<Vec<u8>, PgpError> {
    let signer = keys.signer()?;
    let mut enc_keys = Vec::new();
    for cert in recipients.iter().chain(keys.keys().first()) {
        let vc = cert
            .with_policy(&POLICY, None)
            .map_err(|_| PgpError::NoEncryptionKey(cert.fingerprint().to_hex()))?;
        let before = enc_keys.len();
        enc_keys.extend(
            vc.keys()
                .supported()
                .alive()
                .revoked(false)
                .for_transport_encryption(),
        );
        if enc_keys.len() == before {
            return Err(PgpError::NoEncryptionKey(cert.fingerprint().to_hex()));
        }
    }
    let mut sink = Vec::new();
    {
        let message = Message::new(&mut sink);
        let message = Armorer::new(message).build().map_err(PgpError::openpgp)?;
        let message = Encryptor::for_recipients(message, enc_keys)
            .build()
            .map_err(PgpError::openpgp)?;
        let message = Signer::new(message, signer)
            .map_err(PgpError::openpgp)?
            .build()
            .map_err(PgpError::openpgp)?;
        let mut w = LiteralWriter::new(message)
            .build()
            .map_err(PgpError::openpgp)?;
        w.write_all(data).map_err(PgpError::openpgp)?;
        w.finalize().map_err(PgpError::openpgp)?;
    }
    Ok(sink)
}

/// A detached, armored signature over `data` by the helpline's newest key.
pub fn sign_detached(data: &[u8], keys: &Keyring) -> Result<Vec<u8>, PgpError> {
    let signer = keys.signer()?;
    let mut sink = Vec::new();
    {
        let message = Message::new(&mut sink);
        let message = Armorer::new(message)
            .kind(openpgp::armor::Kind::Signature)
            .build()
            .map_err(PgpError::openpgp)?;
        // multipart/signed names its hash (micalg=pgp-sha512), so it must be this one.
        let mut w = Signer::new(message, signer)
            .map_err(PgpError::openpgp)?
            .hash_algo(openpgp::types::HashAlgorithm::SHA512)
            .map_err(PgpError::openpgp)?
            .detached()
            .build()
            .map_err(PgpError::openpgp)?;
        w.write_all(data).map_err(PgpError::openpgp)?;
        w.finalize().map_err(PgpError::openpgp)?;
    }
    Ok(sink)
}
