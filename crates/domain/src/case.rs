//! The case: one request for help, from first contact to closure.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::closed_set::closed_set;
use crate::ids::{BeneficiaryId, CaseId, UserId};
use crate::taxonomy::TaxonomyTerm;
use crate::text::{Description, Summary};
use crate::user::Actor;
use crate::DomainError;

/// The short human reference of a case (`#1042`): said on the phone, put in mail subjects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct CaseRef(i64);

impl CaseRef {
    /// A reference is a positive number.
    pub fn new(n: i64) -> Result<Self, DomainError> {
        if n > 0 {
            Ok(Self(n))
        } else {
            Err(DomainError::invalid(
                "case reference",
                "must be a positive number",
            ))
        }
    }
    /// Parses `1042` or `#1042`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let digits = s.strip_prefix('#').unwrap_or(s);
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::invalid(
                "case reference",
                "expected a number such as 1042 or #1042",
            ));
        }
        digits
            .parse::<i64>()
            .map_err(|_| DomainError::invalid("case reference", "out of range"))
            .and_then(Self::new)
    }
    /// The number.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for CaseRef {
    type Error = DomainError;
    fn try_from(n: i64) -> Result<Self, Self::Error> {
        Self::new(n)
    }
}

impl From<CaseRef> for i64 {
    fn from(r: CaseRef) -> i64 {
        r.0
    }
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// How a case is named in a URL: its UUID or its human reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseLocator {
    /// By UUID.
    Id(CaseId),
    /// By `1042` or `#1042`.
    Ref(CaseRef),
}

impl CaseLocator {
    /// A UUID names the case by id; a number (optionally with `#`) by reference.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.contains('-') {
            CaseId::parse(s).map(Self::Id)
        } else {
            CaseRef::parse(s).map(Self::Ref).map_err(|_| {
                DomainError::invalid(
                    "case id",
                    "expected a case UUID or a reference number such as 1042",
                )
            })
        }
    }
}

closed_set! {
    /// Where a case stands. Transitions are enforced by [`CaseStatus::can_become`].
    CaseStatus, "status" {
        /// Just arrived, nobody has looked at it yet.
        New = "new",
        /// Someone is working on it.
        Open = "open",
        /// Waiting on someone: the beneficiary, a platform, a partner.
        Pending = "pending",
        /// The problem is solved; the case may still be reopened.
        Resolved = "resolved",
        /// Finished for good (reopening is still possible, and audited).
        Closed = "closed",
        /// Not taken on: out of mandate, failed vetting, spam.
        Rejected = "rejected",
    }
}

impl CaseStatus {
    /// The statuses a case in this status may move to.
    pub fn allowed_next(self) -> &'static [CaseStatus] {
        use CaseStatus::*;
        match self {
            New => &[Open, Pending, Resolved, Rejected],
            Open => &[Pending, Resolved, Rejected],
            Pending => &[Open, Resolved, Rejected],
            Resolved => &[Open, Closed],
            Closed => &[Open],
            Rejected => &[Open],
        }
    }

    /// Whether the workflow allows moving from `self` to `to`.
    pub fn can_become(self, to: CaseStatus) -> bool {
        self.allowed_next().contains(&to)
    }

    /// A case that still needs work (counts in caseloads and queues).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            CaseStatus::New | CaseStatus::Open | CaseStatus::Pending
        )
    }
}

closed_set! {
    /// How soon help is needed. `critical` means imminent risk to a person.
    Urgency, "urgency" {
        /// Can wait days.
        Low = "low",
        /// Within a day or so.
        Medium = "medium",
        /// Within hours.
        High = "high",
        /// Imminent risk to a person: now.
        Critical = "critical",
    }
}

closed_set! {
    /// How much harm the incident does or could do (to the person, their work, their network).
    Impact, "impact" {
        /// One account or device, little sensitive data.
        Low = "low",
        /// Sensitive data or several people concerned.
        Medium = "medium",
        /// A whole organisation, a network of sources, or physical safety.
        High = "high",
    }
}

closed_set! {
    /// The order in which the team works cases: P1 first.
    Priority, "priority" {
        /// Drop everything.
        P1 = "P1",
        /// Today.
        P2 = "P2",
        /// This week.
        P3 = "P3",
        /// When there is time.
        P4 = "P4",
    }
}

impl Priority {
    /// The priority matrix: urgency (rows) by impact (columns).
    ///
    /// | urgency \ impact | low | medium | high |
    /// |------------------|-----|--------|------|
    /// | critical         | P1  | P1     | P1   |
    /// | high             | P2  | P2     | P1   |
    /// | medium           | P3  | P3     | P2   |
    /// | low              | P4  | P4     | P3   |
    ///
    /// Critical is always P1: imminent risk to a person outranks everything.
    pub fn derive(urgency: Urgency, impact: Impact) -> Priority {
        use Impact as I;
        use Priority::*;
        use Urgency as U;
        match (urgency, impact) {
            (U::Critical, _) => P1,
            (U::High, I::High) => P1,
            (U::High, _) => P2,
            (U::Medium, I::High) => P2,
            (U::Medium, _) => P3,
            (U::Low, I::High) => P3,
            (U::Low, _) => P4,
        }
    }
}

/// A tag on a case: lower-case letters, digits, `-`, `_`, `:` and `.`, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl Tag {
    /// Lower-cases and checks the alphabet.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim().to_lowercase();
        if t.is_empty() || t.chars().count() > 64 {
            return Err(DomainError::invalid("tag", "must be 1 to 64 characters"));
        }
        if !t
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        {
            return Err(DomainError::invalid(
                "tag",
                format!(
                    "`{}` may only hold letters, digits, '-', '_', ':' and '.'",
                    crate::ids::truncate(&t)
                ),
            ));
        }
        Ok(Self(t))
    }
    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Tag {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Tag> for String {
    fn from(t: Tag) -> String {
        t.0
    }
}

/// A case as the helpline records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    /// Stable id.
    pub id: CaseId,
    /// Human reference (`#1042`).
    #[serde(rename = "ref")]
    pub reference: CaseRef,
    /// Who asked for help.
    pub beneficiary_id: BeneficiaryId,
    /// Where the case stands.
    pub status: CaseStatus,
    /// How soon.
    pub urgency: Urgency,
    /// How much harm.
    pub impact: Impact,
    /// Effective priority: derived from urgency and impact unless a lead overrode it.
    pub priority: Priority,
    /// Whether `priority` was set by a lead rather than derived.
    pub priority_overridden: bool,
    /// One line.
    pub summary: Summary,
    /// The longer account.
    pub description: Description,
    /// Type of service requested (configurable taxonomy).
    pub service_type: TaxonomyTerm,
    /// Handler in charge, if any.
    pub assignee_id: Option<UserId>,
    /// Free labels.
    pub tags: Vec<Tag>,
    /// Visible only to the assignee, users granted access, leads and admins.
    pub confidential: bool,
    /// Who opened it.
    pub created_by: Actor,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// Last change to the case record itself.
    pub updated_at: DateTime<Utc>,
    /// First outbound message to the beneficiary.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Last time it became `resolved`.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Last time it became `closed`.
    pub closed_at: Option<DateTime<Utc>>,
    /// The case this one was merged into: its log now lives there.
    pub merged_into: Option<CaseId>,
    /// How the beneficiary first reached the helpline for this case.
    pub channel: Option<crate::log::Channel>,
    /// Where the vetting of the beneficiary stands ("vetting pending" until verified).
    pub vetting: crate::workflow::Vetting,
    /// First outbound message due (by the urgency's target, from opening).
    pub first_response_due_at: DateTime<Utc>,
    /// Whether the first response came, or is, late (see [`Case::assess`]).
    pub first_response_breached: bool,
    /// Resolution due.
    pub resolution_due_at: DateTime<Utc>,
    /// Whether the resolution came, or is, late (see [`Case::assess`]).
    pub resolution_breached: bool,
    /// Put before the leads: why and since when.
    pub escalation: Option<crate::workflow::Escalation>,
    /// A lead's reason to keep the case from retention, if held.
    pub legal_hold: Option<crate::text::Note>,
    /// When retention removed its names, bodies and evidence.
    pub anonymized_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version, served as the `ETag`.
    pub version: i64,
}

/// A case as a handler (or a mail) opens it, before it has an id and a reference: the
/// first-contact form in its order (who and how they reached us, what they ask, how urgent,
/// who may see and handle it).
#[derive(Debug, Clone)]
pub struct NewCase {
    /// Who asked for help.
    pub beneficiary_id: BeneficiaryId,
    /// How the beneficiary reached the helpline.
    pub channel: Option<crate::log::Channel>,
    /// One line.
    pub summary: Summary,
    /// Longer account.
    pub description: Description,
    /// Service type, checked against the taxonomy by the caller.
    pub service_type: TaxonomyTerm,
    /// How soon.
    pub urgency: Urgency,
    /// How much harm.
    pub impact: Impact,
    /// A lead's priority, or derived.
    pub priority_override: Option<Priority>,
    /// Confidential.
    pub confidential: bool,
    /// Handler in charge.
    pub assignee_id: Option<UserId>,
    /// Labels.
    pub tags: Vec<Tag>,
}

impl Case {
    /// A case as opened: status `new`, version 1, priority derived (or a lead's), tags in
    /// order, the beneficiary's vetting shown on it. Targets and escalation are the workflow's
    /// to set ([`crate::workflow::follow_rules`]).
    pub fn open(
        new: NewCase,
        reference: CaseRef,
        vetting: crate::workflow::Vetting,
        created_by: Actor,
        now: DateTime<Utc>,
    ) -> Case {
        let mut tags = new.tags;
        tags.sort();
        tags.dedup();
        let mut x = Case {
            id: CaseId::new(),
            reference,
            beneficiary_id: new.beneficiary_id,
            status: CaseStatus::New,
            urgency: new.urgency,
            impact: new.impact,
            priority: Priority::derive(new.urgency, new.impact),
            priority_overridden: false,
            summary: new.summary,
            description: new.description,
            service_type: new.service_type,
            assignee_id: new.assignee_id,
            tags,
            confidential: new.confidential,
            created_by,
            created_at: now,
            updated_at: now,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            merged_into: None,
            channel: new.channel,
            vetting,
            first_response_due_at: now,
            first_response_breached: false,
            resolution_due_at: now,
            resolution_breached: false,
            escalation: None,
            legal_hold: None,
            anonymized_at: None,
            version: 1,
        };
        if new.priority_override.is_some() {
            x.override_priority(new.priority_override);
        }
        x
    }
}

impl Case {
    /// Moves the case to `to`, stamping resolution and closure times, or refuses with the
    /// statuses that would be allowed.
    pub fn change_status(&mut self, to: CaseStatus, now: DateTime<Utc>) -> Result<(), DomainError> {
        let from = self.status;
        if from == to {
            return Ok(());
        }
        if !from.can_become(to) {
            return Err(DomainError::IllegalTransition {
                from,
                to,
                allowed: from
                    .allowed_next()
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        match to {
            CaseStatus::Resolved => self.resolved_at = Some(now),
            CaseStatus::Closed => {
                self.closed_at = Some(now);
                if self.resolved_at.is_none() {
                    self.resolved_at = Some(now);
                }
            }
            CaseStatus::Open | CaseStatus::Pending | CaseStatus::New => {
                // A reopened case is no longer resolved or closed.
                self.resolved_at = None;
                self.closed_at = None;
            }
            CaseStatus::Rejected => self.closed_at = Some(now),
        }
        self.status = to;
        Ok(())
    }

    /// Marks the response and resolution targets broken or not as of `now`.
    pub fn assess(&mut self, now: DateTime<Utc>) {
        use crate::workflow::breached;
        let active = self.status.is_active();
        self.first_response_breached = breached(
            self.first_response_at,
            self.first_response_due_at,
            active,
            now,
        );
        self.resolution_breached = breached(self.resolved_at, self.resolution_due_at, active, now);
    }

    /// Sets the promised times from the urgency's targets, counted from opening.
    pub fn schedule(&mut self, targets: &crate::workflow::SlaTargets) {
        let (response, resolution) = targets.due(self.urgency, self.created_at);
        self.first_response_due_at = response;
        self.resolution_due_at = resolution;
    }

    /// Sets urgency and impact, re-deriving the priority unless a lead overrode it.
    pub fn set_severity(&mut self, urgency: Urgency, impact: Impact) {
        self.urgency = urgency;
        self.impact = impact;
        if !self.priority_overridden {
            self.priority = Priority::derive(urgency, impact);
        }
    }

    /// A lead's override (`Some`), or back to the derived priority (`None`).
    pub fn override_priority(&mut self, priority: Option<Priority>) {
        match priority {
            Some(p) => {
                self.priority = p;
                self.priority_overridden = true;
            }
            None => {
                self.priority = Priority::derive(self.urgency, self.impact);
                self.priority_overridden = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transition_is_as_documented() {
        use CaseStatus::*;
        let allowed = [
            (New, Open),
            (New, Pending),
            (New, Resolved),
            (New, Rejected),
            (Open, Pending),
            (Open, Resolved),
            (Open, Rejected),
            (Pending, Open),
            (Pending, Resolved),
            (Pending, Rejected),
            (Resolved, Open),
            (Resolved, Closed),
            (Closed, Open),
            (Rejected, Open),
        ];
        for &from in CaseStatus::ALL {
            for &to in CaseStatus::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn priority_matrix() {
        use Impact as I;
        use Priority::*;
        use Urgency as U;
        let rows = [
            (U::Critical, [P1, P1, P1]),
            (U::High, [P2, P2, P1]),
            (U::Medium, [P3, P3, P2]),
            (U::Low, [P4, P4, P3]),
        ];
        for (u, ps) in rows {
            for (i, p) in [I::Low, I::Medium, I::High].into_iter().zip(ps) {
                assert_eq!(Priority::derive(u, i), p, "{u} x {i}");
            }
        }
    }

    #[test]
    fn references_and_locators() {
        assert_eq!(CaseRef::parse("#1042").map(CaseRef::get), Ok(1042));
        assert_eq!(CaseRef::parse("1042").map(CaseRef::get), Ok(1042));
        for bad in ["", "#", "0", "-3", "12a", "99999999999999999999"] {
            assert!(CaseRef::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(CaseLocator::parse("17"), Ok(CaseLocator::Ref(_))));
        assert!(matches!(
            CaseLocator::parse("0192f3a0-0000-7000-8000-000000000000"),
            Ok(CaseLocator::Id(_))
        ));
        assert!(CaseLocator::parse("not-a-case").is_err());
    }

    #[test]
    fn tags_are_normalised_and_checked() {
        assert_eq!(Tag::parse(" Pegasus ").map(|t| t.0), Ok("pegasus".into()));
        assert!(Tag::parse("two words").is_err());
        assert!(Tag::parse("").is_err());
    }
}
