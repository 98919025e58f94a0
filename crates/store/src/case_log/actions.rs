//! Actions taken: the structured log of measures ("reset the account password").

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::{ActionId, CaseId};
use helpline_domain::log::{ActionKind, ActionTaken};
use helpline_domain::text::Body;
use serde_json::json;

use crate::convert::{from_db, stored, to_db};
use crate::page::{paginate, Cursor};
use crate::schema::actions;
use crate::{DbConnection, Page, Result, Tx};

use super::after;

#[derive(Queryable, Insertable)]
#[diesel(table_name = actions, treat_none_as_default_value = false)]
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
        AuditAction::ActionCreate,
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
    Ok(paginate(items, limit, |x| crate::page::after_id(x.id)))
}
