//! Cases: opening one and changing one, with everything that follows from it — the promised
//! times and escalation (the domain's rules), the roster's assignment, hand-off records and
//! the webhooks. The store saves; this module decides what happens next.

use chrono::{DateTime, Utc};
use helpline_domain::access::{Permission, Principal};
use helpline_domain::audit::AuditAction;
use helpline_domain::case::{Case, NewCase};
use helpline_domain::ids::{BeneficiaryId, CaseId, UserId};
use helpline_domain::text::Note;
use helpline_domain::workflow::{
    follow_rules, next_assignee, Escalation, EscalationReason, Handoff, WebhookEvent,
};
use helpline_domain::DomainError;
use helpline_store::cases::{self, Changed};
use helpline_store::workflow::{self as wf, Policy};
use helpline_store::{StoreError, Tx};
use serde_json::json;

/// Who a first contact is for.
pub enum Requester {
    /// Someone on record.
    Existing(BeneficiaryId),
    /// A new person, described there and then.
    New(helpline_store::beneficiaries::NewBeneficiary),
}

/// How a first contact came out.
#[derive(Debug)]
pub enum FirstContact {
    /// The case, opened.
    Opened(Box<Case>),
    /// Passed to the leads: the address given is a hidden person's, and the caller learns
    /// nothing of them (see [`refer`]).
    Referred,
}

/// A first contact: a case opened for someone on record whom the caller may see (anyone else
/// is, to them, no one), or for a new person — unless the new person's address is already a
/// hidden person's, whose request then goes to the leads. Whoever opens a confidential case
/// keeps sight of it.
pub fn first_contact(
    tx: &mut Tx<'_>,
    caller: &Principal,
    requester: Requester,
    new: impl FnOnce(BeneficiaryId) -> NewCase,
    policy: &Policy,
) -> Result<FirstContact, StoreError> {
    let beneficiary_id = match requester {
        Requester::Existing(id) => {
            if !helpline_store::beneficiaries::visible_to(tx.conn, id, caller)? {
                return Err(StoreError::Domain(DomainError::invalid(
                    "beneficiary_id",
                    "no such beneficiary",
                )));
            }
            id
        }
        Requester::New(nb) => {
            match helpline_store::beneficiaries::hidden_owner(tx.conn, &nb.emails, caller)? {
                Some(owner) => {
                    refer(tx, new(owner), policy)?;
                    return Ok(FirstContact::Referred);
                }
                None => helpline_store::beneficiaries::create(tx, nb)?.id,
            }
        }
    };
    let case = open(tx, new(beneficiary_id), policy)?;
    keep_sight(tx, &case, caller)?;
    Ok(FirstContact::Opened(Box::new(case)))
}

/// Whoever opens a confidential case, or makes one confidential, keeps sight of it: the caller
/// (if a person who does not see every confidential case and is not the assignee) is granted
/// access.
pub fn keep_sight(tx: &mut Tx<'_>, case: &Case, caller: &Principal) -> Result<(), StoreError> {
    match caller.actor.user_id() {
        Some(me)
            if case.confidential
                && !caller.may(Permission::SeeAllConfidential)
                && case.assignee_id != Some(me) =>
        {
            helpline_store::grants::grant(tx, case.id, me).map(|_| ())
        }
        _ => Ok(()),
    }
}

/// Opens a case, status `new`: its promised times set by its urgency, the beneficiary's
/// vetting shown on it, escalated if critical or if the beneficiary was rejected, assigned by
/// the roster if nobody was named (and auto-assignment is on), queued for search, announced.
pub fn open(tx: &mut Tx<'_>, new: NewCase, policy: &Policy) -> Result<Case, StoreError> {
    let mut case = opened(tx, new, policy, None)?;
    match case.assignee_id {
        Some(_) => changed_hands(tx, policy, &case, None, false)?,
        None if wf::auto_assign(tx.conn)? => {
            let candidates = wf::candidates(tx.conn, tx.now, &policy.weights)?;
            if let Some(to) = next_assignee(&candidates) {
                cases::set_first_assignee(tx, case.id, to)?;
                case.assignee_id = Some(to);
                changed_hands(tx, policy, &case, None, true)?;
            }
        }
        None => {}
    }
    case.assess(tx.now);
    Ok(case)
}

/// A case opened for a beneficiary its opener may not see (every case of theirs is
/// confidential and out of the opener's reach): confidential, held by nobody (neither the opener
/// nor the roster's next handler), escalated to the leads, who decide who takes it. The opener
/// learns only that it was referred: not the person, not the case.
pub fn refer(tx: &mut Tx<'_>, new: NewCase, policy: &Policy) -> Result<Case, StoreError> {
    let new = NewCase {
        confidential: true,
        assignee_id: None,
        ..new
    };
    let mut case = opened(
        tx,
        new,
        policy,
        Some(EscalationReason::ConfidentialBeneficiary),
    )?;
    case.assess(tx.now);
    Ok(case)
}

/// The opening every case shares: its reference, its vetting and promised times, its
/// escalation (the rules', else `escalate`), stored and announced.
fn opened(
    tx: &mut Tx<'_>,
    new: NewCase,
    policy: &Policy,
    escalate: Option<EscalationReason>,
) -> Result<Case, StoreError> {
    let vetting = cases::vetting_of(tx.conn, new.beneficiary_id)?;
    let reference = cases::next_ref(tx)?;
    let mut case = Case::open(new, reference, vetting, tx.actor, tx.now);
    follow_rules(&mut case, None, &policy.targets, tx.now);
    if let (None, Some(reason)) = (&case.escalation, escalate) {
        case.escalation = Some(Escalation {
            reason,
            escalated_at: tx.now,
            acknowledged_at: None,
        });
    }
    cases::insert(tx, &case)?;
    wf::announce(tx, policy, WebhookEvent::CaseCreated, &case);
    if case.escalation.is_some() {
        wf::announce(tx, policy, WebhookEvent::CaseEscalated, &case);
    }
    Ok(case)
}

/// Changes a case if it is still at `expected_version`: `edit` holds the caller's change (the
/// case's own rules refuse an illegal one), then the workflow's rules follow (new targets for a
/// new urgency, an escalation when it becomes critical), a change of hands is recorded, and
/// the webhooks hear of an assignment, an escalation or a new status.
pub fn change(
    tx: &mut Tx<'_>,
    id: CaseId,
    expected_version: i64,
    policy: &Policy,
    edit: impl FnOnce(&mut Case, DateTime<Utc>) -> Result<(), StoreError>,
) -> Result<Case, StoreError> {
    let targets = policy.targets;
    let Changed { before, mut after } = cases::update(tx, id, expected_version, |c, now| {
        let urgency = c.urgency;
        edit(c, now)?;
        follow_rules(c, Some(urgency), &targets, now);
        Ok(())
    })?;
    if before.assignee_id != after.assignee_id {
        changed_hands(tx, policy, &after, before.assignee_id, false)?;
    }
    if before.escalation.is_none() && after.escalation.is_some() {
        wf::announce(tx, policy, WebhookEvent::CaseEscalated, &after);
    }
    if before.status != after.status {
        let detail = json!({"from": before.status, "to": after.status});
        wf::announce_with(tx, policy, WebhookEvent::CaseStatusChanged, &after, detail);
    }
    after.assess(tx.now);
    Ok(after)
}

/// Records that `case` went from `from` to its assignee (by the roster if `automatic`), and
/// announces it when somebody now holds it.
fn changed_hands(
    tx: &mut Tx<'_>,
    policy: &Policy,
    case: &Case,
    from: Option<UserId>,
    automatic: bool,
) -> Result<(), StoreError> {
    wf::record_handoff(
        tx,
        case.id,
        from,
        case.assignee_id,
        Note::empty(),
        automatic,
    )?;
    if case.assignee_id.is_some() {
        wf::announce(tx, policy, WebhookEvent::CaseAssigned, case);
    }
    Ok(())
}

/// Hands a case to the next handler with a note (shown on the timeline); audited and
/// announced.
pub fn hand_off(
    tx: &mut Tx<'_>,
    id: CaseId,
    expected_version: i64,
    to: UserId,
    note: Note,
    policy: &Policy,
) -> Result<(Case, Handoff), StoreError> {
    // The update records the plain change of assignee; the note goes on its own record.
    let Changed { before, mut after } = cases::update(tx, id, expected_version, |c, _| {
        if c.assignee_id == Some(to) {
            return Err(StoreError::Domain(DomainError::invalid(
                "to",
                "the case is already with this person",
            )));
        }
        c.assignee_id = Some(to);
        Ok(())
    })?;
    let h = wf::record_handoff(tx, id, before.assignee_id, Some(to), note, false)?;
    tx.audit(
        AuditAction::CaseHandoff,
        "case",
        id,
        Some(id),
        json!({"from": before.assignee_id, "to": to, "handoff_id": h.id}),
    );
    wf::announce(tx, policy, WebhookEvent::CaseAssigned, &after);
    after.assess(tx.now);
    Ok((after, h))
}

/// A lead takes an escalated case in hand: it leaves the queue (if nothing else keeps it).
pub fn acknowledge(tx: &mut Tx<'_>, id: CaseId, expected_version: i64) -> Result<Case, StoreError> {
    let changed = cases::update(tx, id, expected_version, |c, now| match &mut c.escalation {
        Some(e) if e.acknowledged_at.is_none() => {
            e.acknowledged_at = Some(now);
            Ok(())
        }
        _ => Err(StoreError::Domain(DomainError::invalid(
            "escalation",
            "the case has no escalation waiting",
        ))),
    })?;
    Ok(assessed(changed.after, tx.now))
}

/// Puts a case under legal hold (retention never touches it), or lifts it (`None`).
pub fn set_legal_hold(
    tx: &mut Tx<'_>,
    id: CaseId,
    expected_version: i64,
    reason: Option<Note>,
) -> Result<Case, StoreError> {
    let changed = cases::update(tx, id, expected_version, move |c, _| {
        c.legal_hold = reason;
        Ok(())
    })?;
    Ok(assessed(changed.after, tx.now))
}

fn assessed(mut case: Case, now: DateTime<Utc>) -> Case {
    case.assess(now);
    case
}
