//! Helpline's mail handling: parsing inbound RFC 5322 / MIME messages under limits, OpenPGP
//! decryption and signature verification (sequoia-openpgp), threading keys (subject tag,
//! Message-ID, In-Reply-To, References), and composing encrypted, signed replies.
//!
//! It must never touch the database (sender certificates come in through a lookup trait) and
//! never log a message's content. The foundation issue leaves this crate empty on purpose: the
//! mail issue builds it, so that the build of the case record does not carry the OpenPGP stack
//! before it is used.
