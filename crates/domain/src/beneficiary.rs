//! The beneficiary: the person or organisation the helpline helps, vetted before help is given.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::closed_set::closed_set;
use crate::ids::{BeneficiaryId, VerificationId};
use crate::taxonomy::TaxonomyTerm;
use crate::text::{Name, Note};
use crate::user::{Actor, Role};
use crate::DomainError;

/// An email address, kept as written but compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Checks RFC 5322 `addr-spec` syntax (no display name, no angle brackets).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        if t.len() > 254 {
            return Err(DomainError::invalid(
                "email address",
                "longer than 254 characters",
            ));
        }
        match email_address::EmailAddress::parse_with_options(
            t,
            email_address::Options::default().without_display_text(),
        ) {
            Ok(_) => Ok(Self(t.to_owned())),
            Err(e) => Err(DomainError::invalid(
                "email address",
                format!("`{}`: {e}", crate::ids::truncate(t)),
            )),
        }
    }
    /// As written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The form used for uniqueness and lookup: lower-cased.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> String {
        e.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

closed_set! {
    /// A way to reach a beneficiary other than email.
    ChannelKind, "contact channel" {
        /// Signal number or username.
        Signal = "signal",
        /// Phone number (calls, SMS).
        Phone = "phone",
        /// WhatsApp.
        Whatsapp = "whatsapp",
        /// Matrix ID.
        Matrix = "matrix",
        /// Telegram handle.
        Telegram = "telegram",
        /// Anything else, described in the value.
        Other = "other",
    }
}

/// A contact channel with its value (`+33 6 ...`, `@name:matrix.org`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactChannel {
    /// Which channel.
    pub kind: ChannelKind,
    /// The handle or number.
    pub value: Name,
}

/// An ISO 3166-1 alpha-2 country code, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(String);

impl CountryCode {
    /// Two ASCII letters, in either case.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let c = s.to_ascii_uppercase();
        if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(c))
        } else {
            Err(DomainError::invalid(
                "country",
                "expected an ISO 3166-1 alpha-2 code such as FR or BR",
            ))
        }
    }
    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CountryCode {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CountryCode> for String {
    fn from(c: CountryCode) -> String {
        c.0
    }
}

/// A BCP 47 language tag in its simple form (`fr`, `pt-BR`, `ar`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LanguageTag(String);

impl LanguageTag {
    /// A 2-3 letter language, optionally followed by `-` and 2-8 alphanumeric subtags.
    pub fn parse(t: &str) -> Result<Self, DomainError> {
        let mut parts = t.split('-');
        let lang_ok = parts.next().is_some_and(|l| {
            (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic())
        });
        let rest_ok = parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if lang_ok && rest_ok && t.len() <= 35 {
            Ok(Self(t.to_owned()))
        } else {
            Err(DomainError::invalid(
                "preferred language",
                "expected a language tag such as fr, es or pt-BR",
            ))
        }
    }
    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LanguageTag {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<LanguageTag> for String {
    fn from(c: LanguageTag) -> String {
        c.0
    }
}

closed_set! {
    /// Whether the helpline has vetted who the beneficiary is.
    VerificationStatus, "verification status" {
        /// Not vetted yet: help may be limited.
        Unverified = "unverified",
        /// Vetted: they are who they say and within the helpline's mandate.
        Verified = "verified",
        /// Vetting failed or out of mandate.
        Rejected = "rejected",
    }
}

closed_set! {
    /// How the vetting was done.
    VerificationMethod, "verification method" {
        /// Works for an organisation the helpline knows.
        KnownOrganisation = "known_organisation",
        /// A trusted partner vouched for them (name the partner in `vouched_by`).
        TrustedPartner = "trusted_partner",
        /// Met or checked in person / on a verified call.
        InPerson = "in_person",
        /// Anything else, explained in the note.
        Other = "other",
    }
}

/// One vetting decision, kept forever in the beneficiary's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// Stable id.
    pub id: VerificationId,
    /// Whose vetting.
    pub beneficiary_id: BeneficiaryId,
    /// The decision.
    pub status: VerificationStatus,
    /// How it was reached.
    pub method: Option<VerificationMethod>,
    /// Who vouched (partner organisation, person).
    pub vouched_by: Option<Name>,
    /// Free note.
    pub note: Note,
    /// Who decided.
    pub decided_by: Actor,
    /// When.
    pub decided_at: DateTime<Utc>,
}

/// A vetting decision as asked for, before it is checked against the rules.
#[derive(Debug, Clone)]
pub struct VerificationRequest {
    /// The decision.
    pub status: VerificationStatus,
    /// How it was reached.
    pub method: Option<VerificationMethod>,
    /// Who vouched.
    pub vouched_by: Option<Name>,
    /// Free note.
    pub note: Note,
}

impl VerificationRequest {
    /// The vetting rules: a verification says how it was done, a vouch says who vouched, and
    /// only a lead (or admin) may turn a rejection around.
    pub fn check(&self, current: VerificationStatus, role: Role) -> Result<(), DomainError> {
        if self.status == VerificationStatus::Verified && self.method.is_none() {
            return Err(DomainError::invalid(
                "method",
                "a verification must say how it was done",
            ));
        }
        if self.method == Some(VerificationMethod::TrustedPartner) && self.vouched_by.is_none() {
            return Err(DomainError::invalid(
                "vouched_by",
                "a vouch by a trusted partner must name the partner",
            ));
        }
        if current == VerificationStatus::Rejected
            && self.status != VerificationStatus::Rejected
            && !matches!(role, Role::Lead | Role::Admin)
        {
            return Err(DomainError::NotAllowed(
                "only a lead may reverse the rejection of a beneficiary".into(),
            ));
        }
        Ok(())
    }
}

/// A beneficiary record, reused across their cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Beneficiary {
    /// Stable id.
    pub id: BeneficiaryId,
    /// Name as they gave it (may be a pseudonym).
    pub name: Name,
    /// Email addresses; unique across beneficiaries, case-insensitively.
    pub emails: Vec<EmailAddress>,
    /// Other ways to reach them.
    pub channels: Vec<ContactChannel>,
    /// Language to answer in.
    pub preferred_language: Option<LanguageTag>,
    /// Organisation they belong to, if any.
    pub organisation: Option<Name>,
    /// Country they work from.
    pub country: Option<CountryCode>,
    /// Audience type (configurable taxonomy): journalist, human-rights defender, ...
    pub audience: Option<TaxonomyTerm>,
    /// Current vetting status (the latest decision).
    pub verification: VerificationStatus,
    /// Internal notes about the person (not about a case).
    pub notes: Note,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_parse_and_normalise() {
        let e = EmailAddress::parse(" Ana@Example.ORG ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.as_str(), "Ana@Example.ORG");
        assert_eq!(e.normalized(), "ana@example.org");
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.org",
            "Ana <ana@example.org>",
            "a b@c.d",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vetting_rules() {
        let req = |status, method, vouched_by: Option<&str>| VerificationRequest {
            status,
            method,
            vouched_by: vouched_by.map(|v| Name::parse(v).unwrap_or_else(|e| panic!("{e}"))),
            note: Note::parse("").unwrap_or_else(|e| panic!("{e}")),
        };
        use VerificationMethod as M;
        use VerificationStatus as S;
        assert!(req(S::Verified, None, None)
            .check(S::Unverified, Role::Handler)
            .is_err());
        assert!(req(S::Verified, Some(M::TrustedPartner), None)
            .check(S::Unverified, Role::Handler)
            .is_err());
        assert!(
            req(S::Verified, Some(M::TrustedPartner), Some("Access Now"))
                .check(S::Unverified, Role::Handler)
                .is_ok()
        );
        assert!(req(S::Verified, Some(M::InPerson), None)
            .check(S::Rejected, Role::Handler)
            .is_err());
        assert!(req(S::Verified, Some(M::InPerson), None)
            .check(S::Rejected, Role::Lead)
            .is_ok());
        assert!(req(S::Rejected, None, None)
            .check(S::Verified, Role::Handler)
            .is_ok());
    }

    #[test]
    fn countries_and_languages() {
        assert_eq!(CountryCode::parse("fr").map(|c| c.0), Ok("FR".into()));
        assert!(CountryCode::parse("FRA").is_err());
        // Exactly the spec's pattern: no spaces around the code.
        assert!(CountryCode::parse(" FR").is_err());
        assert!(LanguageTag::parse("pt-BR").is_ok());
        assert!(LanguageTag::parse("french!").is_err());
    }
}
