//! Helpline's mail handling: parsing inbound RFC 5322 / MIME messages under limits, OpenPGP
//! decryption and signature verification (sequoia-openpgp), threading keys (subject tag,
//! plus-address, Message-ID, In-Reply-To, References), and composing encrypted, signed replies.
//!
//! It never touches the database (sender certificates come in through [`CertLookup`]) and
//! never logs a message's content. The crypto backend is the binary's choice: this crate asks
//! sequoia for none.

pub mod compose;
mod content;
pub mod open;
pub mod parse;
pub mod pgp;
pub mod threading;

pub use compose::{compose, Protection, Reply};
pub use open::{CandidateCert, InboundMail, Opener};
pub use parse::{parse, Attachment, Envelope, Limits, MailError, Mailbox, ParsedMail};
pub use pgp::{CertLookup, CertSummary, KeyAlgorithm, Keyring, PgpError};
pub use sequoia_openpgp::{Cert, KeyHandle};
pub use threading::{message_ids, PlusAddress, SubjectTag, ThreadingError};
