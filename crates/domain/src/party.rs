//! Other parties: intermediaries, platforms, companies and partner organisations.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::beneficiary::EmailAddress;
use crate::closed_set::closed_set;
use crate::ids::PartyId;
use crate::text::{Name, Note};

closed_set! {
    /// What kind of party this is in the directory.
    PartyKind, "party kind" {
        /// An online platform (trust & safety desks).
        Platform = "platform",
        /// A company (ISP, hosting provider, vendor).
        Company = "company",
        /// A partner organisation (CiviCERT member, legal aid, shelter).
        PartnerOrganisation = "partner_organisation",
        /// A person or group who put the beneficiary in touch.
        Intermediary = "intermediary",
        /// A public authority.
        Authority = "authority",
        /// A private person.
        Person = "person",
        /// Anything else.
        Other = "other",
    }
}

closed_set! {
    /// The part a party plays in one case.
    PartyRole, "party role" {
        /// Brought the beneficiary to the helpline or relays messages.
        Intermediary = "intermediary",
        /// Contacted to escalate (platform, provider).
        EscalationTarget = "escalation_target",
        /// The case was referred to them.
        ReferralPartner = "referral_partner",
        /// Anything else, explained in the note.
        Other = "other",
    }
}

/// A party in the contact directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Party {
    /// Stable id.
    pub id: PartyId,
    /// Name.
    pub name: Name,
    /// Kind.
    pub kind: PartyKind,
    /// Email addresses.
    pub emails: Vec<EmailAddress>,
    /// Phone, website, escalation form: free text.
    pub contact: Note,
    /// Notes (escalation channel, what they can and cannot do).
    pub notes: Note,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}
