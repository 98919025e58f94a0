//! Messages in and out, on any channel, with the beneficiary or a party.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::{CaseId, MessageId, PartyId};
use helpline_domain::log::{Channel, Counterpart, Direction, Message};
use helpline_domain::text::{Body, Title};
use serde_json::json;

use crate::convert::{corrupt, from_db, from_json, referenced, stored, to_db, to_json};
use crate::page::{paginate, Cursor};
use crate::schema::messages;
use crate::{DbConnection, Page, Result, Tx};

use super::after;

#[derive(Queryable, Insertable)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
pub(crate) struct MessageRow {
    id: String,
    case_id: String,
    direction: String,
    channel: String,
    party_id: Option<String>,
    subject: Option<String>,
    body: String,
    occurred_at: NaiveDateTime,
    recorded_by: String,
    created_at: NaiveDateTime,
    email: Option<String>,
    counterpart: String,
}

impl MessageRow {
    pub(crate) fn into_message(self) -> Result<Message> {
        Ok(Message {
            id: stored(MessageId::parse(&self.id))?,
            case_id: stored(CaseId::parse(&self.case_id))?,
            direction: stored(Direction::parse(&self.direction))?,
            channel: stored(Channel::parse(&self.channel))?,
            counterpart: match (self.counterpart.as_str(), self.party_id) {
                ("party", Some(p)) => Counterpart::Party {
                    party_id: stored(PartyId::parse(&p))?,
                },
                ("unknown", None) => Counterpart::Unknown,
                ("beneficiary", None) => Counterpart::Beneficiary,
                (other, _) => return Err(corrupt(format!("message counterpart `{other}`"))),
            },
            subject: self
                .subject
                .map(Title::parse)
                .transpose()
                .map_err(corrupt)?,
            body: stored(Body::parse(self.body))?,
            occurred_at: from_db(self.occurred_at),
            recorded_by: stored(self.recorded_by.parse())?,
            created_at: from_db(self.created_at),
            email: self.email.as_deref().map(from_json).transpose()?,
        })
    }
}

/// A message as recorded by hand (calls, Signal) or, later, from mail.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// In or out.
    pub direction: Direction,
    /// How.
    pub channel: Channel,
    /// With whom.
    pub counterpart: Counterpart,
    /// Subject.
    pub subject: Option<Title>,
    /// Body.
    pub body: Body,
    /// When it happened (defaults to now).
    pub occurred_at: Option<DateTime<Utc>>,
    /// Mail facts, for messages that came or go by email.
    pub email: Option<helpline_domain::mail::EmailDetails>,
}

/// Records a message in the case's log (the first response it may be is the service's to stamp).
pub fn add_message(tx: &mut Tx<'_>, case: CaseId, new: NewMessage) -> Result<Message> {
    if let Counterpart::Party { party_id } = new.counterpart {
        referenced(
            crate::parties::get(tx.conn, party_id),
            "counterpart.party_id",
            "party",
        )?;
    }
    let m = Message {
        id: MessageId::new(),
        case_id: case,
        direction: new.direction,
        channel: new.channel,
        counterpart: new.counterpart,
        subject: new.subject,
        body: new.body,
        occurred_at: crate::convert::truncate(new.occurred_at.unwrap_or(tx.now)),
        recorded_by: tx.actor,
        created_at: tx.now,
        email: new.email,
    };
    diesel::insert_into(messages::table)
        .values(MessageRow {
            id: m.id.to_string(),
            case_id: case.to_string(),
            direction: m.direction.as_str().to_owned(),
            channel: m.channel.as_str().to_owned(),
            party_id: match m.counterpart {
                Counterpart::Party { party_id } => Some(party_id.to_string()),
                Counterpart::Beneficiary | Counterpart::Unknown => None,
            },
            subject: m.subject.as_ref().map(|s| s.as_str().to_owned()),
            body: m.body.as_str().to_owned(),
            occurred_at: to_db(m.occurred_at),
            recorded_by: tx.actor.to_string(),
            created_at: to_db(tx.now),
            email: m.email.as_ref().map(to_json).transpose()?,
            counterpart: m.counterpart.kind().to_owned(),
        })
        .execute(tx.conn)?;
    // Bodies never enter the audit trail: it outlives retention and is read widely.
    tx.audit(
        AuditAction::MessageCreate,
        "message",
        m.id,
        Some(case),
        json!({"direction": m.direction, "channel": m.channel, "counterpart": m.counterpart, "occurred_at": m.occurred_at}),
    );
    tx.texts_changed(case);
    Ok(m)
}

/// Replaces the mail facts of a message (attachments kept, signatures checked again).
pub fn set_email(
    tx: &mut Tx<'_>,
    id: MessageId,
    email: &helpline_domain::mail::EmailDetails,
) -> Result<()> {
    diesel::update(messages::table.find(id.to_string()))
        .set(messages::email.eq(to_json(email)?))
        .execute(tx.conn)?;
    Ok(())
}

/// Replies show where they stand with the relay.
pub(crate) fn with_deliveries(
    conn: &mut DbConnection,
    case: CaseId,
    items: &mut [Message],
) -> Result<()> {
    if items
        .iter()
        .any(|m| m.direction == Direction::Outbound && m.email.is_some())
    {
        let deliveries = crate::mail::deliveries(conn, case)?;
        for m in items.iter_mut() {
            if let Some(email) = &mut m.email {
                email.delivery = deliveries
                    .iter()
                    .find(|(id, _)| *id == m.id)
                    .map(|(_, d)| d.clone());
            }
        }
    }
    Ok(())
}

/// A case's messages in recording order.
pub fn messages(
    conn: &mut DbConnection,
    case: CaseId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Message>> {
    let rows: Vec<MessageRow> = messages::table
        .filter(messages::case_id.eq(case.to_string()))
        .filter(messages::id.gt(after(cursor)))
        .order(messages::id.asc())
        .limit(limit + 1)
        .load(conn)?;
    let mut items = rows
        .into_iter()
        .map(MessageRow::into_message)
        .collect::<Result<Vec<_>>>()?;
    with_deliveries(conn, case, &mut items)?;
    Ok(paginate(items, limit, |x| crate::page::after_id(x.id)))
}
