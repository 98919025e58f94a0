//! Composing a reply: RFC 5322 with PGP/MIME (RFC 3156), encrypted to the recipients'
//! certificates and signed by the helpline's key — or, when nobody can be encrypted to and the
//! case allows it, signed only.
//!
//! The layout is fixed and small, so it is written here rather than through a generic MIME
//! builder: what is signed must be exactly the bytes that are sent.

use base64::Engine;
use chrono::{DateTime, Utc};
use sequoia_openpgp::Cert;
use sha2::{Digest, Sha256};

use crate::parse::Mailbox;
use crate::pgp::{self, Keyring, PgpError};

/// How a reply is protected.
#[derive(Debug, Clone)]
pub enum Protection {
    /// Encrypted to these certificates (and the helpline's own key), and signed.
    Encrypt(Vec<Cert>),
    /// Signed only (PGP/MIME multipart/signed).
    SignOnly,
}

/// A reply to write.
#[derive(Debug, Clone)]
pub struct Reply<'a> {
    /// The helpline's address.
    pub from: &'a Mailbox,
    /// Recipients.
    pub to: &'a [Mailbox],
    /// The full subject, with its tag (`[Helpline #1042] Your phone`).
    pub subject: &'a str,
    /// The subject tag alone (`[Helpline #1042]`), shown outside the encryption.
    pub subject_tag: &'a str,
    /// The text.
    pub body: &'a str,
    /// Its Message-ID, without angle brackets.
    pub message_id: &'a str,
    /// The message it answers, if any.
    pub in_reply_to: Option<&'a str>,
    /// The thread so far.
    pub references: &'a [String],
    /// When it is written.
    pub date: DateTime<Utc>,
}

const CRLF: &str = "\r\n";

/// Composes the reply: the complete RFC 5322 message, ready for SMTP.
pub fn compose(
    reply: &Reply<'_>,
    keys: &Keyring,
    protection: &Protection,
) -> Result<Vec<u8>, PgpError> {
    let boundary = format!(
        "hlp-{}",
        &hex::encode(Sha256::digest(reply.message_id.as_bytes()))[..24]
    );
    let mut out = envelope(reply);
    match protection {
        Protection::Encrypt(certs) => {
            // Protected headers (draft-autocrypt-lamps-protected-headers): the real subject
            // travels inside; outside, only the tag that threads the answer.
            let inner = text_entity(reply, true);
            let armored = pgp::sign_and_encrypt(inner.as_bytes(), keys, certs)?;
            header(&mut out, "Subject", &format!("{} ...", reply.subject_tag));
            out.push_str(&format!(
                "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";{CRLF} boundary=\"{boundary}\"{CRLF}{CRLF}"
            ));
            out.push_str(&format!(
                "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156){CRLF}"
            ));
            out.push_str(&format!("--{boundary}{CRLF}Content-Type: application/pgp-encrypted{CRLF}Content-Description: PGP/MIME version identification{CRLF}{CRLF}Version: 1{CRLF}{CRLF}"));
            out.push_str(&format!("--{boundary}{CRLF}Content-Type: application/octet-stream; name=\"encrypted.asc\"{CRLF}Content-Description: OpenPGP encrypted message{CRLF}Content-Disposition: inline; filename=\"encrypted.asc\"{CRLF}{CRLF}"));
            out.push_str(
                &String::from_utf8_lossy(&armored)
                    .replace("\r\n", "\n")
                    .replace('\n', CRLF),
            );
            if !out.ends_with(CRLF) {
                out.push_str(CRLF);
            }
            out.push_str(&format!("--{boundary}--{CRLF}"));
        }
        Protection::SignOnly => {
            let inner = text_entity(reply, false);
            let signature = pgp::sign_detached(inner.as_bytes(), keys)?;
            header(&mut out, "Subject", reply.subject);
            out.push_str(&format!(
                "Content-Type: multipart/signed; micalg=pgp-sha512;{CRLF} protocol=\"application/pgp-signature\"; boundary=\"{boundary}\"{CRLF}{CRLF}"
            ));
            out.push_str(&format!(
                "This is an OpenPGP/MIME signed message (RFC 4880 and 3156){CRLF}"
            ));
            out.push_str(&format!("--{boundary}{CRLF}{inner}{CRLF}"));
            out.push_str(&format!("--{boundary}{CRLF}Content-Type: application/pgp-signature; name=\"signature.asc\"{CRLF}Content-Description: OpenPGP digital signature{CRLF}Content-Disposition: attachment; filename=\"signature.asc\"{CRLF}{CRLF}"));
            out.push_str(
                &String::from_utf8_lossy(&signature)
                    .replace("\r\n", "\n")
                    .replace('\n', CRLF),
            );
            if !out.ends_with(CRLF) {
                out.push_str(CRLF);
            }
            out.push_str(&format!("--{boundary}--{CRLF}"));
        }
    }
    Ok(out.into_bytes())
}

/// The outer headers every reply has (the subject comes with the protection).
fn envelope(reply: &Reply<'_>) -> String {
    let mut out = String::new();
    header(&mut out, "Date", &reply.date.to_rfc2822());
    header(&mut out, "From", &mailbox(reply.from));
    header(
        &mut out,
        "To",
        &reply.to.iter().map(mailbox).collect::<Vec<_>>().join(", "),
    );
    header(&mut out, "Message-ID", &format!("<{}>", reply.message_id));
    if let Some(id) = reply.in_reply_to {
        header(&mut out, "In-Reply-To", &format!("<{id}>"));
    }
    if !reply.references.is_empty() {
        let refs: Vec<String> = reply.references.iter().map(|r| format!("<{r}>")).collect();
        header(&mut out, "References", &refs.join(" "));
    }
    header(&mut out, "MIME-Version", "1.0");
    header(&mut out, "Auto-Submitted", "no");
    out
}

/// The text as a MIME entity, in base64 so that no line end or trailing space can change in
/// transit and break the signature.
fn text_entity(reply: &Reply<'_>, protected: bool) -> String {
    let mut e = String::new();
    if protected {
        e.push_str(&format!(
            "Content-Type: text/plain; charset=\"utf-8\"; protected-headers=\"v1\"{CRLF}"
        ));
        header(&mut e, "Subject", reply.subject);
        header(&mut e, "From", &mailbox(reply.from));
        header(
            &mut e,
            "To",
            &reply.to.iter().map(mailbox).collect::<Vec<_>>().join(", "),
        );
        header(&mut e, "Message-ID", &format!("<{}>", reply.message_id));
    } else {
        e.push_str(&format!(
            "Content-Type: text/plain; charset=\"utf-8\"{CRLF}"
        ));
    }
    e.push_str(&format!("Content-Transfer-Encoding: base64{CRLF}{CRLF}"));
    let body = reply.body.replace("\r\n", "\n").replace('\n', CRLF);
    let encoded = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
    for chunk in encoded.as_bytes().chunks(76) {
        e.push_str(&String::from_utf8_lossy(chunk));
        e.push_str(CRLF);
    }
    e
}

/// One header field; values that are not plain ASCII are RFC 2047 encoded word by word.
fn header(out: &mut String, name: &str, value: &str) {
    let value: String = value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    out.push_str(name);
    out.push_str(": ");
    out.push_str(&encode_words(&value));
    out.push_str(CRLF);
}

fn encode_words(value: &str) -> String {
    if value.is_ascii() {
        return value.to_owned();
    }
    // Encoded words are at most 75 characters; 45 bytes of UTF-8 make 60 of base64.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in value.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w.as_bytes())
            )
        })
        .collect::<Vec<_>>()
        .join(&format!("{CRLF} "))
}

fn mailbox(m: &Mailbox) -> String {
    match &m.name {
        Some(name) if name.is_ascii() => {
            let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{quoted}\" <{}>", m.address)
        }
        Some(name) => format!("{} <{}>", encode_words(name), m.address),
        None => format!("<{}>", m.address),
    }
}
