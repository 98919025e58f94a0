//! The service layer: each use case of the helpline as one function, readable top to bottom,
//! run inside one write transaction (`Tx`). A use case decides what follows from what — a new
//! case is scheduled, escalated, assigned, announced; a mail is stored, opened, threaded or
//! quarantined — and calls the store's repositories to read and write. Routes parse,
//! authorise, call one use case and render its answer; the store never triggers a feature.

pub mod cases;
pub mod intake;
pub mod messages;
pub mod replies;
mod senders;
