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
/// vetting; by priority and age within each. Only cases the caller may see.
pub fn escalations(
    conn: &mut DbConnection,
    who: &Principal,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<(Vec<QueueItem>, usize)> {
    // One query, with the visibility rule the case lists use.
    let at = to_db(now);
    let mut sql = Sql::default();
    sql.push("SELECT c.*, c.ref AS reference FROM cases c WHERE c.status IN ")
        .bind_list(super::active().into_iter().map(str::to_owned))
        .push(
            " AND c.merged_into IS NULL AND ((c.escalated_at IS NOT NULL \
             AND c.escalation_acknowledged_at IS NULL) OR c.vetting <> ",
        )
        .bind(Bind::Text(Vetting::Verified.as_str().to_owned()))
        .push(" OR (c.first_response_at IS NULL AND c.first_response_due_at < ")
        .bind(Bind::Time(at))
        .push(") OR c.resolution_due_at < ")
        .bind(Bind::Time(at))
        .push(")");
    crate::cases::where_clause(&mut sql, who, &crate::cases::CaseFilter::default());
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
    items.sort_by(|a, b| {
        a.reasons[0]
            .rank()
            .cmp(&b.reasons[0].rank())
            .then(a.case.priority.cmp(&b.case.priority))
            .then(a.case.created_at.cmp(&b.case.created_at))
    });
    let total = items.len();
    items.truncate(limit);
    Ok((items, total))
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
