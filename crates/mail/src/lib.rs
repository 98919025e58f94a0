//! Helpline's mail handling: parsing inbound RFC 5322 / MIME messages under limits, OpenPGP
//! decryption and signature verification (sequoia-openpgp), threading keys (subject tag,
//! plus-address, Message-ID, In-Reply-To, References), and composing encrypted, signed replies.
//!
//! It must never touch the database (sender certificates come in through a lookup trait) and
//! never log a message's content. So far it holds MIME parsing under limits and the threading
//! keys; OpenPGP and outbound composition come with the rest of the mail issue.

pub mod parse;
pub mod threading;

pub use parse::{parse, Attachment, Limits, MailError, Mailbox, ParsedMail};
pub use threading::{message_ids, PlusAddress, SubjectTag, ThreadingError};
