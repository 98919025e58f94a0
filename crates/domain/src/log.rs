//! What goes on a case's log: messages, internal comments, actions taken, next steps, and the
//! other parties involved.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::closed_set::closed_set;
use crate::ids::{ActionId, CaseId, CommentId, MessageId, NextStepId, PartyId, UserId};
use crate::party::PartyRole;
use crate::text::{Body, Note, Title};
use crate::user::Actor;

closed_set! {
    /// Which way a message went.
    Direction, "direction" {
        /// From them to the helpline.
        Inbound = "in",
        /// From the helpline to them.
        Outbound = "out",
    }
}

closed_set! {
    /// How a message travelled.
    Channel, "channel" {
        /// Email (PGP or not).
        Email = "email",
        /// Signal.
        Signal = "signal",
        /// A phone call (the body holds the call notes).
        Phone = "phone",
        /// A web form.
        Web = "web",
        /// Anything else.
        Other = "other",
    }
}

/// The other end of a message: the case's beneficiary, a party, or someone unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "CounterpartWire")]
pub enum Counterpart {
    /// The beneficiary of the case.
    Beneficiary,
    /// Another party from the directory.
    Party {
        /// Which party.
        party_id: PartyId,
    },
    /// Someone the case does not know: mail that named the case (tag, reply headers, reply
    /// address) from neither the beneficiary's nor a party's address; the address is the
    /// message's email `from`. Never taken for the beneficiary.
    Unknown,
}

impl Counterpart {
    /// The kind, as the wire and the store spell it.
    pub fn kind(self) -> &'static str {
        match self {
            Counterpart::Beneficiary => "beneficiary",
            Counterpart::Party { .. } => "party",
            Counterpart::Unknown => "unknown",
        }
    }
}

/// A counterpart as written: serde lets a unit variant of a tagged enum carry unknown fields,
/// so `{"kind": "beneficiary", "party_id": ...}` would pass for the beneficiary.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterpartWire {
    kind: CounterpartKind,
    party_id: Option<PartyId>,
}

/// The kinds of counterpart, as spelled on the wire.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum CounterpartKind {
    Beneficiary,
    Party,
    Unknown,
}

impl TryFrom<CounterpartWire> for Counterpart {
    type Error = String;
    fn try_from(w: CounterpartWire) -> Result<Self, String> {
        match (w.kind, w.party_id) {
            (CounterpartKind::Beneficiary, None) => Ok(Counterpart::Beneficiary),
            (CounterpartKind::Beneficiary, Some(_)) => {
                Err("the beneficiary as counterpart takes no party_id".into())
            }
            (CounterpartKind::Party, Some(party_id)) => Ok(Counterpart::Party { party_id }),
            (CounterpartKind::Party, None) => {
                Err("a party as counterpart needs its party_id".into())
            }
            (CounterpartKind::Unknown, None) => Ok(Counterpart::Unknown),
            (CounterpartKind::Unknown, Some(_)) => {
                Err("an unknown counterpart takes no party_id".into())
            }
        }
    }
}

/// A message exchanged on a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// Stable id.
    pub id: MessageId,
    /// On which case.
    pub case_id: CaseId,
    /// In or out.
    pub direction: Direction,
    /// How.
    pub channel: Channel,
    /// With whom.
    pub counterpart: Counterpart,
    /// Subject, where the channel has one.
    pub subject: Option<Title>,
    /// What was said (or the call notes).
    pub body: Body,
    /// When it was sent or received.
    pub occurred_at: DateTime<Utc>,
    /// Who recorded it.
    pub recorded_by: Actor,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// For email: Message-ID, addresses, OpenPGP outcome, attachments, delivery.
    pub email: Option<crate::mail::EmailDetails>,
}

/// An internal note by a handler: never sent to anyone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comment {
    /// Stable id.
    pub id: CommentId,
    /// On which case.
    pub case_id: CaseId,
    /// Who wrote it.
    pub author: Actor,
    /// The note.
    pub body: Body,
    /// When.
    pub created_at: DateTime<Utc>,
}

closed_set! {
    /// The kinds of measures a helpline takes, so that actions can be counted.
    ActionKind, "action kind" {
        /// Regained control of an account.
        AccountRecovery = "account_recovery",
        /// Hardened an account (password, 2FA, sessions).
        AccountHardening = "account_hardening",
        /// Checked or cleaned a device.
        DeviceCheck = "device_check",
        /// Analysed a sample, a link, a message.
        Analysis = "analysis",
        /// Reported to a platform or provider.
        PlatformReport = "platform_report",
        /// Asked for a takedown.
        TakedownRequest = "takedown_request",
        /// Referred to a partner.
        Referral = "referral",
        /// Gave advice or guidance.
        Advice = "advice",
        /// Set up a tool or a service (VPN, DDoS protection, secure messaging).
        ServiceSetup = "service_setup",
        /// Anything else.
        Other = "other",
    }
}

/// A measure taken on a case ("reset the account password", "reported to platform X").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionTaken {
    /// Stable id.
    pub id: ActionId,
    /// On which case.
    pub case_id: CaseId,
    /// What kind of measure.
    pub kind: ActionKind,
    /// What exactly was done.
    pub description: Body,
    /// Who did it.
    pub performed_by: Actor,
    /// When it was done.
    pub performed_at: DateTime<Utc>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// A task that comes next on a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextStep {
    /// Stable id.
    pub id: NextStepId,
    /// On which case.
    pub case_id: CaseId,
    /// What to do.
    pub title: Title,
    /// Who should do it.
    pub assignee_id: Option<UserId>,
    /// By when.
    pub due_at: Option<DateTime<Utc>>,
    /// Whether it is done.
    pub done: bool,
    /// When it was done.
    pub done_at: Option<DateTime<Utc>>,
    /// Who did it.
    pub done_by: Option<Actor>,
    /// Who added it.
    pub created_by: Actor,
    /// Added.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl NextStep {
    /// Marks done or not done, stamping who and when.
    pub fn set_done(&mut self, done: bool, by: Actor, now: DateTime<Utc>) {
        if done == self.done {
            return;
        }
        self.done = done;
        if done {
            self.done_at = Some(now);
            self.done_by = Some(by);
        } else {
            self.done_at = None;
            self.done_by = None;
        }
    }
}

/// A party's involvement in a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseParty {
    /// The case.
    pub case_id: CaseId,
    /// The party.
    pub party_id: PartyId,
    /// Their part in it.
    pub role: PartyRole,
    /// Why they are involved.
    pub note: Note,
    /// Who involved them.
    pub added_by: Actor,
    /// When.
    pub added_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counterpart_reads_only_as_it_is_written() {
        let read = |j: &str| serde_json::from_str::<Counterpart>(j);
        assert_eq!(
            read(r#"{"kind":"beneficiary"}"#).ok(),
            Some(Counterpart::Beneficiary)
        );
        let id = PartyId::new();
        let party = Counterpart::Party { party_id: id };
        assert_eq!(
            read(&serde_json::to_string(&party).unwrap_or_default()).ok(),
            Some(party)
        );
        let with_party = format!(r#"{{"kind":"beneficiary","party_id":"{id}"}}"#);
        assert!(read(&with_party).is_err());
        assert!(read(r#"{"kind":"party"}"#).is_err());
        assert!(read(r#"{"kind":"beneficiary","extra":1}"#).is_err());
    }
}
