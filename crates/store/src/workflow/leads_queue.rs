//! The leads' queue: active cases that need a lead now, and why.

use chrono::{DateTime, Utc};
use helpline_domain::access::Principal;
use helpline_domain::case::Case;
use helpline_domain::workflow::Vetting;
use serde::Serialize;

use crate::convert::to_db;
use crate::sql::{Bind, Sql};
use crate::{DbConnection, Result};

/// Why a case is in the leads' queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attention {
    /// Critical: imminent risk to a person, not yet acknowledged.
    Critical,
    /// Opened for a rejected beneficiary, not yet acknowledged.
    RejectedBeneficiary,
    /// Opened by someone who may not see its beneficiary, not yet acknowledged.
    ConfidentialBeneficiary,
    /// The beneficiary is not vetted yet.
    VettingPending,
    /// No first answer and past due.
    FirstResponseOverdue,
    /// Not resolved and past due.
    ResolutionOverdue,
    /// Nobody holds it.
    Unassigned,
}

/// A case that needs a lead now, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueItem {
    /// The case, assessed as of now.
    pub case: Case,
    /// Why, most pressing first.
    pub reasons: Vec<Attention>,
}

/// Active cases that need a lead: unacknowledged escalations first, then overdue ones, then
/// vetting; by priority and age within each. Only cases the caller may see. The database
/// ranks, counts and cuts (a helpline with years of overdue cases holds thousands; only the
/// first `limit` are read); the reasons of those are then worked out here, from the case.
pub fn escalations(
    conn: &mut DbConnection,
    who: &Principal,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<(Vec<QueueItem>, usize)> {
    let at = to_db(now);
    let mut count = Sql::default();
    count.push("SELECT COUNT(*) AS value FROM cases c WHERE ");
    needs_a_lead(&mut count, who, at);
    let total = count
        .load::<Counted>(conn)?
        .pop()
        .map_or(0, |c| usize::try_from(c.value).unwrap_or(0));
    // The first page is chosen by ids from the index; only its rows are then read whole.
    let mut sql = Sql::default();
    sql.push(
        "SELECT c.*, c.ref AS reference FROM cases c WHERE c.id IN (SELECT c.id FROM cases c WHERE ",
    );
    needs_a_lead(&mut sql, who, at);
    // The rank of the first reason, as `Attention::rank` orders them below.
    sql.push(
        " ORDER BY CASE WHEN c.escalated_at IS NOT NULL AND c.escalation_acknowledged_at IS NULL \
         THEN (CASE WHEN c.escalation_reason = ",
    )
    .name(helpline_domain::workflow::EscalationReason::Critical.as_str())
    .push(" THEN 0 ELSE 1 END) WHEN c.first_response_at IS NULL AND c.first_response_due_at < ")
    .bind(Bind::Time(at))
    .push(" THEN 2 WHEN c.resolution_due_at < ")
    .bind(Bind::Time(at))
    .push(" THEN 3 WHEN c.vetting = ")
    .name(Vetting::Pending.as_str())
    .push(" THEN 4 ELSE 1 END, c.priority, c.created_at, c.id");
    // The limit is written into the text, not bound: PostgreSQL may plan a prepared statement
    // once for any value after five runs, and for a bound limit it guessed thousands of ids and
    // joined them by hashing every case (a scan of the table: it would be 15 ms a page instead
    // of 2). A number of ours, never the caller's text; one statement kept per limit asked for.
    sql.push(&format!(" LIMIT {limit})"));
    let rows: Vec<crate::cases::Row> = sql.load(conn)?;
    let mut items = Vec::new();
    for row in rows {
        let mut case = row.into_case()?;
        case.assess(now);
        let mut reasons = Vec::new();
        if let Some(e) = &case.escalation {
            if e.acknowledged_at.is_none() {
                reasons.push(match e.reason {
                    helpline_domain::workflow::EscalationReason::Critical => Attention::Critical,
                    helpline_domain::workflow::EscalationReason::RejectedBeneficiary => {
                        Attention::RejectedBeneficiary
                    }
                    helpline_domain::workflow::EscalationReason::ConfidentialBeneficiary => {
                        Attention::ConfidentialBeneficiary
                    }
                });
            }
        }
        if case.first_response_breached && case.first_response_at.is_none() {
            reasons.push(Attention::FirstResponseOverdue);
        }
        if case.resolution_breached {
            reasons.push(Attention::ResolutionOverdue);
        }
        if case.vetting == Vetting::Pending {
            reasons.push(Attention::VettingPending);
        }
        if case.vetting == Vetting::Rejected && !reasons.contains(&Attention::RejectedBeneficiary) {
            reasons.push(Attention::RejectedBeneficiary);
        }
        if reasons.is_empty() {
            continue;
        }
        if case.assignee_id.is_none() {
            reasons.push(Attention::Unassigned);
        }
        items.push(QueueItem { case, reasons });
    }
    // The database's order again (the rows of `IN` come back in any order), by the same keys
    // down to the id: its clock and ours agree on `at`, and a uuid's bytes order as its text.
    items.sort_by(|a, b| {
        a.reasons[0]
            .rank()
            .cmp(&b.reasons[0].rank())
            .then(a.case.priority.cmp(&b.case.priority))
            .then(a.case.created_at.cmp(&b.case.created_at))
            .then(a.case.id.cmp(&b.case.id))
    });
    Ok((items, total))
}

#[derive(diesel::QueryableByName)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    value: i64,
}

/// The cases that need a lead at `at` (see [`escalations`]), among those `who` may see.
fn needs_a_lead(sql: &mut Sql, who: &Principal, at: chrono::NaiveDateTime) {
    // Our names are written in and only the clock is bound: PostgreSQL then keeps one plan for
    // the statement instead of planning it again on every page (~2 ms of a 6 ms page).
    sql.push("c.status IN ")
        .names(super::active())
        .push(
            " AND c.merged_into IS NULL AND ((c.escalated_at IS NOT NULL \
             AND c.escalation_acknowledged_at IS NULL) OR c.vetting IN ",
        )
        .names([Vetting::Pending, Vetting::Rejected].map(Vetting::as_str))
        .push(" OR (c.first_response_at IS NULL AND c.first_response_due_at < ")
        .bind(Bind::Time(at))
        .push(") OR c.resolution_due_at < ")
        .bind(Bind::Time(at))
        .push(")");
    crate::cases::where_clause(sql, who, &crate::cases::CaseFilter::default());
}

impl Attention {
    fn rank(self) -> u8 {
        match self {
            Attention::Critical => 0,
            Attention::RejectedBeneficiary | Attention::ConfidentialBeneficiary => 1,
            Attention::FirstResponseOverdue => 2,
            Attention::ResolutionOverdue => 3,
            Attention::VettingPending => 4,
            Attention::Unassigned => 5,
        }
    }
}
