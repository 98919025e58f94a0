//! A message is recorded: inbound or outbound, on any channel, with the beneficiary, a party
//! or someone unknown; and who an address is on a case. The first outbound message to the beneficiary is the case's first response (its
//! response target is met); an inbound one is announced to the webhooks.

use helpline_domain::beneficiary::Beneficiary;
use helpline_domain::case::{Case, CaseLocator};
use helpline_domain::ids::CaseId;
use helpline_domain::log::{Counterpart, Direction, Message};
use helpline_domain::workflow::WebhookEvent;
use helpline_store::case_log::{self, NewMessage};
use helpline_store::workflow::{self as wf, Policy};
use helpline_store::{cases, DbConnection, StoreError, Tx};
use serde_json::json;

/// Records a message on a case, stamping the case's first response when it is one and
/// announcing it when it came in.
pub fn record(
    tx: &mut Tx<'_>,
    case: CaseId,
    new: NewMessage,
    policy: &Policy,
) -> Result<Message, StoreError> {
    let m = case_log::add_message(tx, case, new)?;
    if m.direction == Direction::Outbound && m.counterpart == Counterpart::Beneficiary {
        cases::mark_first_response(tx, case, m.occurred_at)?;
    }
    // The case is read for the announcement only when somebody listens.
    if m.direction == Direction::Inbound && !policy.webhook_urls.is_empty() {
        let c = cases::locate(tx.conn, CaseLocator::Id(case))?;
        let detail =
            json!({"message_id": m.id, "channel": m.channel, "counterpart": m.counterpart});
        wf::announce_with(tx, policy, WebhookEvent::MessageReceived, &c, detail);
    }
    Ok(m)
}

/// Who an address is on a case: the beneficiary (any of their addresses), a party involved in
/// it, or someone the case does not know. The one rule mail threading and replies share.
pub fn counterpart_for(
    conn: &mut DbConnection,
    case: &Case,
    beneficiary: &Beneficiary,
    address: &str,
) -> Result<Counterpart, StoreError> {
    let addr = address.trim().to_lowercase();
    if beneficiary.emails.iter().any(|e| e.normalized() == addr) {
        return Ok(Counterpart::Beneficiary);
    }
    for cp in case_log::case_parties(conn, case.id)? {
        let p = helpline_store::parties::get(conn, cp.party_id)?;
        if p.emails.iter().any(|e| e.normalized() == addr) {
            return Ok(Counterpart::Party { party_id: p.id });
        }
    }
    Ok(Counterpart::Unknown)
}
