//! A case as stored: one row of `cases`, and the conversions to and from the domain's `Case`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use helpline_domain::case::{Case, CaseRef, CaseStatus, Impact, Priority, Tag, Urgency};
use helpline_domain::ids::{BeneficiaryId, CaseId, UserId};
use helpline_domain::log::Channel;
use helpline_domain::taxonomy::TaxonomyTerm;
use helpline_domain::text::{Description, Note, Summary};
use helpline_domain::workflow::{Escalation, EscalationReason, Vetting};

use crate::convert::{corrupt, from_db, stored, to_db};
use crate::schema::cases as c;
use crate::Result;

/// `AsChangeset` writes every column a case's change may touch; what never changes after the
/// case is opened (or changes only through merge) is skipped.
#[derive(Queryable, QueryableByName, Insertable, AsChangeset, Clone)]
#[diesel(table_name = c, treat_none_as_null = true, treat_none_as_default_value = false)]
pub(crate) struct Row {
    pub(super) id: String,
    #[diesel(skip_update)]
    pub(super) reference: i64,
    #[diesel(skip_update)]
    pub(super) beneficiary_id: String,
    pub(super) status: String,
    pub(super) urgency: String,
    pub(super) impact: String,
    pub(super) priority: String,
    pub(super) priority_overridden: bool,
    pub(super) summary: String,
    pub(super) description: String,
    pub(super) service_type: String,
    pub(super) tags: String,
    pub(super) assignee_id: Option<String>,
    pub(super) confidential: bool,
    #[diesel(skip_update)]
    pub(super) created_by: String,
    #[diesel(skip_update)]
    pub(super) created_at: NaiveDateTime,
    pub(super) updated_at: NaiveDateTime,
    pub(super) first_response_at: Option<NaiveDateTime>,
    pub(super) resolved_at: Option<NaiveDateTime>,
    pub(super) closed_at: Option<NaiveDateTime>,
    pub(super) version: i64,
    #[diesel(skip_update)]
    pub(super) merged_into: Option<String>,
    #[diesel(skip_update)]
    pub(super) channel: Option<String>,
    pub(super) vetting: String,
    pub(super) first_response_due_at: NaiveDateTime,
    pub(super) resolution_due_at: NaiveDateTime,
    pub(super) escalation_reason: Option<String>,
    pub(super) escalated_at: Option<NaiveDateTime>,
    pub(super) escalation_acknowledged_at: Option<NaiveDateTime>,
    pub(super) legal_hold: Option<String>,
    pub(super) anonymized_at: Option<NaiveDateTime>,
}

impl Row {
    pub(crate) fn into_case(self) -> Result<Case> {
        let tags: Vec<String> = crate::convert::from_json(&self.tags)?;
        let tags = tags
            .iter()
            .map(|t| stored(Tag::parse(t)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Case {
            id: stored(CaseId::parse(&self.id))?,
            reference: stored(CaseRef::new(self.reference))?,
            beneficiary_id: stored(BeneficiaryId::parse(&self.beneficiary_id))?,
            status: stored(CaseStatus::parse(&self.status))?,
            urgency: stored(Urgency::parse(&self.urgency))?,
            impact: stored(Impact::parse(&self.impact))?,
            priority: stored(Priority::parse(&self.priority))?,
            priority_overridden: self.priority_overridden,
            summary: stored(Summary::parse(self.summary))?,
            description: stored(Description::parse(self.description))?,
            service_type: TaxonomyTerm::from_stored(self.service_type),
            assignee_id: crate::convert::stored_opt(self.assignee_id.as_deref(), UserId::parse)?,
            tags,
            confidential: self.confidential,
            created_by: stored(self.created_by.parse())?,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
            first_response_at: self.first_response_at.map(from_db),
            resolved_at: self.resolved_at.map(from_db),
            closed_at: self.closed_at.map(from_db),
            merged_into: crate::convert::stored_opt(self.merged_into.as_deref(), CaseId::parse)?,
            channel: crate::convert::stored_opt(self.channel.as_deref(), Channel::parse)?,
            vetting: stored(Vetting::parse(&self.vetting))?,
            first_response_due_at: from_db(self.first_response_due_at),
            first_response_breached: false,
            resolution_due_at: from_db(self.resolution_due_at),
            resolution_breached: false,
            escalation: match (self.escalation_reason, self.escalated_at) {
                (Some(r), Some(at)) => Some(Escalation {
                    reason: stored(EscalationReason::parse(&r))?,
                    escalated_at: from_db(at),
                    acknowledged_at: self.escalation_acknowledged_at.map(from_db),
                }),
                _ => None,
            },
            legal_hold: self
                .legal_hold
                .map(Note::parse)
                .transpose()
                .map_err(corrupt)?,
            anonymized_at: self.anonymized_at.map(from_db),
            version: self.version,
        })
    }

    pub(super) fn from_case(x: &Case) -> Result<Row> {
        Ok(Row {
            id: x.id.to_string(),
            reference: x.reference.get(),
            beneficiary_id: x.beneficiary_id.to_string(),
            status: x.status.as_str().to_owned(),
            urgency: x.urgency.as_str().to_owned(),
            impact: x.impact.as_str().to_owned(),
            priority: x.priority.as_str().to_owned(),
            priority_overridden: x.priority_overridden,
            summary: x.summary.as_str().to_owned(),
            description: x.description.as_str().to_owned(),
            service_type: x.service_type.as_str().to_owned(),
            tags: crate::convert::to_json(&x.tags)?,
            assignee_id: x.assignee_id.map(|u| u.to_string()),
            confidential: x.confidential,
            created_by: x.created_by.to_string(),
            created_at: to_db(x.created_at),
            updated_at: to_db(x.updated_at),
            first_response_at: x.first_response_at.map(to_db),
            resolved_at: x.resolved_at.map(to_db),
            closed_at: x.closed_at.map(to_db),
            version: x.version,
            merged_into: x.merged_into.map(|m| m.to_string()),
            channel: x.channel.map(|c| c.as_str().to_owned()),
            vetting: x.vetting.as_str().to_owned(),
            first_response_due_at: to_db(x.first_response_due_at),
            resolution_due_at: to_db(x.resolution_due_at),
            escalation_reason: x.escalation.as_ref().map(|e| e.reason.as_str().to_owned()),
            escalated_at: x.escalation.as_ref().map(|e| to_db(e.escalated_at)),
            escalation_acknowledged_at: x
                .escalation
                .as_ref()
                .and_then(|e| e.acknowledged_at.map(to_db)),
            legal_hold: x.legal_hold.as_ref().map(|n| n.as_str().to_owned()),
            anonymized_at: x.anonymized_at.map(to_db),
        })
    }
}

pub(crate) fn into_cases(rows: Vec<Row>) -> Result<Vec<Case>> {
    rows.into_iter().map(Row::into_case).collect()
}
