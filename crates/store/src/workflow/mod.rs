//! The routines around a case, one module each: the duty roster and its candidates,
//! hand-offs, caseloads, the leads' queue, broken targets, and the webhooks that announce what
//! needs attention. These are repositories: what follows from what (a new case is assigned,
//! announced) is decided by the API's service layer.

use helpline_domain::case::CaseStatus;
use helpline_domain::workflow::{CaseloadWeights, SlaTargets};

pub mod breaches;
pub mod handoffs;
pub mod leads_queue;
pub mod roster;
pub mod settings;
pub mod webhooks;
pub mod workload;

pub use breaches::announce_breaches;
pub use handoffs::{handoff_page, handoffs, record_handoff};
pub use leads_queue::{escalations, Attention, QueueItem};
pub use roster::{
    absences, add_absence, add_shift, candidates, on_duty, remove_absence, remove_shift, shifts,
};
pub(crate) use settings::put_setting;
pub use settings::{auto_assign, set_auto_assign, setting};
pub use webhooks::{
    announce, announce_quarantined, announce_with, any_due, claim_due, deliveries, record_delivery,
    Delivery,
};
pub use workload::{workload, Workload};

/// The rules a deployment sets: promised times, caseload weights, where webhooks go.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Response and resolution targets per urgency.
    pub targets: SlaTargets,
    /// How much an open case weighs, per urgency.
    pub weights: CaseloadWeights,
    /// Where events are posted.
    pub webhook_urls: Vec<String>,
}

/// The statuses of a case that still needs work, as stored.
pub(crate) fn active() -> Vec<&'static str> {
    CaseStatus::ALL
        .iter()
        .filter(|s| s.is_active())
        .map(|s| s.as_str())
        .collect()
}
