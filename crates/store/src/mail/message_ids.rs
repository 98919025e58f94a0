//! Threading by Message-ID: the ids of messages received and sent, and the case each belongs to.

use diesel::prelude::*;
use helpline_domain::ids::{CaseId, MessageId};

use crate::convert::stored;
use crate::schema::{inbound_mail, mail_ids};
use crate::{DbConnection, Result, Tx};

use super::InboundState;

/// Remembers a Message-ID as belonging to a case (first one wins).
pub fn remember_message_id(
    tx: &mut Tx<'_>,
    rfc_message_id: &str,
    case: CaseId,
    message: Option<MessageId>,
) -> Result<()> {
    let known: Option<String> = mail_ids::table
        .find(rfc_message_id)
        .select(mail_ids::case_id)
        .get_result(tx.conn)
        .optional()?;
    if known.is_none() {
        diesel::insert_into(mail_ids::table)
            .values((
                mail_ids::rfc_message_id.eq(rfc_message_id),
                mail_ids::case_id.eq(case.to_string()),
                mail_ids::message_id.eq(message.map(|m| m.to_string())),
            ))
            .execute(tx.conn)?;
    }
    Ok(())
}

/// The case of the first of these Message-IDs that Helpline has seen.
pub fn case_for_message_ids(conn: &mut DbConnection, ids: &[String]) -> Result<Option<CaseId>> {
    for id in ids {
        let found: Option<String> = mail_ids::table
            .find(id)
            .select(mail_ids::case_id)
            .get_result(conn)
            .optional()?;
        if let Some(c) = found {
            return Ok(Some(stored(CaseId::parse(&c))?));
        }
    }
    Ok(None)
}

/// The Message-IDs of a case's inbound mail, oldest first (to answer the latest).
pub fn inbound_message_ids(conn: &mut DbConnection, case: CaseId) -> Result<Vec<String>> {
    let rows: Vec<Option<String>> = inbound_mail::table
        .filter(inbound_mail::case_id.eq(case.to_string()))
        .filter(inbound_mail::state.eq(InboundState::Threaded.as_str()))
        .order(inbound_mail::received_at.asc())
        .select(inbound_mail::rfc_message_id)
        .load(conn)?;
    Ok(rows.into_iter().flatten().collect())
}
