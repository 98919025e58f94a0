//! Reading an inbound RFC 5322 / MIME message, under limits.
//!
//! The message is a stranger's input: before and after the MIME parser (mail-parser) runs, its
//! size, the length of its header lines, the depth of its MIME tree, the number of parts and
//! the bytes they decode to are checked against [`Limits`], each with its own typed error, so
//! that a hostile message is refused with a reason rather than exhausting the server.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use crate::content::{content, media_type};
use crate::threading::message_ids;

/// How much of a message Helpline is willing to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Raw message size, in bytes.
    pub max_message_bytes: usize,
    /// One header line (with its folded continuations), in bytes.
    pub max_header_line_bytes: usize,
    /// Nesting of multiparts and attached messages.
    pub max_depth: usize,
    /// MIME parts in all.
    pub max_parts: usize,
    /// Bytes all parts decode to.
    pub max_decoded_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 32 << 20,
            max_header_line_bytes: 16 << 10,
            max_depth: 16,
            max_parts: 512,
            max_decoded_bytes: 64 << 20,
        }
    }
}

/// Why a message was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Larger than `max_message_bytes`.
    #[error("the message is {size} bytes; at most {max} are accepted")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A header line longer than `max_header_line_bytes`.
    #[error("header line {line} is {len} bytes long; at most {max} are accepted")]
    HeaderLineTooLong {
        /// 1-based line number.
        line: usize,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// MIME parts nested deeper than `max_depth`.
    #[error("MIME parts are nested more than {max} deep")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// More than `max_parts` parts.
    #[error("the message has {count} MIME parts; at most {max} are accepted")]
    TooManyParts {
        /// How many.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The parts decode to more than `max_decoded_bytes`.
    #[error("the message decodes to more than {max} bytes")]
    DecodedTooLarge {
        /// The limit.
        max: usize,
    },
    /// Not a message at all (no header, empty input).
    #[error("not an RFC 5322 message")]
    NotAMessage,
    /// A parser we rely on (MIME, OpenPGP) failed on the message instead of refusing it.
    #[error("the message could not be read (parser failure)")]
    ParserFailure,
}

/// A mailbox: an address and the display name given with it (RFC 2047 decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The address as written.
    pub address: String,
    /// The display name, if any.
    pub name: Option<String>,
}

/// A part that is not the message's text: kept byte for byte, with its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name given by the sender, if any.
    pub filename: Option<String>,
    /// `type/subtype`, lower-cased (`application/octet-stream` when not given).
    pub media_type: String,
    /// The decoded bytes.
    pub bytes: Vec<u8>,
    /// Hex SHA-256 of `bytes`.
    pub sha256: String,
}

/// Who a message is from and to, when, and what it answers: the headers threading and the
/// case log read, the same whether the message was encrypted or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` ids.
    pub in_reply_to: Vec<String>,
    /// `References` ids.
    pub references: Vec<String>,
    /// First `From` mailbox.
    pub from: Option<Mailbox>,
    /// All `To` mailboxes.
    pub to: Vec<Mailbox>,
    /// All `Cc` mailboxes.
    pub cc: Vec<Mailbox>,
    /// `Date`, RFC 3339.
    pub date: Option<String>,
}

/// What Helpline reads from a message (before any OpenPGP processing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMail {
    /// Sender, recipients, date and threading headers.
    pub envelope: Envelope,
    /// Subject, RFC 2047 decoded, in any charset.
    pub subject: Option<String>,
    /// The top-level `type/subtype`, lower-cased.
    pub media_type: String,
    /// The first text body (HTML converted to text when there is no plain part).
    pub text: Option<String>,
    /// Every attachment.
    pub attachments: Vec<Attachment>,
}

/// Checks the raw limits that must hold before parsing even starts.
fn check_raw(raw: &[u8], limits: &Limits) -> Result<(), MailError> {
    if raw.len() > limits.max_message_bytes {
        return Err(MailError::TooLarge {
            size: raw.len(),
            max: limits.max_message_bytes,
        });
    }
    // Header lines of the top-level header (up to the first empty line), folded lines counted
    // with the line they continue.
    let mut field_len = 0usize;
    for (i, line) in raw.split(|b| *b == b'\n').enumerate() {
        let line_no = i + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let folded = matches!(line.first(), Some(b' ' | b'\t'));
        field_len = if folded {
            field_len + line.len()
        } else {
            line.len()
        };
        if field_len > limits.max_header_line_bytes {
            return Err(MailError::HeaderLineTooLong {
                line: line_no,
                len: field_len,
                max: limits.max_header_line_bytes,
            });
        }
    }
    Ok(())
}

/// Depth of the MIME tree, walking parts with an explicit stack (no recursion on input).
fn check_tree(
    msg: &Message<'_>,
    limits: &Limits,
    depth: usize,
    budget: &mut Budget,
) -> Result<(), MailError> {
    if depth > limits.max_depth {
        return Err(MailError::TooDeep {
            max: limits.max_depth,
        });
    }
    budget.parts += msg.parts.len();
    if budget.parts > limits.max_parts {
        return Err(MailError::TooManyParts {
            count: budget.parts,
            max: limits.max_parts,
        });
    }
    let mut stack: Vec<(u32, usize)> = vec![(0, depth)];
    while let Some((id, d)) = stack.pop() {
        if d > limits.max_depth {
            return Err(MailError::TooDeep {
                max: limits.max_depth,
            });
        }
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Multipart(children) => stack.extend(children.iter().map(|c| (*c, d + 1))),
            PartType::Message(inner) => check_tree(inner, limits, d + 1, budget)?,
            other => {
                budget.decoded += match other {
                    PartType::Text(t) | PartType::Html(t) => t.len(),
                    PartType::Binary(b) | PartType::InlineBinary(b) => b.len(),
                    _ => 0,
                };
                if budget.decoded > limits.max_decoded_bytes {
                    return Err(MailError::DecodedTooLarge {
                        max: limits.max_decoded_bytes,
                    });
                }
            }
        }
    }
    Ok(())
}

#[derive(Default)]
struct Budget {
    parts: usize,
    decoded: usize,
}

fn mailboxes(a: Option<&mail_parser::Address<'_>>) -> Vec<Mailbox> {
    a.map(|a| {
        a.iter()
            .filter_map(|m| {
                m.address().map(|addr| Mailbox {
                    address: addr.to_owned(),
                    name: m.name().map(str::to_owned).filter(|n| !n.trim().is_empty()),
                })
            })
            .collect()
    })
    .unwrap_or_default()
}

fn ids(v: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match v {
        mail_parser::HeaderValue::Text(t) => message_ids(&format!("<{t}>")),
        mail_parser::HeaderValue::TextList(l) => l
            .iter()
            .flat_map(|t| message_ids(&format!("<{t}>")))
            .collect(),
        _ => Vec::new(),
    }
}

/// Parses a raw message under `limits` (a panic in the MIME parser is a
/// [`MailError::ParserFailure`]).
pub fn parse(raw: &[u8], limits: &Limits) -> Result<ParsedMail, MailError> {
    std::panic::catch_unwind(|| {
        let msg = parse_checked(raw, limits)?;
        Ok(ParsedMail::from_message(&msg))
    })
    .unwrap_or(Err(MailError::ParserFailure))
}

/// Parses under `limits`, keeping mail-parser's tree for a closer look (OpenPGP parts).
pub(crate) fn parse_checked<'x>(raw: &'x [u8], limits: &Limits) -> Result<Message<'x>, MailError> {
    check_raw(raw, limits)?;
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or(MailError::NotAMessage)?;
    if msg.headers().is_empty() {
        return Err(MailError::NotAMessage);
    }
    check_tree(&msg, limits, 0, &mut Budget::default())?;
    Ok(msg)
}

impl ParsedMail {
    /// The envelope-level facts and the content of a parsed message.
    pub(crate) fn from_message(msg: &Message<'_>) -> Self {
        let (text, attachments) = content(msg);
        Self {
            envelope: Envelope {
                message_id: msg
                    .message_id()
                    .and_then(|m| message_ids(&format!("<{m}>")).into_iter().next()),
                in_reply_to: ids(msg.in_reply_to()),
                references: ids(msg.references()),
                from: mailboxes(msg.from()).into_iter().next(),
                to: mailboxes(msg.to()),
                cc: mailboxes(msg.cc()),
                date: msg.date().map(|d| d.to_rfc3339()),
            },
            subject: msg.subject().map(str::to_owned),
            media_type: media_type(msg.root_part().content_type()),
            text,
            attachments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> ParsedMail {
        parse(raw.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn reads_headers_body_and_attachments() {
        let m = ok(concat!(
            "From: =?ISO-8859-1?Q?Jos=E9_P=E9rez?= <jose@example.org>\r\n",
            "To: Help <help@helpline.example>, other@example.net\r\n",
            "Subject: =?UTF-8?B?w4AgbCdhaWRlIQ==?=\r\n",
            "Message-ID: <abc@example.org>\r\n",
            "In-Reply-To: <prev@helpline.example>\r\n",
            "References: <first@helpline.example> <prev@helpline.example>\r\n",
            "Date: Tue, 5 Jan 2026 08:00:00 +0100\r\n",
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n",
            "\r\n",
            "--b\r\n",
            "Content-Type: text/plain; charset=iso-8859-1\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n",
            "\r\n",
            "Mon t=E9l=E9phone est infect=E9.\r\n",
            "--b\r\n",
            "Content-Type: application/octet-stream; name=\"sample.bin\"\r\n",
            "Content-Disposition: attachment; filename=\"sample.bin\"\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "\r\n",
            "aGVsbG8=\r\n",
            "--b--\r\n",
        ));
        assert_eq!(
            m.envelope.from,
            Some(Mailbox {
                address: "jose@example.org".into(),
                name: Some("José Pérez".into())
            })
        );
        assert_eq!(m.envelope.to.len(), 2);
        assert_eq!(m.subject.as_deref(), Some("À l'aide!"));
        assert_eq!(m.envelope.message_id.as_deref(), Some("abc@example.org"));
        assert_eq!(
            m.envelope.in_reply_to,
            vec!["prev@helpline.example".to_owned()]
        );
        assert_eq!(
            m.envelope.references,
            vec![
                "first@helpline.example".to_owned(),
                "prev@helpline.example".into()
            ]
        );
        assert_eq!(
            m.envelope.date.as_deref(),
            Some("2026-01-05T08:00:00+01:00")
        );
        assert_eq!(m.media_type, "multipart/mixed");
        assert_eq!(
            m.text.as_deref().map(str::trim),
            Some("Mon téléphone est infecté.")
        );
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].filename.as_deref(), Some("sample.bin"));
        assert_eq!(m.attachments[0].bytes, b"hello");
        assert_eq!(
            m.attachments[0].sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }

    #[test]
    fn limits_are_typed_errors() {
        let small = Limits {
            max_message_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            parse(b"Subject: x\r\n\r\nhello there", &small),
            Err(MailError::TooLarge { .. })
        ));

        let long = format!("Subject: {}\r\n\r\nbody", "a".repeat(100 * 1024));
        assert!(matches!(
            parse(long.as_bytes(), &Limits::default()),
            Err(MailError::HeaderLineTooLong { line: 1, .. })
        ));

        let mut nested = String::from("Subject: deep\r\n");
        for i in 0..100 {
            nested.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
            ));
        }
        nested.push_str("Content-Type: text/plain\r\n\r\nbottom\r\n");
        assert!(matches!(
            parse(nested.as_bytes(), &Limits::default()),
            Err(MailError::TooDeep { .. })
        ));

        let mut many =
            String::from("Subject: many\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
        for _ in 0..600 {
            many.push_str("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n");
        }
        many.push_str("--b--\r\n");
        assert!(matches!(
            parse(many.as_bytes(), &Limits::default()),
            Err(MailError::TooManyParts { .. })
        ));

        let tight = Limits {
            max_decoded_bytes: 4,
            ..Limits::default()
        };
        assert!(matches!(
            parse(b"Subject: x\r\n\r\nmore than four", &tight),
            Err(MailError::DecodedTooLarge { .. })
        ));
        assert!(matches!(
            parse(b"", &Limits::default()),
            Err(MailError::NotAMessage)
        ));
    }

    /// Real-world messages from other projects' test suites: each is read or refused with a
    /// reason, never a panic.
    #[test]
    fn public_corpus_never_panics() {
        let dir = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata/mail-public"
        ));
        let Ok(entries) = std::fs::read_dir(dir) else {
            eprintln!("no corpus at {}", dir.display());
            return;
        };
        let mut files = Vec::new();
        let mut dirs: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        while let Some(p) = dirs.pop() {
            if p.is_dir() {
                dirs.extend(
                    std::fs::read_dir(&p)
                        .into_iter()
                        .flatten()
                        .filter_map(Result::ok)
                        .map(|e| e.path()),
                );
            } else if p.extension().is_some_and(|e| e != "md") {
                files.push(p);
            }
        }
        assert!(files.len() >= 20, "corpus too small: {}", files.len());
        let (mut read, mut refused) = (0, 0);
        for f in &files {
            let raw = std::fs::read(f).unwrap_or_default();
            match std::panic::catch_unwind(|| parse(&raw, &Limits::default())) {
                Ok(Ok(_)) => read += 1,
                Ok(Err(_)) => refused += 1,
                Err(_) => panic!("parsing {} panicked", f.display()),
            }
        }
        assert!(
            read > files.len() / 2,
            "read {read}, refused {refused} of {}",
            files.len()
        );
    }

    #[test]
    fn a_content_type_without_subtype_is_plain_text() {
        for ct in [
            "text",
            "Text",
            "text/",
            "application",
            "garbage",
            "text; charset=iso-8859-1",
        ] {
            let raw = format!(
                "From: a@example.org\r\nSubject: x\r\nContent-Type: {ct}\r\n\r\nMy phone was taken.\r\n"
            );
            let m = ok(&raw);
            assert_eq!(m.media_type, "text/plain", "{ct}");
            assert_eq!(
                m.text.as_deref().map(str::trim),
                Some("My phone was taken."),
                "{ct}"
            );
            assert!(m.attachments.is_empty(), "{ct}: {:?}", m.attachments);
            // The same part inside multipart/mixed, beside a real attachment.
            let nested = format!(
                "From: a@example.org\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: {ct}\r\n\r\nSee the file.\r\n--b\r\nContent-Type: application/pdf; name=r.pdf\r\nContent-Disposition: attachment; filename=r.pdf\r\n\r\n%PDF-1.4\r\n--b--\r\n"
            );
            let m = ok(&nested);
            assert_eq!(
                m.text.as_deref().map(str::trim),
                Some("See the file."),
                "{ct}"
            );
            assert_eq!(m.attachments.len(), 1, "{ct}");
            assert_eq!(m.attachments[0].media_type, "application/pdf");
        }
    }

    #[test]
    fn an_untyped_part_is_read_in_the_charset_it_names() {
        let raw = b"From: a@example.org\r\nSubject: x\r\nContent-Type: text; charset=iso-8859-1\r\n\r\nMon t\xe9l\xe9phone\r\n";
        let m = parse(raw, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            m.text.as_deref().map(str::trim),
            Some("Mon t\u{e9}l\u{e9}phone")
        );
    }
}
