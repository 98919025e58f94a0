//! What Helpline records about a message's OpenPGP protection and delivery, and about the
//! certificates it holds for the people who write in.
//!
//! The words are the ones a handler needs to decide whether to trust a message: was it
//! encrypted to us, who signed it, is that signature good, and by which key.

use serde::{Deserialize, Serialize};

use crate::closed_set::closed_set;

closed_set! {
    /// What became of a message's encryption.
    DecryptionStatus, "decryption" {
        /// Encrypted to one of the helpline's keys, and decrypted.
        Decrypted = "decrypted",
        /// Sent in the clear.
        NotEncrypted = "not_encrypted",
        /// Encrypted, but to none of the helpline's keys.
        NotForUs = "not_for_us",
        /// Encrypted to a key of ours that cannot be used (or to a password only).
        NoUsableKey = "no_usable_key",
        /// Encrypted, but the ciphertext is damaged or malformed.
        Corrupt = "corrupt",
    }
}

impl DecryptionStatus {
    /// Whether the message's content could not be read and must wait in the quarantine.
    pub fn is_unreadable(self) -> bool {
        matches!(self, Self::NotForUs | Self::NoUsableKey | Self::Corrupt)
    }
}

closed_set! {
    /// The outcome of checking one signature (or of finding none).
    SignatureStatus, "signature" {
        /// Made by the key named, over exactly this content, and the key is valid.
        Good = "good",
        /// The content or the signature was altered, or the signature is malformed.
        Bad = "bad",
        /// Made by a key Helpline holds no certificate for (yet).
        UnknownKey = "unknown_key",
        /// Cryptographically correct, but made by a key that has expired.
        ExpiredKey = "expired_key",
        /// Cryptographically correct, but made by a key its owner revoked.
        RevokedKey = "revoked_key",
        /// The message carries no signature.
        None = "none",
    }
}

closed_set! {
    /// How the OpenPGP data travelled in the message.
    PgpFormat, "format" {
        /// RFC 3156 multipart/encrypted or multipart/signed.
        PgpMime = "pgp_mime",
        /// An armored block in the text body.
        Inline = "inline",
        /// A cleartext-signed text body.
        Clearsigned = "clearsigned",
        /// No OpenPGP at all.
        None = "none",
    }
}

/// One signature found on a message, and what checking it gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureCheck {
    /// The outcome.
    pub status: SignatureStatus,
    /// Fingerprint of the signing certificate, when Helpline holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The key id or fingerprint the signature names as its issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Why a signature is not good, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl SignatureCheck {
    /// A signature that could not be checked at all (malformed, or not where it should be):
    /// bad, naming no key, with the reason.
    pub fn unreadable(detail: impl Into<String>) -> SignatureCheck {
        SignatureCheck {
            status: SignatureStatus::Bad,
            fingerprint: None,
            issuer: None,
            detail: Some(detail.into()),
        }
    }
}

/// Everything Helpline learned about a message's OpenPGP protection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CryptoOutcome {
    /// How the OpenPGP data travelled.
    pub format: PgpFormat,
    /// Whether and how it was decrypted.
    pub decryption: DecryptionStatus,
    /// Fingerprint of the helpline key that decrypted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decrypted_with: Option<String>,
    /// Key ids the message was encrypted to (when it could not be decrypted, says to whom).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// Why decryption failed, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The overall signature outcome: the best of `signatures`, or `none`.
    pub signature: SignatureStatus,
    /// Each signature found.
    #[serde(default)]
    pub signatures: Vec<SignatureCheck>,
    /// Whether the subject was taken from encrypted (protected) headers.
    #[serde(default)]
    pub protected_headers: bool,
    /// When the signatures cover one part of the message only (a signed message inside
    /// `multipart/mixed`: a mailing list's footer, a forwarding note): which part. Absent when
    /// they cover everything that was read (or there are none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_part: Option<SignedPart>,
}

/// The one part of a message its signatures cover; what lies outside it is shown apart, after
/// [`UNSIGNED_MARKER`], never as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPart {
    /// Where the `multipart/signed` part sits in the MIME tree: `2` is the second part of the
    /// message, `1.2` the second part of its first.
    pub path: String,
    /// The media type of the signed content (`text/plain`, `multipart/mixed`, ...).
    pub media_type: String,
    /// How many parts lie outside it (texts and files), unsigned.
    pub unsigned_parts: usize,
}

/// The line between a message's signed text and the text outside its signed part.
pub const UNSIGNED_MARKER: &str = "----- not covered by the signature -----";

impl CryptoOutcome {
    /// A message with no OpenPGP at all.
    pub fn plain() -> Self {
        Self {
            format: PgpFormat::None,
            decryption: DecryptionStatus::NotEncrypted,
            decrypted_with: None,
            recipients: Vec::new(),
            detail: None,
            signature: SignatureStatus::None,
            signatures: Vec::new(),
            protected_headers: false,
            signed_part: None,
        }
    }

    /// Sets `signature` from `signatures`: good wins, then the most telling failure.
    pub fn summarise_signatures(&mut self) {
        let rank = |s: SignatureStatus| match s {
            SignatureStatus::Good => 0,
            SignatureStatus::Bad => 1,
            SignatureStatus::RevokedKey => 2,
            SignatureStatus::ExpiredKey => 3,
            SignatureStatus::UnknownKey => 4,
            SignatureStatus::None => 5,
        };
        self.signature = self
            .signatures
            .iter()
            .map(|s| s.status)
            .min_by_key(|s| rank(*s))
            .unwrap_or(SignatureStatus::None);
    }

    /// Fingerprints of the good signatures.
    pub fn good_signers(&self) -> impl Iterator<Item = &str> {
        self.signatures
            .iter()
            .filter(|s| s.status == SignatureStatus::Good)
            .filter_map(|s| s.fingerprint.as_deref())
    }
}

closed_set! {
    /// How Helpline came to hold a certificate.
    CertificateSource, "source" {
        /// Uploaded through the API.
        Upload = "upload",
        /// Learned from an `Autocrypt:` header of an inbound message.
        Autocrypt = "autocrypt",
        /// Attached to an inbound message (`application/pgp-keys`).
        AttachedKey = "attached_key",
        /// Entered by hand (verified in person, read out on a call).
        Manual = "manual",
    }
}

closed_set! {
    /// Where an outbound message stands on its way out.
    DeliveryState, "delivery" {
        /// Waiting in the outbox.
        Queued = "queued",
        /// The relay refused it for now; it will be tried again.
        Retrying = "retrying",
        /// The relay accepted it.
        Sent = "sent",
        /// Given up on after the last attempt, or refused for good by the relay.
        Failed = "failed",
    }
}

impl DeliveryState {
    /// Where a message stands after a failed attempt: failed for good after a permanent
    /// refusal or the last allowed attempt, else to be tried again.
    pub fn after_failure(attempts_made: u32, max_attempts: u32, permanent: bool) -> Self {
        if permanent || attempts_made >= max_attempts {
            DeliveryState::Failed
        } else {
            DeliveryState::Retrying
        }
    }
}

/// A file that came with a message, kept as evidence on the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// The evidence item holding it.
    pub evidence_id: crate::ids::EvidenceId,
    /// The file name the sender gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// `type/subtype`.
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
}

/// Where an outbound message stands with the SMTP relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The state.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// The next attempt, while retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The relay's last answer when it refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the relay accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The mail facts of a message that travelled by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailDetails {
    /// Its RFC 5322 Message-ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Sender address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Recipient addresses.
    #[serde(default)]
    pub to: Vec<String>,
    /// OpenPGP protection and its outcome (for replies: how they were signed).
    pub crypto: CryptoOutcome,
    /// For replies: fingerprints of the certificates it was encrypted to (empty: not encrypted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub encrypted_to: Vec<String>,
    /// Attachments, kept as evidence.
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
    /// Delivery, for outbound messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_failed_delivery_is_retried_until_the_last_attempt_or_a_permanent_refusal() {
        use super::DeliveryState::{self, Failed, Retrying};
        assert_eq!(DeliveryState::after_failure(1, 3, false), Retrying);
        assert_eq!(DeliveryState::after_failure(2, 3, false), Retrying);
        assert_eq!(DeliveryState::after_failure(3, 3, false), Failed);
        assert_eq!(DeliveryState::after_failure(1, 3, true), Failed);
    }

    use super::*;

    fn check(status: SignatureStatus) -> SignatureCheck {
        SignatureCheck {
            status,
            fingerprint: None,
            issuer: None,
            detail: None,
        }
    }

    #[test]
    fn one_good_signature_makes_the_message_good() {
        let mut o = CryptoOutcome::plain();
        o.summarise_signatures();
        assert_eq!(o.signature, SignatureStatus::None);
        o.signatures = vec![
            check(SignatureStatus::UnknownKey),
            check(SignatureStatus::Good),
        ];
        o.summarise_signatures();
        assert_eq!(o.signature, SignatureStatus::Good);
        o.signatures = vec![
            check(SignatureStatus::UnknownKey),
            check(SignatureStatus::Bad),
        ];
        o.summarise_signatures();
        assert_eq!(o.signature, SignatureStatus::Bad);
    }

    #[test]
    fn serialises_with_the_field_words() {
        let o = CryptoOutcome::plain();
        let v = serde_json::to_value(&o).unwrap_or_default();
        assert_eq!(v["decryption"], "not_encrypted");
        assert_eq!(v["signature"], "none");
        assert_eq!(v["format"], "none");
    }
}
