//! A case's log: messages, comments, actions taken, next steps, parties involved, and the
//! timeline that merges them with the audit trail.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::ids::{ActionId, CaseId, CommentId, MessageId, NextStepId, PartyId, UserId};
use helpline_domain::log::{
    ActionKind, ActionTaken, CaseParty, Channel, Comment, Counterpart, Direction, Message, NextStep,
};
use helpline_domain::party::PartyRole;
use helpline_domain::text::{Body, Note, Title};
use helpline_domain::user::Actor;
use serde_json::json;

use crate::convert::{corrupt, from_db, from_json, referenced, stored, to_db, to_json};
use crate::page::{paginate, Cursor};
use crate::schema::{actions, case_parties, comments, messages, next_steps};
use crate::{DbConnection, Page, Result, StoreError, Tx};

fn after(cursor: Option<&Cursor>) -> String {
    cursor.map(|c| c.id.clone()).unwrap_or_default()
}

// ---- messages ----

#[derive(Queryable, Insertable)]
#[diesel(table_name = messages)]
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
}

impl MessageRow {
    pub(crate) fn into_message(self) -> Result<Message> {
        Ok(Message {
            id: stored(MessageId::parse(&self.id))?,
            case_id: stored(CaseId::parse(&self.case_id))?,
            direction: stored(Direction::parse(&self.direction))?,
            channel: stored(Channel::parse(&self.channel))?,
            counterpart: match self.party_id {
                None => Counterpart::Beneficiary,
                Some(p) => Counterpart::Party {
                    party_id: stored(PartyId::parse(&p))?,
                },
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
                Counterpart::Beneficiary => None,
            },
            subject: m.subject.as_ref().map(|s| s.as_str().to_owned()),
            body: m.body.as_str().to_owned(),
            occurred_at: to_db(m.occurred_at),
            recorded_by: tx.actor.to_string(),
            created_at: to_db(tx.now),
            email: m.email.as_ref().map(to_json).transpose()?,
        })
        .execute(tx.conn)?;
    // Bodies never enter the audit trail: it outlives retention and is read widely.
    tx.audit(
        "message.create",
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
    Ok(paginate(items, limit, |x| Cursor {
        key: None,
        id: x.id.to_string(),
        offset: None,
    }))
}

// ---- comments ----

#[derive(Queryable, Insertable)]
#[diesel(table_name = comments)]
pub(crate) struct CommentRow {
    id: String,
    case_id: String,
    author: String,
    body: String,
    created_at: NaiveDateTime,
}

impl CommentRow {
    pub(crate) fn into_comment(self) -> Result<Comment> {
        Ok(Comment {
            id: stored(CommentId::parse(&self.id))?,
            case_id: stored(CaseId::parse(&self.case_id))?,
            author: stored(self.author.parse())?,
            body: stored(Body::parse(self.body))?,
            created_at: from_db(self.created_at),
        })
    }
}

/// Adds an internal comment.
pub fn add_comment(tx: &mut Tx<'_>, case: CaseId, body: Body) -> Result<Comment> {
    let x = Comment {
        id: CommentId::new(),
        case_id: case,
        author: tx.actor,
        body,
        created_at: tx.now,
    };
    diesel::insert_into(comments::table)
        .values(CommentRow {
            id: x.id.to_string(),
            case_id: case.to_string(),
            author: tx.actor.to_string(),
            body: x.body.as_str().to_owned(),
            created_at: to_db(tx.now),
        })
        .execute(tx.conn)?;
    tx.audit("comment.create", "comment", x.id, Some(case), json!({}));
    tx.texts_changed(case);
    Ok(x)
}

/// A case's comments in order.
pub fn comments(
    conn: &mut DbConnection,
    case: CaseId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Comment>> {
    let rows: Vec<CommentRow> = comments::table
        .filter(comments::case_id.eq(case.to_string()))
        .filter(comments::id.gt(after(cursor)))
        .order(comments::id.asc())
        .limit(limit + 1)
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(CommentRow::into_comment)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |x| Cursor {
        key: None,
        id: x.id.to_string(),
        offset: None,
    }))
}

// ---- actions ----

#[derive(Queryable, Insertable)]
#[diesel(table_name = actions)]
pub(crate) struct ActionRow {
    id: String,
    case_id: String,
    kind: String,
    description: String,
    performed_by: String,
    performed_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

impl ActionRow {
    pub(crate) fn into_action(self) -> Result<ActionTaken> {
        Ok(ActionTaken {
            id: stored(ActionId::parse(&self.id))?,
            case_id: stored(CaseId::parse(&self.case_id))?,
            kind: stored(ActionKind::parse(&self.kind))?,
            description: stored(Body::parse(self.description))?,
            performed_by: stored(self.performed_by.parse())?,
            performed_at: from_db(self.performed_at),
            created_at: from_db(self.created_at),
        })
    }
}

/// Records an action taken (when it was done defaults to now).
pub fn add_action(
    tx: &mut Tx<'_>,
    case: CaseId,
    kind: ActionKind,
    description: Body,
    performed_at: Option<DateTime<Utc>>,
) -> Result<ActionTaken> {
    let x = ActionTaken {
        id: ActionId::new(),
        case_id: case,
        kind,
        description,
        performed_by: tx.actor,
        performed_at: crate::convert::truncate(performed_at.unwrap_or(tx.now)),
        created_at: tx.now,
    };
    diesel::insert_into(actions::table)
        .values(ActionRow {
            id: x.id.to_string(),
            case_id: case.to_string(),
            kind: kind.as_str().to_owned(),
            description: x.description.as_str().to_owned(),
            performed_by: tx.actor.to_string(),
            performed_at: to_db(x.performed_at),
            created_at: to_db(tx.now),
        })
        .execute(tx.conn)?;
    tx.audit(
        "action.create",
        "action",
        x.id,
        Some(case),
        json!({"kind": kind, "performed_at": x.performed_at}),
    );
    Ok(x)
}

/// A case's actions in order.
pub fn actions(
    conn: &mut DbConnection,
    case: CaseId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<ActionTaken>> {
    let rows: Vec<ActionRow> = actions::table
        .filter(actions::case_id.eq(case.to_string()))
        .filter(actions::id.gt(after(cursor)))
        .order(actions::id.asc())
        .limit(limit + 1)
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(ActionRow::into_action)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |x| Cursor {
        key: None,
        id: x.id.to_string(),
        offset: None,
    }))
}

// ---- next steps ----

#[derive(Queryable, Insertable)]
#[diesel(table_name = next_steps)]
pub(crate) struct NextStepRow {
    id: String,
    case_id: String,
    title: String,
    assignee_id: Option<String>,
    due_at: Option<NaiveDateTime>,
    done: bool,
    done_at: Option<NaiveDateTime>,
    done_by: Option<String>,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
}

impl NextStepRow {
    pub(crate) fn into_step(self) -> Result<NextStep> {
        Ok(NextStep {
            id: stored(NextStepId::parse(&self.id))?,
            case_id: stored(CaseId::parse(&self.case_id))?,
            title: stored(Title::parse(self.title))?,
            assignee_id: self
                .assignee_id
                .as_deref()
                .map(UserId::parse)
                .transpose()
                .map_err(corrupt)?,
            due_at: self.due_at.map(from_db),
            done: self.done,
            done_at: self.done_at.map(from_db),
            done_by: self
                .done_by
                .map(|a| a.parse::<Actor>())
                .transpose()
                .map_err(corrupt)?,
            created_by: stored(self.created_by.parse())?,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
            version: self.version,
        })
    }

    fn from_step(x: &NextStep) -> NextStepRow {
        NextStepRow {
            id: x.id.to_string(),
            case_id: x.case_id.to_string(),
            title: x.title.as_str().to_owned(),
            assignee_id: x.assignee_id.map(|u| u.to_string()),
            due_at: x.due_at.map(to_db),
            done: x.done,
            done_at: x.done_at.map(to_db),
            done_by: x.done_by.map(|a| a.to_string()),
            created_by: x.created_by.to_string(),
            created_at: to_db(x.created_at),
            updated_at: to_db(x.updated_at),
            version: x.version,
        }
    }
}

fn check_assignee(tx: &mut Tx<'_>, user: Option<UserId>) -> Result<()> {
    if let Some(u) = user {
        referenced(crate::users::get(tx.conn, u), "assignee_id", "user")?;
    }
    Ok(())
}

/// Adds a next step.
pub fn add_next_step(
    tx: &mut Tx<'_>,
    case: CaseId,
    title: Title,
    assignee_id: Option<UserId>,
    due_at: Option<DateTime<Utc>>,
) -> Result<NextStep> {
    check_assignee(tx, assignee_id)?;
    let x = NextStep {
        id: NextStepId::new(),
        case_id: case,
        title,
        assignee_id,
        due_at: due_at.map(crate::convert::truncate),
        done: false,
        done_at: None,
        done_by: None,
        created_by: tx.actor,
        created_at: tx.now,
        updated_at: tx.now,
        version: 1,
    };
    diesel::insert_into(next_steps::table)
        .values(NextStepRow::from_step(&x))
        .execute(tx.conn)?;
    tx.audit(
        "next_step.create",
        "next_step",
        x.id,
        Some(case),
        json!({"title": x.title, "assignee_id": x.assignee_id, "due_at": x.due_at}),
    );
    Ok(x)
}

/// One next step of a case.
pub fn next_step(conn: &mut DbConnection, case: CaseId, id: NextStepId) -> Result<NextStep> {
    next_steps::table
        .find(id.to_string())
        .filter(next_steps::case_id.eq(case.to_string()))
        .first::<NextStepRow>(conn)
        .optional()?
        .ok_or(StoreError::not_found("next step"))?
        .into_step()
}

/// Changes to a next step; `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct NextStepPatch {
    /// Title.
    pub title: Option<Title>,
    /// Assignee.
    pub assignee_id: Option<Option<UserId>>,
    /// Due date.
    pub due_at: Option<Option<DateTime<Utc>>>,
    /// Done or not.
    pub done: Option<bool>,
}

/// Applies a patch if the step is still at `expected_version`.
pub fn update_next_step(
    tx: &mut Tx<'_>,
    case: CaseId,
    id: NextStepId,
    expected_version: i64,
    patch: NextStepPatch,
) -> Result<NextStep> {
    let mut x = next_step(tx.conn, case, id)?;
    if x.version != expected_version {
        return Err(StoreError::VersionMismatch {
            entity: "next step",
            current: x.version,
        });
    }
    let before = serde_json::to_value(&x).unwrap_or_default();
    if let Some(t) = patch.title {
        x.title = t;
    }
    if let Some(a) = patch.assignee_id {
        check_assignee(tx, a)?;
        x.assignee_id = a;
    }
    if let Some(d) = patch.due_at {
        x.due_at = d.map(crate::convert::truncate);
    }
    if let Some(done) = patch.done {
        x.set_done(done, tx.actor, tx.now);
    }
    x.version += 1;
    x.updated_at = tx.now;
    let r = NextStepRow::from_step(&x);
    let n = diesel::update(
        next_steps::table
            .find(&r.id)
            .filter(next_steps::version.eq(expected_version)),
    )
    .set((
        next_steps::title.eq(&r.title),
        next_steps::assignee_id.eq(&r.assignee_id),
        next_steps::due_at.eq(r.due_at),
        next_steps::done.eq(r.done),
        next_steps::done_at.eq(r.done_at),
        next_steps::done_by.eq(&r.done_by),
        next_steps::updated_at.eq(r.updated_at),
        next_steps::version.eq(r.version),
    ))
    .execute(tx.conn)?;
    if n == 0 {
        return Err(StoreError::VersionMismatch {
            entity: "next step",
            current: expected_version + 1,
        });
    }
    let changes = crate::cases::diff(&before, &serde_json::to_value(&x).unwrap_or_default());
    tx.audit("next_step.update", "next_step", id, Some(case), changes);
    Ok(x)
}

/// A case's next steps in order.
pub fn next_steps(
    conn: &mut DbConnection,
    case: CaseId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<NextStep>> {
    let rows: Vec<NextStepRow> = next_steps::table
        .filter(next_steps::case_id.eq(case.to_string()))
        .filter(next_steps::id.gt(after(cursor)))
        .order(next_steps::id.asc())
        .limit(limit + 1)
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(NextStepRow::into_step)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |x| Cursor {
        key: None,
        id: x.id.to_string(),
        offset: None,
    }))
}

// ---- parties involved ----

/// Involves a party in a case, with a role; the same party may hold several roles.
pub fn link_party(
    tx: &mut Tx<'_>,
    case: CaseId,
    party: PartyId,
    role: PartyRole,
    note: Note,
) -> Result<CaseParty> {
    referenced(crate::parties::get(tx.conn, party), "party_id", "party")?;
    let x = CaseParty {
        case_id: case,
        party_id: party,
        role,
        note,
        added_by: tx.actor,
        added_at: tx.now,
    };
    diesel::insert_into(case_parties::table)
        .values((
            case_parties::case_id.eq(case.to_string()),
            case_parties::party_id.eq(party.to_string()),
            case_parties::role.eq(role.as_str()),
            case_parties::note.eq(x.note.as_str()),
            case_parties::added_by.eq(tx.actor.to_string()),
            case_parties::added_at.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Conflict(format!("this party is already involved as {role}"))
            } else {
                e.into()
            }
        })?;
    tx.audit(
        "case_party.create",
        "case_party",
        party,
        Some(case),
        json!({"party_id": party, "role": role}),
    );
    Ok(x)
}

/// The parties involved in a case.
pub fn case_parties(conn: &mut DbConnection, case: CaseId) -> Result<Vec<CaseParty>> {
    let rows: Vec<(String, String, String, String, String, NaiveDateTime)> = case_parties::table
        .filter(case_parties::case_id.eq(case.to_string()))
        .order((case_parties::added_at.asc(), case_parties::party_id.asc()))
        .load(conn)?;
    rows.into_iter()
        .map(|(c, p, role, note, by, at)| {
            Ok(CaseParty {
                case_id: stored(CaseId::parse(&c))?,
                party_id: stored(PartyId::parse(&p))?,
                role: stored(PartyRole::parse(&role))?,
                note: stored(Note::parse(note))?,
                added_by: stored(by.parse())?,
                added_at: from_db(at),
            })
        })
        .collect()
}
