//! A message is recorded: inbound or outbound, on any channel, with the beneficiary or a
//! party. The first outbound message to the beneficiary is the case's first response (its
//! response target is met).

use helpline_domain::ids::CaseId;
use helpline_domain::log::{Counterpart, Direction, Message};
use helpline_store::case_log::{self, NewMessage};
use helpline_store::{cases, StoreError, Tx};

/// Records a message on a case, stamping the case's first response when it is one.
pub fn record(tx: &mut Tx<'_>, case: CaseId, new: NewMessage) -> Result<Message, StoreError> {
    let m = case_log::add_message(tx, case, new)?;
    if m.direction == Direction::Outbound && m.counterpart == Counterpart::Beneficiary {
        cases::mark_first_response(tx, case, m.occurred_at)?;
    }
    Ok(m)
}
