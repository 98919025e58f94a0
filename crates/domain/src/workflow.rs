//! The helpline's routines: vetting markers, who takes the next case, the times it has promised
//! to answer in, and what is put before a lead at once.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::beneficiary::VerificationStatus;
use crate::case::Urgency;
use crate::closed_set::closed_set;
use crate::ids::UserId;
use crate::DomainError;

closed_set! {
    /// Where the vetting of a case's beneficiary stands, shown on the case.
    Vetting, "vetting" {
        /// The beneficiary is not vetted yet: the case carries the marker and waits in a
        /// lead's queue.
        Pending = "pending",
        /// Vetted.
        Verified = "verified",
        /// The beneficiary was rejected: a new case of theirs is flagged for a lead.
        Rejected = "rejected",
    }
}

impl From<VerificationStatus> for Vetting {
    fn from(s: VerificationStatus) -> Self {
        match s {
            VerificationStatus::Unverified => Vetting::Pending,
            VerificationStatus::Verified => Vetting::Verified,
            VerificationStatus::Rejected => Vetting::Rejected,
        }
    }
}

closed_set! {
    /// Why a case was put before the leads.
    EscalationReason, "escalation reason" {
        /// Critical urgency: imminent risk to a person.
        Critical = "critical",
        /// Opened for a beneficiary the helpline had rejected.
        RejectedBeneficiary = "rejected_beneficiary",
        /// Opened by someone who may not see the beneficiary (every case of theirs is
        /// confidential and out of the opener's reach): a lead decides who takes it.
        ConfidentialBeneficiary = "confidential_beneficiary",
    }
}

/// A case put before every lead until one acknowledges it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Escalation {
    /// Why.
    pub reason: EscalationReason,
    /// Since when.
    pub escalated_at: DateTime<Utc>,
    /// When a lead took it in hand.
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// The rules every write of a case follows: the promised times follow the urgency (set when
/// it is opened, `previous_urgency` = `None`, or when its urgency changes), and a case is
/// escalated once when it is critical and still active, or when it is opened for a rejected
/// beneficiary.
pub fn follow_rules(
    case: &mut crate::case::Case,
    previous_urgency: Option<Urgency>,
    targets: &SlaTargets,
    now: DateTime<Utc>,
) {
    if previous_urgency != Some(case.urgency) {
        case.schedule(targets);
    }
    if case.escalation.is_some() {
        return;
    }
    let reason = if case.urgency == Urgency::Critical && case.status.is_active() {
        Some(EscalationReason::Critical)
    } else if previous_urgency.is_none() && case.vetting == Vetting::Rejected {
        Some(EscalationReason::RejectedBeneficiary)
    } else {
        None
    };
    if let Some(reason) = reason {
        case.escalation = Some(Escalation {
            reason,
            escalated_at: now,
            acknowledged_at: None,
        });
    }
}

/// Promised times, per urgency: to the first answer and to resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaTargets {
    response: [Duration; 4],
    resolution: [Duration; 4],
}

fn slot(u: Urgency) -> usize {
    match u {
        Urgency::Low => 0,
        Urgency::Medium => 1,
        Urgency::High => 2,
        Urgency::Critical => 3,
    }
}

impl Default for SlaTargets {
    /// Critical 1 h / 24 h, high 4 h / 3 days, medium 1 day / 7 days, low 3 days / 30 days.
    fn default() -> Self {
        Self {
            response: [
                Duration::days(3),
                Duration::days(1),
                Duration::hours(4),
                Duration::hours(1),
            ],
            resolution: [
                Duration::days(30),
                Duration::days(7),
                Duration::days(3),
                Duration::hours(24),
            ],
        }
    }
}

impl SlaTargets {
    /// Targets in seconds per urgency; each must be positive and a response must be due no
    /// later than the resolution.
    pub fn new(
        response: impl Fn(Urgency) -> i64,
        resolution: impl Fn(Urgency) -> i64,
    ) -> Result<Self, DomainError> {
        let mut t = Self::default();
        for &u in Urgency::ALL {
            let (a, b) = (response(u), resolution(u));
            if a <= 0 || b <= 0 {
                return Err(DomainError::invalid(
                    "sla",
                    format!("targets for {u} must be positive"),
                ));
            }
            if a > b {
                return Err(DomainError::invalid(
                    "sla",
                    format!("for {u}, the response target is later than the resolution target"),
                ));
            }
            t.response[slot(u)] = Duration::seconds(a);
            t.resolution[slot(u)] = Duration::seconds(b);
        }
        Ok(t)
    }

    /// When a case of this urgency opened at `opened` must be first answered and resolved.
    pub fn due(&self, urgency: Urgency, opened: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            opened + self.response[slot(urgency)],
            opened + self.resolution[slot(urgency)],
        )
    }
}

/// Whether a promised time is broken as of `now`: met late, or not met by a case still
/// needing work and now past due. (A case closed or rejected without it breaks nothing.)
pub fn breached<T: PartialOrd>(done: Option<T>, due: T, active: bool, now: T) -> bool {
    match done {
        Some(t) => t > due,
        None => active && now > due,
    }
}

/// How much an open case weighs in a handler's caseload, by urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CaseloadWeights {
    /// Low.
    pub low: i64,
    /// Medium.
    pub medium: i64,
    /// High.
    pub high: i64,
    /// Critical.
    pub critical: i64,
}

impl Default for CaseloadWeights {
    fn default() -> Self {
        Self {
            low: 1,
            medium: 2,
            high: 3,
            critical: 4,
        }
    }
}

impl CaseloadWeights {
    /// Each weight at least 1, heavier for more urgent cases (or equal).
    pub fn new(low: i64, medium: i64, high: i64, critical: i64) -> Result<Self, DomainError> {
        if low < 1 || medium < low || high < medium || critical < high {
            return Err(DomainError::invalid(
                "weights",
                "weights must be at least 1 and not decrease with urgency",
            ));
        }
        Ok(Self {
            low,
            medium,
            high,
            critical,
        })
    }

    /// The weight of one open case of this urgency.
    pub fn of(&self, u: Urgency) -> i64 {
        match u {
            Urgency::Low => self.low,
            Urgency::Medium => self.medium,
            Urgency::High => self.high,
            Urgency::Critical => self.critical,
        }
    }
}

/// A handler who could take the next case: on duty now, not away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Who.
    pub user: UserId,
    /// Their open cases, weighted by urgency.
    pub load: i64,
    /// Their open cases, counted.
    pub open: i64,
    /// When they were last given a case (by anyone), if ever.
    pub last_assigned: Option<DateTime<Utc>>,
}

/// The fair choice: the lightest weighted caseload; then the fewest open cases; then whoever
/// waited longest for a case; then a stable order. Greedy least-load keeps the on-duty
/// handlers' loads within one case's weight of each other while cases come in.
pub fn next_assignee(candidates: &[Candidate]) -> Option<UserId> {
    candidates
        .iter()
        .min_by(|a, b| {
            a.load
                .cmp(&b.load)
                .then(a.open.cmp(&b.open))
                .then(a.last_assigned.cmp(&b.last_assigned))
                .then(a.user.to_string().cmp(&b.user.to_string()))
        })
        .map(|c| c.user)
}

/// A stretch of time: on duty (a week of a rotation, or one shift), or away (no new case
/// even on duty).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Period {
    /// Stable id.
    pub id: uuid::Uuid,
    /// Whose.
    pub user_id: UserId,
    /// From.
    pub starts_at: DateTime<Utc>,
    /// Until (exclusive).
    pub ends_at: DateTime<Utc>,
    /// Who set it.
    pub created_by: crate::user::Actor,
}

/// A period on duty.
pub type Shift = Period;

/// A period away.
pub type Absence = Period;

/// Checks a period: it must end after it starts and last at most a year.
pub fn check_period(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> Result<(), DomainError> {
    if ends_at <= starts_at {
        return Err(DomainError::invalid("ends_at", "must be after starts_at"));
    }
    if ends_at - starts_at > Duration::days(366) {
        return Err(DomainError::invalid(
            "ends_at",
            "a period lasts at most a year",
        ));
    }
    Ok(())
}

closed_set! {
    /// What a webhook tells a receiver (a chat room, a pager) about a case.
    WebhookEvent, "webhook event" {
        /// A case was opened.
        CaseCreated = "case.created",
        /// A case rose to the leads' escalation queue.
        CaseEscalated = "case.escalated",
        /// A case changed hands.
        CaseAssigned = "case.assigned",
        /// A case missed a promised time (first response or resolution).
        CaseSlaBreached = "case.sla_breached",
        /// A case's status changed (`detail.from`, `detail.to`).
        CaseStatusChanged = "case.status_changed",
        /// A message came in on a case, by mail or recorded by hand.
        MessageReceived = "message.received",
        /// A message could not be read or threaded and waits in the quarantine for a lead.
        MailQuarantined = "mail.quarantined",
        /// A reply could not be delivered and will not be tried again.
        ReplyFailed = "reply.failed",
    }
}

/// A change of hands on a case, with the note to the next handler.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handoff {
    /// Stable id.
    pub id: uuid::Uuid,
    /// The case.
    pub case_id: crate::ids::CaseId,
    /// Who had it (none when first assigned).
    pub from_user: Option<UserId>,
    /// Who has it now (none when unassigned).
    pub to_user: Option<UserId>,
    /// What the next handler should know.
    pub note: crate::text::Note,
    /// Whether the roster chose the handler.
    pub automatic: bool,
    /// Who handed it over.
    pub handed_by: crate::user::Actor,
    /// When.
    pub handed_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::hours(h)
    }

    #[test]
    fn default_targets_are_the_agreed_ones() {
        let t = SlaTargets::default();
        let rows = [
            (Urgency::Critical, 1, 24),
            (Urgency::High, 4, 72),
            (Urgency::Medium, 24, 168),
            (Urgency::Low, 72, 720),
        ];
        for (u, resp, res) in rows {
            assert_eq!(t.due(u, at(0)), (at(resp), at(res)), "{u}");
        }
        assert!(SlaTargets::new(|_| 10, |_| 5).is_err());
        assert!(SlaTargets::new(|_| 0, |_| 5).is_err());
        assert!(SlaTargets::new(|_| 5, |_| 10).is_ok());
    }

    fn opened(urgency: Urgency, vetting: Vetting) -> crate::case::Case {
        use crate::case::{Case, CaseRef, Impact, NewCase};
        let new = NewCase {
            beneficiary_id: crate::ids::BeneficiaryId::new(),
            urgency,
            impact: Impact::Medium,
            priority_override: None,
            summary: crate::text::Summary::parse("Hijacked account".to_owned())
                .unwrap_or_else(|e| panic!("{e}")),
            description: crate::text::Description::empty(),
            service_type: crate::taxonomy::TaxonomyTerm::from_stored("account_security".into()),
            assignee_id: None,
            tags: Vec::new(),
            confidential: false,
            channel: None,
        };
        let reference = CaseRef::new(1001).unwrap_or_else(|e| panic!("{e}"));
        Case::open(new, reference, vetting, crate::user::Actor::System, at(0))
    }

    #[test]
    fn rules_schedule_and_escalate_once() {
        let t = SlaTargets::default();
        // Opened: targets from the urgency; a critical case is escalated at once.
        let mut c = opened(Urgency::Critical, Vetting::Verified);
        follow_rules(&mut c, None, &t, at(0));
        assert_eq!(c.first_response_due_at, at(1));
        assert_eq!(c.resolution_due_at, at(24));
        let e = c
            .escalation
            .clone()
            .unwrap_or_else(|| panic!("not escalated"));
        assert_eq!(
            (e.reason, e.escalated_at),
            (EscalationReason::Critical, at(0))
        );
        // Escalated once: a later write keeps the first escalation.
        follow_rules(&mut c, Some(Urgency::Critical), &t, at(5));
        assert_eq!(c.escalation.map(|e| e.escalated_at), Some(at(0)));

        // A rejected beneficiary's new case goes to the leads; an edit of an old one does not.
        let mut r = opened(Urgency::Low, Vetting::Rejected);
        follow_rules(&mut r, None, &t, at(0));
        assert_eq!(
            r.escalation.map(|e| e.reason),
            Some(EscalationReason::RejectedBeneficiary)
        );
        let mut old = opened(Urgency::Low, Vetting::Rejected);
        old.schedule(&t);
        follow_rules(&mut old, Some(Urgency::Low), &t, at(2));
        assert!(old.escalation.is_none());

        // Raising the urgency moves the targets (counted from opening) and escalates.
        let mut m = opened(Urgency::Medium, Vetting::Verified);
        follow_rules(&mut m, None, &t, at(0));
        assert!(m.escalation.is_none());
        assert_eq!(m.first_response_due_at, at(24));
        m.urgency = Urgency::Critical;
        follow_rules(&mut m, Some(Urgency::Medium), &t, at(3));
        assert_eq!(m.first_response_due_at, at(1));
        assert_eq!(m.escalation.map(|e| e.escalated_at), Some(at(3)));
    }

    #[test]
    fn targets_break_late_or_overdue() {
        assert!(!breached(Some(at(1)), at(2), true, at(9)));
        assert!(breached(Some(at(3)), at(2), false, at(3)));
        assert!(!breached(None, at(2), true, at(2)));
        assert!(breached(None, at(2), true, at(3)));
        assert!(!breached(None, at(2), false, at(3)));
    }

    #[test]
    fn greedy_assignment_keeps_loads_within_one_case() {
        let users: Vec<UserId> = (0..3).map(|_| UserId::new()).collect();
        let w = CaseloadWeights::default();
        let mut load = [0i64; 3];
        let mut open = [0i64; 3];
        let urgencies = [
            Urgency::Low,
            Urgency::Critical,
            Urgency::Medium,
            Urgency::High,
        ];
        for i in 0..200 {
            let u = urgencies[(i * 7 + i / 3) % 4];
            let cands: Vec<Candidate> = (0..3)
                .map(|k| Candidate {
                    user: users[k],
                    load: load[k],
                    open: open[k],
                    last_assigned: None,
                })
                .collect();
            let Some(pick) = next_assignee(&cands) else {
                panic!("nobody picked")
            };
            let k = users.iter().position(|x| *x == pick).unwrap_or(0);
            load[k] += w.of(u);
            open[k] += 1;
            let spread = load.iter().max().unwrap_or(&0) - load.iter().min().unwrap_or(&0);
            assert!(spread <= w.critical, "step {i}: {load:?}");
        }
        assert_eq!(next_assignee(&[]), None);
    }

    #[test]
    fn ties_go_to_who_waited_longest() {
        let (a, b) = (UserId::new(), UserId::new());
        let c = |user, last| Candidate {
            user,
            load: 2,
            open: 1,
            last_assigned: Some(last),
        };
        assert_eq!(next_assignee(&[c(a, at(5)), c(b, at(3))]), Some(b));
    }

    #[test]
    fn weights_and_periods_are_checked() {
        assert!(CaseloadWeights::new(2, 1, 3, 4).is_err());
        assert!(CaseloadWeights::new(0, 1, 3, 4).is_err());
        assert!(check_period(at(2), at(1)).is_err());
        assert!(check_period(at(0), at(24 * 400)).is_err());
        assert!(check_period(at(0), at(24 * 7)).is_ok());
    }
}
