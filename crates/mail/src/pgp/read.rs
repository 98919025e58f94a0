//! Reading what strangers send: one pass of sequoia over a message (decrypting with the
//! helpline's keys, checking every signature against the certificates we hold), and the
//! classification of each signature into the field's words.

use std::io::Read;
use std::time::SystemTime;

use helpline_domain::mail::{CryptoOutcome, DecryptionStatus, SignatureCheck, SignatureStatus};
use openpgp::cert::prelude::*;
use openpgp::crypto::SessionKey;
use openpgp::packet::{PKESK, SKESK};
use openpgp::parse::stream::{
    DecryptionHelper, DecryptorBuilder, DetachedVerifierBuilder, MessageLayer, MessageStructure,
    VerificationError, VerificationHelper, VerifierBuilder,
};
use openpgp::parse::Parse;
use openpgp::types::{RevocationStatus, SymmetricAlgorithm};
use openpgp::{Cert, KeyHandle};
use sequoia_openpgp as openpgp;

use super::{CertLookup, Keyring, POLICY};

/// What one pass of sequoia over a message told us.
#[derive(Debug, Default)]
struct Findings {
    recipients: Vec<String>,
    ours_named: bool,
    damaged: bool,
    password_only: bool,
    decrypted_with: Option<String>,
    encrypted: bool,
    signatures: Vec<SignatureCheck>,
}

struct Helper<'a> {
    keys: &'a Keyring,
    lookup: &'a dyn CertLookup,
    now: SystemTime,
    found: &'a mut Findings,
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.lookup.certs_for(ids))
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure.into_iter() {
            match layer {
                MessageLayer::Encryption { .. } => self.found.encrypted = true,
                MessageLayer::Compression { .. } => {}
                MessageLayer::SignatureGroup { results } => {
                    for r in results {
                        self.found.signatures.push(classify(r, self.now));
                    }
                }
            }
        }
        // Outcomes are recorded, never enforced here: a message with a bad signature is still
        // kept and shown, marked bad.
        Ok(())
    }
}

impl DecryptionHelper for Helper<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        skesks: &[SKESK],
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<Cert>> {
        self.found.encrypted = true;
        self.found.recipients = pkesks
            .iter()
            .map(|p| {
                p.recipient()
                    .map(|h| h.to_hex())
                    .unwrap_or_else(|| "anonymous".into())
            })
            .collect();
        for pkesk in pkesks {
            for cert in self.keys.keys() {
                let named = cert.keys().filter(|k| match pkesk.recipient() {
                    Some(r) => r.aliases(k.key().key_handle()),
                    None => true,
                });
                for ka in named {
                    let Ok(secret) = ka.key().clone().parts_into_secret() else {
                        // Ours, but we hold only its public part.
                        self.found.ours_named |= pkesk.recipient().is_some();
                        continue;
                    };
                    let Ok(mut pair) = secret.into_keypair() else {
                        // Ours, but the secret is locked with a passphrase.
                        self.found.ours_named |= pkesk.recipient().is_some();
                        continue;
                    };
                    if let Some((algo, sk)) = pkesk.decrypt(&mut pair, sym_algo) {
                        if decrypt(algo, &sk) {
                            self.found.decrypted_with = Some(cert.fingerprint().to_hex());
                            return Ok(Some(cert.clone()));
                        }
                    }
                    // A usable key of ours that does not open a packet addressed to it: the
                    // packet is damaged.
                    self.found.damaged |= pkesk.recipient().is_some();
                }
            }
        }
        self.found.password_only = pkesks.is_empty() && !skesks.is_empty();
        Err(anyhow_free("no helpline key decrypts this message"))
    }
}

fn anyhow_free(msg: &'static str) -> openpgp::anyhow::Error {
    openpgp::anyhow::Error::msg(msg)
}

fn issuer_of(sig: &openpgp::packet::Signature) -> Option<String> {
    let issuers = sig.get_issuers();
    issuers
        .iter()
        .find(|h| matches!(h, KeyHandle::Fingerprint(_)))
        .or(issuers.first())
        .map(|h| h.to_hex())
}

/// Is the certificate (or the key in it) revoked or expired as of `now`?
fn key_state(cert: &Cert, key: &KeyHandle, now: SystemTime) -> Option<SignatureStatus> {
    if matches!(
        cert.revocation_status(&POLICY, now),
        RevocationStatus::Revoked(_)
    ) {
        return Some(SignatureStatus::RevokedKey);
    }
    let Ok(vc) = cert.with_policy(&POLICY, now) else {
        // No valid self-signature now: the cert has expired or been hard-revoked.
        return Some(if cert_revoked_any_time(cert) {
            SignatureStatus::RevokedKey
        } else {
            SignatureStatus::ExpiredKey
        });
    };
    if vc.alive().is_err() {
        return Some(SignatureStatus::ExpiredKey);
    }
    match vc.keys().key_handle(key.clone()).next() {
        Some(ka) => {
            if matches!(ka.revocation_status(), RevocationStatus::Revoked(_)) {
                Some(SignatureStatus::RevokedKey)
            } else if ka.alive().is_err() {
                Some(SignatureStatus::ExpiredKey)
            } else {
                None
            }
        }
        None => Some(if cert_revoked_any_time(cert) {
            SignatureStatus::RevokedKey
        } else {
            SignatureStatus::ExpiredKey
        }),
    }
}

fn cert_revoked_any_time(cert: &Cert) -> bool {
    cert.primary_key().self_revocations().next().is_some()
        || cert
            .keys()
            .subkeys()
            .any(|k| k.self_revocations().next().is_some())
}

/// A verification result in the field's words. Long because it is one `match` over
/// sequoia's verdicts, each arm saying what a handler should understand by it.
fn classify(
    r: Result<openpgp::parse::stream::GoodChecksum, VerificationError>,
    now: SystemTime,
) -> SignatureCheck {
    match r {
        Ok(good) => {
            let cert = good.ka.cert();
            let fingerprint = Some(cert.fingerprint().to_hex());
            let issuer = issuer_of(good.sig);
            match key_state(cert, &good.ka.key().key_handle(), now) {
                None => SignatureCheck {
                    status: SignatureStatus::Good,
                    fingerprint,
                    issuer,
                    detail: None,
                },
                Some(status) => SignatureCheck {
                    status,
                    fingerprint,
                    issuer,
                    detail: None,
                },
            }
        }
        Err(VerificationError::MissingKey { sig }) => SignatureCheck {
            status: SignatureStatus::UnknownKey,
            fingerprint: None,
            issuer: issuer_of(sig),
            detail: None,
        },
        Err(VerificationError::BadKey { sig, ka, error }) => {
            let cert = ka.cert();
            let status = key_state(cert, &ka.key().key_handle(), now)
                .or_else(|| {
                    key_state(
                        cert,
                        &ka.key().key_handle(),
                        sig.signature_creation_time().unwrap_or(now),
                    )
                })
                .unwrap_or(SignatureStatus::Bad);
            SignatureCheck {
                status,
                fingerprint: Some(cert.fingerprint().to_hex()),
                issuer: issuer_of(sig),
                detail: Some(error.to_string()),
            }
        }
        Err(VerificationError::UnboundKey { sig, cert, error }) => {
            let status = if cert_revoked_any_time(cert) {
                SignatureStatus::RevokedKey
            } else if cert
                .with_policy(&POLICY, sig.signature_creation_time())
                .is_ok_and(|vc| vc.alive().is_err())
                || cert
                    .with_policy(&POLICY, now)
                    .is_ok_and(|vc| vc.alive().is_err())
            {
                SignatureStatus::ExpiredKey
            } else {
                SignatureStatus::Bad
            };
            SignatureCheck {
                status,
                fingerprint: Some(cert.fingerprint().to_hex()),
                issuer: issuer_of(sig),
                detail: Some(error.to_string()),
            }
        }
        Err(VerificationError::BadSignature { sig, ka, error }) => SignatureCheck {
            status: SignatureStatus::Bad,
            fingerprint: Some(ka.cert().fingerprint().to_hex()),
            issuer: issuer_of(sig),
            detail: Some(error.to_string()),
        },
        Err(VerificationError::MalformedSignature { sig, error }) => SignatureCheck {
            status: SignatureStatus::Bad,
            fingerprint: None,
            issuer: issuer_of(sig),
            detail: Some(error.to_string()),
        },
        Err(e) => SignatureCheck::unreadable(e.to_string()),
    }
}

/// The result of opening an OpenPGP message: its plaintext, when there is one, and what was
/// learned on the way.
#[derive(Debug)]
pub(crate) struct Opened {
    pub plaintext: Option<Vec<u8>>,
    pub decryption: DecryptionStatus,
    pub decrypted_with: Option<String>,
    pub recipients: Vec<String>,
    pub detail: Option<String>,
    pub signatures: Vec<SignatureCheck>,
    pub too_large: bool,
}

/// What sequoia buffers of a plaintext before releasing it.
const PLAINTEXT_WINDOW: usize = 256 * 1024;

/// Reads at most `max` bytes; more means the message decompresses beyond what we accept. The
/// buffer never grows past `max` (doubling would reserve twice the limit for a bomb).
fn read_bounded(mut r: impl Read, max: usize) -> std::io::Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => return Ok((out, false)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if out.len() + n > max {
            return Ok((Vec::new(), true));
        }
        if out.capacity() - out.len() < n {
            let want = (out.capacity() * 2).max(out.len() + n).min(max);
            out.reserve_exact(want - out.len());
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Decrypts (and verifies) an OpenPGP message, or verifies a signed or clearsigned one.
pub(crate) fn open_message(
    data: &[u8],
    keys: &Keyring,
    lookup: &dyn CertLookup,
    now: SystemTime,
    max_plaintext: usize,
) -> Opened {
    let mut found = Findings::default();
    let read = || -> openpgp::Result<(Vec<u8>, bool)> {
        let helper = Helper {
            keys,
            lookup,
            now,
            found: &mut found,
        };
        // Sequoia would hold back up to 25 MiB until the signatures are checked; we read the
        // whole plaintext ourselves and believe only what `check()` reports at its end, so a
        // small window suffices and a bomb costs the plaintext limit, not twice it.
        let mut d = DecryptorBuilder::from_bytes(data)?
            .buffer_size(max_plaintext.min(PLAINTEXT_WINDOW))
            .with_policy(&POLICY, now, helper)?;
        let out = read_bounded(&mut d, max_plaintext)?;
        Ok(out)
    };
    // sequoia-openpgp 2.4 panics on some malformed encrypted packets (found by fuzzing: a
    // SEIP header it cannot consume twice); such data is damaged, not a reason to fail.
    let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(r) => r,
        Err(_) => {
            found.damaged = true;
            Err(openpgp::anyhow::anyhow!("the OpenPGP data is malformed"))
        }
    };
    let decryption_of = |f: &Findings| {
        if f.decrypted_with.is_some() {
            DecryptionStatus::Decrypted
        } else if f.encrypted {
            DecryptionStatus::Corrupt
        } else {
            DecryptionStatus::NotEncrypted
        }
    };
    match result {
        Ok((plaintext, too_large)) => Opened {
            decryption: decryption_of(&found),
            plaintext: (!too_large).then_some(plaintext),
            decrypted_with: found.decrypted_with,
            recipients: found.recipients,
            detail: too_large.then(|| format!("the plaintext exceeds {max_plaintext} bytes")),
            signatures: found.signatures,
            too_large,
        },
        Err(e) => {
            // Decrypted (or never encrypted) but unreadable after: damaged. Encrypted to a key
            // of ours (or to a password) that did not open it: no usable key. Encrypted to
            // others only: not for us.
            let decryption = if found.decrypted_with.is_some() || !found.encrypted || found.damaged
            {
                DecryptionStatus::Corrupt
            } else if found.ours_named || found.password_only {
                DecryptionStatus::NoUsableKey
            } else if found.recipients.is_empty() {
                DecryptionStatus::Corrupt
            } else {
                DecryptionStatus::NotForUs
            };
            Opened {
                plaintext: None,
                decryption,
                decrypted_with: found.decrypted_with,
                recipients: found.recipients,
                detail: Some(if found.password_only {
                    "encrypted with a password only".to_owned()
                } else {
                    e.to_string()
                }),
                signatures: found.signatures,
                too_large: false,
            }
        }
    }
}

/// Verifies a cleartext-signed text; returns the signed text and the checks.
pub(crate) fn open_clearsigned(
    data: &[u8],
    lookup: &dyn CertLookup,
    now: SystemTime,
    max_plaintext: usize,
) -> Option<(Vec<u8>, Vec<SignatureCheck>)> {
    let keys = Keyring::default();
    let mut found = Findings::default();
    let result = (|| -> openpgp::Result<(Vec<u8>, bool)> {
        let helper = Helper {
            keys: &keys,
            lookup,
            now,
            found: &mut found,
        };
        let mut v = VerifierBuilder::from_bytes(data)?.with_policy(&POLICY, now, helper)?;
        Ok(read_bounded(&mut v, max_plaintext)?)
    })();
    match result {
        Ok((text, false)) => Some((text, found.signatures)),
        _ => None,
    }
}

/// Verifies a detached signature over `data` (already canonicalised).
pub(crate) fn verify_detached(
    data: &[u8],
    signature: &[u8],
    lookup: &dyn CertLookup,
    now: SystemTime,
) -> Vec<SignatureCheck> {
    let keys = Keyring::default();
    let mut found = Findings::default();
    let result = (|| -> openpgp::Result<()> {
        let helper = Helper {
            keys: &keys,
            lookup,
            now,
            found: &mut found,
        };
        let mut v =
            DetachedVerifierBuilder::from_bytes(signature)?.with_policy(&POLICY, now, helper)?;
        v.verify_bytes(data)
    })();
    if found.signatures.is_empty() {
        if let Err(e) = result {
            found
                .signatures
                .push(SignatureCheck::unreadable(e.to_string()));
        }
    }
    found.signatures
}

/// Fills a [`CryptoOutcome`]'s decryption fields from an [`Opened`].
pub(crate) fn record(outcome: &mut CryptoOutcome, opened: &Opened) {
    outcome.decryption = opened.decryption;
    outcome.decrypted_with = opened.decrypted_with.clone();
    outcome.recipients = opened.recipients.clone();
    outcome.detail = opened.detail.clone();
    outcome.signatures.extend(opened.signatures.iter().cloned());
}
