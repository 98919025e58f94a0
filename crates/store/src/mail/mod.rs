//! Mail: raw messages kept byte for byte (content-addressed), the record of every message a
//! gateway posted (threaded or quarantined), Message-IDs for threading, beneficiaries'
//! certificates, the outbox of replies, and the encryption policy — one module each.

pub mod blobs;
pub mod certificates;
pub mod inbound;
pub mod message_ids;
pub mod outbox;
pub mod policy;

pub use blobs::{blob, put_blob};
pub use certificates::{
    add_certificate, armored_for_handles, certificate_page, certificates_of, Certificate,
    NewCertificate,
};
pub use inbound::{
    inbound, inbound_by_sha256, quarantine, quarantine_waiting, record_quarantined,
    record_threaded, requarantine, resolve_quarantined, threaded_from_sender, update_crypto,
    InboundMail, InboundState, NewInbound, QuarantineWaiting,
};
pub use message_ids::{case_for_message_ids, inbound_message_ids, remember_message_id};
pub use outbox::{any_due, claim_due, deliveries, enqueue, record_attempt, OutboxItem};
pub use policy::{encryption_required, set_encryption_required};
