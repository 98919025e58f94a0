//! A case's log, one module per kind of entry: messages, comments, actions taken, next steps,
//! parties involved. The timeline that merges them with the audit trail is `crate::timeline`.

mod actions;
mod comments;
mod messages;
mod next_steps;
mod parties;

pub use actions::*;
pub use comments::*;
pub use messages::*;
pub use next_steps::*;
pub use parties::*;

use crate::page::Cursor;

/// Where a keyset page by id starts.
pub(crate) fn after(cursor: Option<&Cursor>) -> String {
    cursor.map(|c| c.id.clone()).unwrap_or_default()
}
