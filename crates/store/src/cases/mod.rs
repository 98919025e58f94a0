//! Cases: creation with a unique increasing reference, visibility, filters, optimistic updates.

mod list;
mod row;

pub(crate) use list::where_clause;
pub use list::{list, AssigneeFilter, CaseFilter, CaseSort};
pub(crate) use row::Row;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use helpline_domain::access::{can_see_case, CaseVisibility, Principal};
use helpline_domain::audit::AuditAction;
use helpline_domain::case::{Case, CaseLocator, CaseRef, Tag};
use helpline_domain::ids::{BeneficiaryId, CaseId, UserId};
use helpline_domain::workflow::Vetting;
use serde_json::{json, Map, Value};

use crate::convert::{stored, to_db};
use crate::schema::{beneficiaries, case_access, case_tags, cases as c};
use crate::{DbConnection, Result, StoreError, Tx};

pub use helpline_domain::case::NewCase;

#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    value: i64,
}

/// Takes the next case reference. The counter row's lock makes references unique and
/// increasing across concurrent transactions and API nodes.
pub fn next_ref(tx: &mut Tx<'_>) -> Result<CaseRef> {
    let mut sql = crate::sql::Sql::default();
    sql.push(if let DbConnection::Pg(_) = tx.conn {
        "SELECT nextval('case_ref_seq') AS value"
    } else {
        "UPDATE counters SET value = value + 1 WHERE name = 'case_ref' RETURNING value"
    });
    let c: Counter = sql
        .load(tx.conn)?
        .pop()
        .ok_or_else(|| crate::convert::corrupt("no case reference counter"))?;
    stored(CaseRef::new(c.value))
}

pub(crate) fn check_user(tx: &mut Tx<'_>, id: UserId) -> Result<()> {
    crate::convert::referenced(crate::users::get(tx.conn, id), "assignee_id", "user")
}

/// The vetting a new case of this beneficiary shows; a missing beneficiary is the caller's
/// error (422 on `beneficiary_id`), not a 404.
pub fn vetting_of(conn: &mut DbConnection, beneficiary: BeneficiaryId) -> Result<Vetting> {
    let verification: Option<String> = beneficiaries::table
        .find(beneficiary.to_string())
        .select(beneficiaries::verification)
        .get_result(conn)
        .optional()?;
    let Some(verification) = verification else {
        return Err(StoreError::Domain(helpline_domain::DomainError::invalid(
            "beneficiary_id",
            "no such beneficiary",
        )));
    };
    Ok(Vetting::from(stored(
        helpline_domain::beneficiary::VerificationStatus::parse(&verification),
    )?))
}

/// Stores a case just opened (see `Case::open`), with its tags, and records it.
pub fn insert(tx: &mut Tx<'_>, x: &Case) -> Result<()> {
    if let Some(a) = x.assignee_id {
        check_user(tx, a)?;
    }
    diesel::insert_into(c::table)
        .values(Row::from_case(x)?)
        .execute(tx.conn)?;
    insert_tags(tx, x.id, &x.tags)?;
    tx.audit(
        AuditAction::CaseCreate,
        "case",
        x.id,
        Some(x.id),
        json!({
            "ref": x.reference, "status": x.status, "urgency": x.urgency, "impact": x.impact,
            "priority": x.priority, "service_type": x.service_type, "assignee_id": x.assignee_id,
            "confidential": x.confidential, "tags": x.tags, "beneficiary_id": x.beneficiary_id,
            "channel": x.channel, "vetting": x.vetting, "escalation": x.escalation,
        }),
    );
    tx.texts_changed(x.id);
    Ok(())
}

/// Sets the assignee of a case the roster chose right after opening it (no new version: the
/// case was created in this same transaction).
pub fn set_first_assignee(tx: &mut Tx<'_>, id: CaseId, to: UserId) -> Result<()> {
    diesel::update(c::table.find(id.to_string()))
        .set(c::assignee_id.eq(to.to_string()))
        .execute(tx.conn)?;
    tx.audit(
        AuditAction::CaseAutoAssign,
        "case",
        id,
        Some(id),
        json!({"assignee_id": to}),
    );
    Ok(())
}

fn insert_tags(tx: &mut Tx<'_>, id: CaseId, tags: &[Tag]) -> Result<()> {
    for t in tags {
        diesel::insert_into(case_tags::table)
            .values((
                case_tags::case_id.eq(id.to_string()),
                case_tags::tag.eq(t.as_str()),
            ))
            .execute(tx.conn)?;
    }
    Ok(())
}

/// Finds a case by id or reference, whoever asks (for internal use: check visibility after).
pub fn locate(conn: &mut DbConnection, at: CaseLocator) -> Result<Case> {
    let row: Option<Row> = match at {
        CaseLocator::Id(id) => c::table.find(id.to_string()).get_result(conn).optional()?,
        CaseLocator::Ref(r) => c::table
            .filter(c::reference.eq(r.get()))
            .get_result(conn)
            .optional()?,
    };
    let row = row.ok_or(StoreError::not_found("case"))?;
    row.into_case()
}

/// Whether `user` was granted access to `case`.
pub fn is_granted(conn: &mut DbConnection, case: CaseId, user: Option<UserId>) -> Result<bool> {
    let Some(user) = user else { return Ok(false) };
    let n: i64 = case_access::table
        .filter(case_access::case_id.eq(case.to_string()))
        .filter(case_access::user_id.eq(user.to_string()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Whether `who` may see `case`.
pub fn visible_to(conn: &mut DbConnection, case: &Case, who: &Principal) -> Result<bool> {
    let facts = CaseVisibility {
        confidential: case.confidential,
        assignee: case.assignee_id,
        granted: case.confidential && is_granted(conn, case.id, who.actor.user_id())?,
    };
    Ok(can_see_case(who, facts))
}

/// Finds a case the caller may see; one they may not see does not exist for them.
pub fn get_visible(conn: &mut DbConnection, at: CaseLocator, who: &Principal) -> Result<Case> {
    let case = locate(conn, at)?;
    if visible_to(conn, &case, who)? {
        Ok(case)
    } else {
        Err(StoreError::not_found("case"))
    }
}

/// The fields that differ between two JSON objects, as `{field: {from, to}}`.
pub fn diff(before: &Value, after: &Value) -> Value {
    let mut out = Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (k, av) in a {
            if matches!(k.as_str(), "version" | "updated_at") {
                continue;
            }
            let bv = b.get(k).unwrap_or(&Value::Null);
            if bv != av {
                out.insert(k.clone(), json!({"from": bv, "to": av}));
            }
        }
    }
    Value::Object(out)
}

/// A case before and after a change.
#[derive(Debug, Clone)]
pub struct Changed {
    /// As it was read.
    pub before: Case,
    /// As it was saved (the same as `before` when the change changed nothing).
    pub after: Case,
}

/// Applies `change` to the case if it is still at `expected_version`, saves it with the next
/// version, and records what changed. `change` holds the rules (status transitions, priority,
/// the workflow's targets); a change that changes nothing saves nothing.
pub fn update(
    tx: &mut Tx<'_>,
    id: CaseId,
    expected_version: i64,
    change: impl FnOnce(&mut Case, DateTime<Utc>) -> Result<()>,
) -> Result<Changed> {
    let mut x = locate(tx.conn, CaseLocator::Id(id))?;
    crate::error::check_version("case", x.version, expected_version)?;
    let before = x.clone();
    let before_value = serde_json::to_value(&x).unwrap_or_default();
    change(&mut x, tx.now)?;
    x.tags.sort();
    x.tags.dedup();
    if let Some(a) = x.assignee_id {
        check_user(tx, a)?;
    }
    let mut changes = diff(&before_value, &serde_json::to_value(&x).unwrap_or_default());
    if changes.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(Changed { before, after: x });
    }
    x.version += 1;
    x.updated_at = tx.now;
    save(tx, &x, expected_version)?;
    if changes.get("tags").is_some() {
        diesel::delete(case_tags::table.filter(case_tags::case_id.eq(id.to_string())))
            .execute(tx.conn)?;
        insert_tags(tx, id, &x.tags)?;
    }
    // The trail outlives retention: it says that the texts changed, never what they said.
    let mut texts_changed = false;
    for k in ["summary", "description"] {
        if let Some(v) = changes.get_mut(k) {
            *v = json!({"changed": true});
            texts_changed = true;
        }
    }
    tx.audit(AuditAction::CaseUpdate, "case", id, Some(id), changes);
    if texts_changed {
        tx.texts_changed(id);
    }
    Ok(Changed { before, after: x })
}

fn save(tx: &mut Tx<'_>, x: &Case, expected_version: i64) -> Result<()> {
    let r = Row::from_case(x)?;
    let n = diesel::update(c::table.find(&r.id).filter(c::version.eq(expected_version)))
        .set(&r)
        .execute(tx.conn)?;
    crate::error::written("case", n, expected_version)?;
    Ok(())
}

/// Stamps the first response on a case (the first outbound message), once.
pub fn mark_first_response(tx: &mut Tx<'_>, id: CaseId, at: DateTime<Utc>) -> Result<()> {
    let n = diesel::update(
        c::table
            .find(id.to_string())
            .filter(c::first_response_at.is_null()),
    )
    .set((
        c::first_response_at.eq(Some(to_db(at))),
        c::version.eq(c::version + 1),
        c::updated_at.eq(to_db(tx.now)),
    ))
    .execute(tx.conn)?;
    if n > 0 {
        tx.audit(
            AuditAction::CaseFirstResponse,
            "case",
            id,
            Some(id),
            json!({"first_response_at": at}),
        );
    }
    Ok(())
}
