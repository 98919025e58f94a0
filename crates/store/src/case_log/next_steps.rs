//! Next steps: tasks with an assignee, a due date, done or not.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::{CaseId, NextStepId, UserId};
use helpline_domain::log::NextStep;
use helpline_domain::text::Title;
use helpline_domain::user::Actor;
use serde_json::json;

use crate::convert::{corrupt, from_db, referenced, stored, to_db};
use crate::page::{paginate, Cursor};
use crate::schema::next_steps;
use crate::{DbConnection, Page, Result, StoreError, Tx};

use super::after;

#[derive(Queryable, Insertable, AsChangeset)]
#[diesel(table_name = next_steps, treat_none_as_null = true, treat_none_as_default_value = false)]
pub(crate) struct NextStepRow {
    id: String,
    #[diesel(skip_update)]
    case_id: String,
    title: String,
    assignee_id: Option<String>,
    due_at: Option<NaiveDateTime>,
    done: bool,
    done_at: Option<NaiveDateTime>,
    done_by: Option<String>,
    #[diesel(skip_update)]
    created_by: String,
    #[diesel(skip_update)]
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
            assignee_id: crate::convert::stored_opt(self.assignee_id.as_deref(), UserId::parse)?,
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
        AuditAction::NextStepCreate,
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
        .get_result::<NextStepRow>(conn)
        .optional()?
        .ok_or(StoreError::not_found("next step"))?
        .into_step()
}

/// Changes to a next step, as a client sends them; `null` (`Some(None)`) clears.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextStepPatch {
    /// Title.
    #[serde(default, deserialize_with = "helpline_domain::given")]
    pub title: Option<Title>,
    /// Assignee.
    #[serde(default, deserialize_with = "helpline_domain::nullable")]
    pub assignee_id: Option<Option<UserId>>,
    /// Due date.
    #[serde(default, deserialize_with = "helpline_domain::nullable")]
    pub due_at: Option<Option<DateTime<Utc>>>,
    /// Done or not.
    #[serde(default, deserialize_with = "helpline_domain::given")]
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
    crate::error::check_version("next step", x.version, expected_version)?;
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
    .set(&r)
    .execute(tx.conn)?;
    crate::error::written("next step", n, expected_version)?;
    let changes = crate::cases::diff(&before, &serde_json::to_value(&x).unwrap_or_default());
    tx.audit(
        AuditAction::NextStepUpdate,
        "next_step",
        id,
        Some(case),
        changes,
    );
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
    Ok(paginate(items, limit, |x| crate::page::after_id(x.id)))
}
