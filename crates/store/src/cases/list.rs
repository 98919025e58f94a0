//! Lists of cases: the filters of the API, written once as SQL (shared with search and the
//! leads' queue) behind the one visibility rule, and keyset pages in four orders.

use chrono::{DateTime, Utc};
use helpline_domain::access::Principal;
use helpline_domain::case::{Case, CaseStatus, Priority, Tag, Urgency};
use helpline_domain::ids::{BeneficiaryId, UserId};
use helpline_domain::workflow::Vetting;

use crate::convert::to_db;
use crate::page::{paginate, Cursor};
use crate::sql::{Bind, Sql};
use crate::{DbConnection, Page, Result, StoreError};

use super::row::{into_cases, Row};

/// Who is assigned, in a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Nobody.
    Unassigned,
    /// This user.
    User(UserId),
}

/// Filters for listing cases; empty vectors mean "any".
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Any of these statuses.
    pub status: Vec<CaseStatus>,
    /// Any of these urgencies.
    pub urgency: Vec<Urgency>,
    /// Any of these priorities.
    pub priority: Vec<Priority>,
    /// Assignee.
    pub assignee: Option<AssigneeFilter>,
    /// Service type.
    pub service_type: Option<String>,
    /// The beneficiary's audience type.
    pub audience: Option<String>,
    /// Carries this tag.
    pub tag: Option<Tag>,
    /// Of this beneficiary.
    pub beneficiary: Option<BeneficiaryId>,
    /// Confidential or not.
    pub confidential: Option<bool>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Updated at or after.
    pub updated_from: Option<DateTime<Utc>>,
    /// Updated before.
    pub updated_to: Option<DateTime<Utc>>,
    /// Where the vetting stands.
    pub vetting: Option<Vetting>,
}

/// The order of a case list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseSort {
    /// Newest first.
    #[default]
    CreatedDesc,
    /// Oldest first.
    CreatedAsc,
    /// Most recently updated first.
    UpdatedDesc,
    /// Least recently updated first.
    UpdatedAsc,
}

/// `AND …` conditions on `c` (the cases table) for what `who` may see and what `f` asks for.
pub(crate) fn where_clause(sql: &mut Sql, who: &Principal, f: &CaseFilter) {
    crate::visibility::visible(sql, who, "c");
    let names = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect::<Vec<_>>();
    if !f.status.is_empty() {
        sql.push(" AND c.status IN ")
            .bind_list(names(f.status.iter().map(|s| s.as_str()).collect()));
    }
    if !f.urgency.is_empty() {
        sql.push(" AND c.urgency IN ")
            .bind_list(names(f.urgency.iter().map(|s| s.as_str()).collect()));
    }
    if !f.priority.is_empty() {
        sql.push(" AND c.priority IN ")
            .bind_list(names(f.priority.iter().map(|s| s.as_str()).collect()));
    }
    match f.assignee {
        Some(AssigneeFilter::Unassigned) => {
            sql.push(" AND c.assignee_id IS NULL");
        }
        Some(AssigneeFilter::User(u)) => {
            sql.push(" AND c.assignee_id = ")
                .bind(Bind::Text(u.to_string()));
        }
        None => {}
    }
    if let Some(s) = &f.service_type {
        sql.push(" AND c.service_type = ")
            .bind(Bind::Text(s.clone()));
    }
    if let Some(a) = &f.audience {
        sql.push(" AND c.beneficiary_id IN (SELECT id FROM beneficiaries WHERE audience = ")
            .bind(Bind::Text(a.clone()))
            .push(")");
    }
    if let Some(t) = &f.tag {
        sql.push(" AND c.id IN (SELECT case_id FROM case_tags WHERE tag = ")
            .bind(Bind::Text(t.as_str().to_owned()))
            .push(")");
    }
    if let Some(b) = f.beneficiary {
        sql.push(" AND c.beneficiary_id = ")
            .bind(Bind::Text(b.to_string()));
    }
    if let Some(conf) = f.confidential {
        sql.push(" AND c.confidential = ").bind(Bind::Bool(conf));
    }
    if let Some(v) = f.vetting {
        sql.push(" AND c.vetting = ")
            .bind(Bind::Text(v.as_str().to_owned()));
    }
    for (col, op, t) in [
        ("created_at", ">=", f.created_from),
        ("created_at", "<", f.created_to),
        ("updated_at", ">=", f.updated_from),
        ("updated_at", "<", f.updated_to),
    ] {
        if let Some(t) = t {
            sql.push(&format!(" AND c.{col} {op} "))
                .bind(Bind::Time(to_db(t)));
        }
    }
}

/// Cases the caller may see, filtered and sorted, a page at a time (keyset on the sort key and
/// the UUIDv7 id).
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    f: &CaseFilter,
    sort: CaseSort,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Case>> {
    let mut sql = Sql::default();
    // `ref` is read by the Row's field name.
    sql.push("SELECT c.*, c.ref AS reference FROM cases c WHERE 1 = 1");
    where_clause(&mut sql, who, f);
    let by_updated = matches!(sort, CaseSort::UpdatedAsc | CaseSort::UpdatedDesc);
    if let Some(cur) = cursor {
        let id = Bind::Text(cur.id.clone());
        match (sort, cur.key) {
            (CaseSort::CreatedDesc, _) => {
                sql.push(" AND c.id < ").bind(id);
            }
            (CaseSort::CreatedAsc, _) => {
                sql.push(" AND c.id > ").bind(id);
            }
            (CaseSort::UpdatedDesc | CaseSort::UpdatedAsc, Some(k)) => {
                let op = if sort == CaseSort::UpdatedDesc {
                    "<"
                } else {
                    ">"
                };
                sql.push(&format!(" AND (c.updated_at {op} "))
                    .bind(Bind::Time(k))
                    .push(" OR (c.updated_at = ")
                    .bind(Bind::Time(k))
                    .push(&format!(" AND c.id {op} "))
                    .bind(id)
                    .push("))");
            }
            (_, None) => {
                return Err(StoreError::Domain(helpline_domain::DomainError::invalid(
                    "cursor",
                    "this cursor belongs to another sort order",
                )))
            }
        }
    }
    sql.push(match sort {
        CaseSort::CreatedDesc => " ORDER BY c.id DESC",
        CaseSort::CreatedAsc => " ORDER BY c.id ASC",
        CaseSort::UpdatedDesc => " ORDER BY c.updated_at DESC, c.id DESC",
        CaseSort::UpdatedAsc => " ORDER BY c.updated_at ASC, c.id ASC",
    });
    sql.push(" LIMIT ").bind(Bind::Int(limit + 1));
    let rows: Vec<Row> = sql.load(conn)?;
    let items = into_cases(rows)?;
    Ok(paginate(items, limit, |x| Cursor {
        key: by_updated.then(|| to_db(x.updated_at)),
        id: x.id.to_string(),
        offset: None,
    }))
}
