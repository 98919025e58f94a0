//! Opening an inbound message: MIME under limits, then whatever OpenPGP wraps it — PGP/MIME
//! encrypted or signed (RFC 3156), inline PGP, cleartext signatures — with protected headers,
//! Autocrypt and attached keys collected as candidate certificates.

use std::time::SystemTime;

use base64::Engine;
use helpline_domain::mail::{
    CertificateSource, CryptoOutcome, DecryptionStatus, PgpFormat, SignedPart, UNSIGNED_MARKER,
};
use mail_parser::{Message, PartType};
use sequoia_openpgp::Cert;

use crate::content::{content, file, part_type, untyped_text};
use crate::parse::{parse_checked, Attachment, Envelope, Limits, MailError, ParsedMail};
use crate::pgp::{self, CertLookup, Keyring};

/// A certificate found in a message, for the server to learn (never to trust on sight).
#[derive(Debug, Clone)]
pub struct CandidateCert {
    /// The certificate.
    pub cert: Cert,
    /// Where it was found.
    pub source: CertificateSource,
    /// The address it was offered for (the Autocrypt `addr`, or the sender's).
    pub address: Option<String>,
}

/// Everything Helpline reads from one inbound message.
#[derive(Debug, Clone)]
pub struct InboundMail {
    /// Sender, recipients, date and threading headers (of the outer message).
    pub envelope: Envelope,
    /// The subject: the protected (encrypted) one when there is one, else the outer one.
    pub subject: Option<String>,
    /// The readable text (decrypted where it was encrypted).
    pub text: Option<String>,
    /// The sender's files (decrypted where they were encrypted).
    pub attachments: Vec<Attachment>,
    /// What OpenPGP protected, and how that went.
    pub crypto: CryptoOutcome,
    /// Certificates offered in the message (Autocrypt header, attached keys).
    pub candidate_certs: Vec<CandidateCert>,
}

impl InboundMail {
    fn from_outer(outer: ParsedMail) -> Self {
        Self {
            envelope: outer.envelope,
            subject: outer.subject,
            text: outer.text,
            attachments: outer.attachments,
            crypto: CryptoOutcome::plain(),
            candidate_certs: Vec::new(),
        }
    }
}

/// What a message is opened with: the helpline's keys, the certificates of correspondents, the
/// limits, and the time signatures and keys are judged at.
pub struct Opener<'a> {
    /// The helpline's secret keys.
    pub keys: &'a Keyring,
    /// Correspondents' certificates.
    pub certs: &'a dyn CertLookup,
    /// How much to read.
    pub limits: Limits,
    /// "Now", for expiry and revocation.
    pub now: SystemTime,
}

const PGP_MESSAGE: &str = "-----BEGIN PGP MESSAGE-----";
const PGP_MESSAGE_END: &str = "-----END PGP MESSAGE-----";
const PGP_SIGNED: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
const PGP_SIGNATURE_END: &str = "-----END PGP SIGNATURE-----";

impl Opener<'_> {
    /// Opens a raw message. Limits violated anywhere (also inside the encrypted part, and by
    /// a compressed payload) are errors; everything about OpenPGP is an outcome in `crypto`.
    /// A parser that panics on hostile input (the fuzzers found such inputs in sequoia) is
    /// [`MailError::ParserFailure`], never a panic out of here.
    pub fn open(&self, raw: &[u8]) -> Result<InboundMail, MailError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.open_unguarded(raw)))
            .unwrap_or(Err(MailError::ParserFailure))
    }

    fn open_unguarded(&self, raw: &[u8]) -> Result<InboundMail, MailError> {
        let msg = parse_checked(raw, &self.limits)?;
        let mut mail = InboundMail::from_outer(ParsedMail::from_message(&msg));
        self.autocrypt(&msg, &mut mail);
        let root = msg.root_part();
        match part_type(root).as_str() {
            "multipart/encrypted" => {
                mail.crypto.format = PgpFormat::PgpMime;
                let payload = children(&msg, 0)
                    .into_iter()
                    .filter_map(|i| msg.parts.get(i))
                    .find(|p| part_type(p) == "application/octet-stream")
                    .map(|p| p.contents().to_vec());
                match payload {
                    Some(ciphertext) => self.decrypt_entity(&ciphertext, &mut mail)?,
                    None => {
                        mail.crypto.decryption = DecryptionStatus::Corrupt;
                        mail.crypto.detail =
                            Some("multipart/encrypted without an encrypted part".into());
                    }
                }
            }
            "multipart/signed" => {
                mail.crypto.format = PgpFormat::PgpMime;
                self.verify_signed(raw, &msg, 0, &mut mail)?;
            }
            _ => self.signed_within(raw, &msg, &mut mail)?,
        }
        self.attached_keys(&mut mail);
        mail.crypto.summarise_signatures();
        Ok(mail)
    }

    /// Decrypts and verifies one OpenPGP message; a plaintext over the decode limit is an error.
    fn decrypt(&self, data: &[u8]) -> Result<pgp::Opened, MailError> {
        let opened = pgp::open_message(
            data,
            self.keys,
            self.certs,
            self.now,
            self.limits.max_decoded_bytes,
        );
        if opened.too_large {
            return Err(MailError::DecodedTooLarge {
                max: self.limits.max_decoded_bytes,
            });
        }
        Ok(opened)
    }

    /// PGP/MIME encrypted: decrypt, then read the plaintext as a MIME entity, which may itself
    /// be multipart/signed (sign, then encrypt in two layers) and may carry protected headers.
    fn decrypt_entity(&self, ciphertext: &[u8], mail: &mut InboundMail) -> Result<(), MailError> {
        let opened = self.decrypt(ciphertext)?;
        pgp::record(&mut mail.crypto, &opened);
        // What was visible outside is not the content of an encrypted message.
        mail.text = None;
        mail.attachments.clear();
        let Some(plain) = opened.plaintext else {
            return Ok(());
        };
        match parse_checked(&plain, &self.limits) {
            Ok(inner) => {
                if let Some(subject) = inner.subject() {
                    mail.subject = Some(subject.to_owned());
                    mail.crypto.protected_headers = true;
                }
                if part_type(inner.root_part()) == "multipart/signed" {
                    self.verify_signed(&plain, &inner, 0, mail)?;
                } else {
                    let (text, attachments) = content(&inner);
                    mail.text = text;
                    mail.attachments = attachments;
                    self.signed_within(&plain, &inner, mail)?;
                }
            }
            Err(MailError::NotAMessage) => {
                mail.text = Some(String::from_utf8_lossy(&plain).into_owned());
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// A message (or decrypted entity) that is not itself signed, whose content `mail` holds:
    /// a `multipart/signed` part inside it (a list's footer or a forwarding note around a
    /// signed message) is verified, its content shown first and what lies outside it after
    /// [`UNSIGNED_MARKER`], with `crypto.signed_part` saying which part the signatures cover;
    /// without one, inline PGP in the text is looked for.
    fn signed_within(
        &self,
        raw: &[u8],
        msg: &Message<'_>,
        mail: &mut InboundMail,
    ) -> Result<(), MailError> {
        let Some(id) = nested_signed(msg) else {
            return self.inline(mail);
        };
        mail.crypto.format = PgpFormat::PgpMime;
        self.verify_signed(raw, msg, id, mail)?;
        let inside = subtree(msg, id);
        let outside = |i: &u32| !inside.contains(&(*i as usize));
        let mut texts: Vec<String> = (0..msg.text_body.len())
            .filter(|&pos| msg.text_body.get(pos).is_some_and(outside))
            .filter_map(|pos| msg.body_text(pos).map(|t| t.trim().to_owned()))
            .collect();
        let mut unsigned_parts = texts.len();
        for i in msg.attachments.iter().filter(|i| outside(i)) {
            let Some(part) = msg.parts.get(*i as usize) else {
                continue;
            };
            if let Some(t) = untyped_text(part) {
                texts.push(t.trim().to_owned());
                unsigned_parts += 1;
            } else if let Some(f) = file(part) {
                mail.attachments.push(f);
                unsigned_parts += 1;
            }
        }
        texts.retain(|t| !t.is_empty());
        if !texts.is_empty() {
            let signed = mail.text.take().unwrap_or_default();
            mail.text = Some(format!(
                "{}\n\n{UNSIGNED_MARKER}\n{}",
                signed.trim_end(),
                texts.join("\n\n")
            ));
        }
        let content = children(msg, id).first().and_then(|i| msg.parts.get(*i));
        mail.crypto.signed_part = Some(SignedPart {
            path: mime_path(msg, id),
            media_type: content.map_or_else(|| "text/plain".into(), part_type),
            unsigned_parts,
        });
        Ok(())
    }

    /// multipart/signed (part `id`): its first part, byte for byte with CRLF line ends,
    /// against the detached signature in the second.
    fn verify_signed(
        &self,
        raw: &[u8],
        msg: &Message<'_>,
        id: usize,
        mail: &mut InboundMail,
    ) -> Result<(), MailError> {
        let kids = children(msg, id);
        let signed = kids.first().and_then(|i| msg.parts.get(*i));
        let signature = kids
            .iter()
            .filter_map(|i| msg.parts.get(*i))
            .find(|p| part_type(p) == "application/pgp-signature");
        let (Some(signed), Some(signature)) = (signed, signature) else {
            mail.crypto
                .signatures
                .push(helpline_domain::mail::SignatureCheck::unreadable(
                    "multipart/signed without a signed part and a signature",
                ));
            return Ok(());
        };
        let start = signed.offset_header as usize;
        let end = signed.offset_end as usize;
        let bytes = raw.get(start..end.min(raw.len())).unwrap_or_default();
        // mail-parser ends a part before the line break that belongs to the boundary.
        let data = canonical(bytes);
        mail.crypto.signatures.extend(pgp::verify_detached(
            &data,
            signature.contents(),
            self.certs,
            self.now,
        ));
        // The content is the signed part: read it as an entity of its own.
        match parse_checked(&data, &self.limits) {
            Ok(inner) => {
                let (text, attachments) = content(&inner);
                mail.text = text;
                mail.attachments = attachments;
            }
            Err(MailError::NotAMessage) => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Inline PGP in the text: an armored encrypted (or signed) message, or cleartext signed.
    fn inline(&self, mail: &mut InboundMail) -> Result<(), MailError> {
        let Some(text) = mail.text.clone() else {
            return Ok(());
        };
        if let Some(block) = armored_block(&text, PGP_SIGNED, PGP_SIGNATURE_END) {
            if mail.crypto.format == PgpFormat::None {
                mail.crypto.format = PgpFormat::Clearsigned;
            }
            if let Some((plain, checks)) = pgp::open_clearsigned(
                block.as_bytes(),
                self.certs,
                self.now,
                self.limits.max_decoded_bytes,
            ) {
                mail.text = Some(String::from_utf8_lossy(&plain).into_owned());
                mail.crypto.signatures.extend(checks);
            } else {
                mail.crypto
                    .signatures
                    .push(helpline_domain::mail::SignatureCheck::unreadable(
                        "malformed cleartext signature",
                    ));
            }
        } else if let Some(block) = armored_block(&text, PGP_MESSAGE, PGP_MESSAGE_END) {
            if mail.crypto.format == PgpFormat::None {
                mail.crypto.format = PgpFormat::Inline;
            }
            let opened = self.decrypt(block.as_bytes())?;
            pgp::record(&mut mail.crypto, &opened);
            mail.text = opened
                .plaintext
                .map(|p| String::from_utf8_lossy(&p).into_owned());
            if mail.crypto.decryption == DecryptionStatus::Decrypted {
                self.decrypt_inline_attachments(mail)?;
            }
        }
        Ok(())
    }

    /// With inline PGP, files travel encrypted one by one (`report.pdf.pgp`).
    fn decrypt_inline_attachments(&self, mail: &mut InboundMail) -> Result<(), MailError> {
        for a in &mut mail.attachments {
            let encrypted_name = a
                .filename
                .as_deref()
                .and_then(|f| f.strip_suffix(".pgp").or_else(|| f.strip_suffix(".gpg")))
                .map(str::to_owned);
            let Some(name) = encrypted_name else {
                continue;
            };
            let opened = self.decrypt(&a.bytes)?;
            if let Some(plain) = opened.plaintext {
                *a = Attachment::new(Some(name), "application/octet-stream".into(), plain);
                mail.crypto.signatures.extend(opened.signatures);
            }
        }
        Ok(())
    }

    /// `Autocrypt: addr=...; keydata=...` — a candidate, only for the sender's own address.
    fn autocrypt(&self, msg: &Message<'_>, mail: &mut InboundMail) {
        let Some(value) = msg.header_raw("Autocrypt") else {
            return;
        };
        let Some(from) = mail
            .envelope
            .from
            .as_ref()
            .map(|f| f.address.to_lowercase())
        else {
            return;
        };
        let mut addr = None;
        let mut keydata = None;
        for attr in value.split(';') {
            let Some((k, v)) = attr.split_once('=') else {
                continue;
            };
            match k.trim() {
                "addr" => addr = Some(v.trim().to_lowercase()),
                "keydata" => keydata = Some(v.split_whitespace().collect::<String>()),
                _ => {}
            }
        }
        if addr.as_deref() != Some(from.as_str()) {
            return;
        }
        let Some(bytes) =
            keydata.and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok())
        else {
            return;
        };
        if let Ok(cert) = pgp::read_cert(&bytes) {
            mail.candidate_certs.push(CandidateCert {
                cert,
                source: CertificateSource::Autocrypt,
                address: addr,
            });
        }
    }

    /// Keys sent as `application/pgp-keys` attachments.
    fn attached_keys(&self, mail: &mut InboundMail) {
        let from = mail
            .envelope
            .from
            .as_ref()
            .map(|f| f.address.to_lowercase());
        for a in &mail.attachments {
            if a.media_type != "application/pgp-keys" {
                continue;
            }
            if let Ok(certs) = Keyring::parse_keys(&a.bytes) {
                for cert in certs.into_iter().take(8) {
                    mail.candidate_certs.push(CandidateCert {
                        cert: cert.strip_secret_key_material(),
                        source: CertificateSource::AttachedKey,
                        address: from.clone(),
                    });
                }
            }
        }
    }
}

/// Indices of the direct children of part `id`.
fn children(msg: &Message<'_>, id: usize) -> Vec<usize> {
    match msg.parts.get(id).map(|p| &p.body) {
        Some(PartType::Multipart(kids)) => kids.iter().map(|k| *k as usize).collect(),
        _ => Vec::new(),
    }
}

/// The first `multipart/signed` part below the root, breadth first (the outermost wins), not
/// looking inside attached messages (`message/rfc822` is a file, signed or not).
fn nested_signed(msg: &Message<'_>) -> Option<usize> {
    let mut queue: std::collections::VecDeque<usize> = children(msg, 0).into();
    while let Some(id) = queue.pop_front() {
        let part = msg.parts.get(id)?;
        if part_type(part) == "multipart/signed" {
            return Some(id);
        }
        queue.extend(children(msg, id));
    }
    None
}

/// Part `id` and every part below it.
fn subtree(msg: &Message<'_>, id: usize) -> std::collections::HashSet<usize> {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![id];
    while let Some(i) = stack.pop() {
        if seen.insert(i) {
            stack.extend(children(msg, i));
        }
    }
    seen
}

/// Where part `id` sits: `2` for the root's second child, `1.2` for the second child of its
/// first (the root itself is ``).
fn mime_path(msg: &Message<'_>, id: usize) -> String {
    fn walk(msg: &Message<'_>, at: usize, id: usize, path: &mut Vec<usize>) -> bool {
        for (n, kid) in children(msg, at).into_iter().enumerate() {
            path.push(n + 1);
            if kid == id || walk(msg, kid, id, path) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = Vec::new();
    walk(msg, 0, id, &mut path);
    path.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// Line ends as CRLF, as they were signed (an MTA may deliver LF only).
fn canonical(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + b.len() / 32);
    let mut prev = 0u8;
    for &c in b {
        if c == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(c);
        prev = c;
    }
    out
}

/// The armored block from `begin` to the end of the `end` line, if the text has one.
fn armored_block<'t>(text: &'t str, begin: &str, end: &str) -> Option<&'t str> {
    let start = text.find(begin)?;
    let rest = &text[start..];
    let stop = rest.find(end)? + end.len();
    Some(&rest[..stop])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonicalises_bare_line_feeds_only() {
        assert_eq!(canonical(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
    }

    #[test]
    fn finds_armored_blocks() {
        let t = "hi\n-----BEGIN PGP MESSAGE-----\nabc\n-----END PGP MESSAGE-----\nbye";
        assert_eq!(
            armored_block(t, PGP_MESSAGE, PGP_MESSAGE_END),
            Some("-----BEGIN PGP MESSAGE-----\nabc\n-----END PGP MESSAGE-----")
        );
        assert_eq!(armored_block("no", PGP_MESSAGE, PGP_MESSAGE_END), None);
    }
}
