//! The audit trail's hash chain.
//!
//! Every change is an event; each event's hash covers its own content and the hash of the
//! event before it, so editing, inserting or deleting an event anywhere breaks every hash after
//! it. Evidence handed to a court can then be shown untouched since it was recorded.

use sha2::{Digest, Sha256};

crate::closed_set::closed_set! {
    /// What an audit event records: `entity.verb`, one per kind of change.
    AuditAction, "audit action" {
        /// `action.create`.
        ActionCreate = "action.create",
        /// `beneficiary.anonymize`.
        BeneficiaryAnonymize = "beneficiary.anonymize",
        /// `beneficiary.create`.
        BeneficiaryCreate = "beneficiary.create",
        /// `beneficiary.export`.
        BeneficiaryExport = "beneficiary.export",
        /// `beneficiary.mail_policy`.
        BeneficiaryMailPolicy = "beneficiary.mail_policy",
        /// `beneficiary.update`.
        BeneficiaryUpdate = "beneficiary.update",
        /// `beneficiary.verify`.
        BeneficiaryVerify = "beneficiary.verify",
        /// `case.anonymize`.
        CaseAnonymize = "case.anonymize",
        /// `beneficiary.read`: the record of a person with a confidential case read (access log).
        BeneficiaryRead = "beneficiary.read",
        /// `case.read`: a confidential case or one of its parts read (access log).
        CaseRead = "case.read",
        /// `case.auto_assign`.
        CaseAutoAssign = "case.auto_assign",
        /// `case.create`.
        CaseCreate = "case.create",
        /// `case.export`.
        CaseExport = "case.export",
        /// `case.first_response`.
        CaseFirstResponse = "case.first_response",
        /// `case.grant_access`.
        CaseGrantAccess = "case.grant_access",
        /// `case.handoff`.
        CaseHandoff = "case.handoff",
        /// `case.mail_policy`.
        CaseMailPolicy = "case.mail_policy",
        /// `case.merge`.
        CaseMerge = "case.merge",
        /// `case.revoke_access`.
        CaseRevokeAccess = "case.revoke_access",
        /// `case.sla_breach`.
        CaseSlaBreach = "case.sla_breach",
        /// `case.unmerge`.
        CaseUnmerge = "case.unmerge",
        /// `case.update`.
        CaseUpdate = "case.update",
        /// `case_indicator.create`.
        CaseIndicatorCreate = "case_indicator.create",
        /// `case_indicator.delete`.
        CaseIndicatorDelete = "case_indicator.delete",
        /// `case_indicator.update`.
        CaseIndicatorUpdate = "case_indicator.update",
        /// `case_link.create`.
        CaseLinkCreate = "case_link.create",
        /// `case_link.delete`.
        CaseLinkDelete = "case_link.delete",
        /// `case_party.create`.
        CasePartyCreate = "case_party.create",
        /// `certificate.create`.
        CertificateCreate = "certificate.create",
        /// `certificate.update`.
        CertificateUpdate = "certificate.update",
        /// `comment.create`.
        CommentCreate = "comment.create",
        /// `demo.seed`.
        DemoSeed = "demo.seed",
        /// `evidence.create`.
        EvidenceCreate = "evidence.create",
        /// `evidence.verify`.
        EvidenceVerify = "evidence.verify",
        /// `mail.assign`.
        MailAssign = "mail.assign",
        /// `mail.quarantine`.
        MailQuarantine = "mail.quarantine",
        /// `mail.retry`.
        MailRetry = "mail.retry",
        /// `mail.retry_failed`.
        MailRetryFailed = "mail.retry_failed",
        /// `message.create`.
        MessageCreate = "message.create",
        /// `message.delivery`.
        MessageDelivery = "message.delivery",
        /// `message.reverify`.
        MessageReverify = "message.reverify",
        /// `next_step.create`.
        NextStepCreate = "next_step.create",
        /// `next_step.update`.
        NextStepUpdate = "next_step.update",
        /// `party.create`.
        PartyCreate = "party.create",
        /// `party.update`.
        PartyUpdate = "party.update",
        /// `retention.apply`.
        RetentionApply = "retention.apply",
        /// `roster.absence_add`.
        RosterAbsenceAdd = "roster.absence_add",
        /// `roster.absence_remove`.
        RosterAbsenceRemove = "roster.absence_remove",
        /// `roster.auto_assign`.
        RosterAutoAssign = "roster.auto_assign",
        /// `roster.shift_add`.
        RosterShiftAdd = "roster.shift_add",
        /// `roster.shift_remove`.
        RosterShiftRemove = "roster.shift_remove",
        /// `token.create`.
        TokenCreate = "token.create",
        /// `token.revoke`.
        TokenRevoke = "token.revoke",
        /// `second_factor.enrol`: a member of staff confirmed an authenticator.
        SecondFactorEnrol = "second_factor.enrol",
        /// `second_factor.remove`: a member of staff removed theirs.
        SecondFactorRemove = "second_factor.remove",
        /// `second_factor.recovery`: a recovery code was used (and is spent).
        SecondFactorRecovery = "second_factor.recovery",
        /// `session.cutoff`: every access token of an account issued so far refused.
        SessionCutoff = "session.cutoff",
        /// `session.revoke`: a staff access token given up (logout).
        SessionRevoke = "session.revoke",
        /// `user.create`.
        UserCreate = "user.create",
        /// `user.update`.
        UserUpdate = "user.update",
    }
}

/// The hash that precedes the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an event that its hash covers, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedFields<'a> {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// Event id.
    pub id: &'a str,
    /// RFC 3339 timestamp, microsecond precision, UTC.
    pub occurred_at: &'a str,
    /// `user:<id>`, `token:<id>` or `system`.
    pub actor: &'a str,
    /// What happened (`case.create`, `case.update`, ...).
    pub action: &'a str,
    /// The kind of entity changed.
    pub entity_type: &'a str,
    /// Its id.
    pub entity_id: &'a str,
    /// The case it belongs to, if any.
    pub case_id: Option<&'a str>,
    /// What changed, as JSON text.
    pub changes: &'a str,
}

/// The hash of an event given the hash of the one before it: hex SHA-256 over the previous
/// hash and each field, each prefixed by its length so that no two field lists collide.
pub fn chain_hash(prev_hash: &str, f: &ChainedFields<'_>) -> String {
    let mut h = Sha256::new();
    let seq = f.seq.to_string();
    let case_id = f.case_id.unwrap_or("");
    for part in [
        prev_hash,
        &seq,
        f.id,
        f.occurred_at,
        f.actor,
        f.action,
        f.entity_type,
        f.entity_id,
        case_id,
        f.changes,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Where a chain stops being intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The event at `seq` does not hash to what it says: it was altered.
    Altered {
        /// Position.
        seq: i64,
    },
    /// The event at `seq` does not follow the one before: something was inserted or deleted.
    Broken {
        /// Position.
        seq: i64,
        /// What was expected there.
        expected_seq: i64,
    },
    /// The last events were removed: the chain ends before the recorded head.
    Truncated {
        /// The last event present.
        last_seq: i64,
        /// The head recorded separately.
        head_seq: i64,
    },
}

/// Checks a chain one event at a time, in `seq` order, so that millions of events can be
/// verified without holding them all.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev: GENESIS.to_owned(),
        }
    }
}

impl ChainVerifier {
    /// Checks the next event: it must follow the previous one and hash to what it says.
    pub fn next(
        &mut self,
        fields: &ChainedFields<'_>,
        prev_hash: &str,
        hash: &str,
    ) -> Result<(), ChainBreak> {
        if fields.seq != self.expected_seq || prev_hash != self.prev {
            return Err(ChainBreak::Broken {
                seq: fields.seq,
                expected_seq: self.expected_seq,
            });
        }
        if chain_hash(prev_hash, fields) != hash {
            return Err(ChainBreak::Altered { seq: fields.seq });
        }
        hash.clone_into(&mut self.prev);
        self.expected_seq += 1;
        Ok(())
    }

    /// Compares the end of the chain with the separately recorded head `(seq, hash)`; returns
    /// the number of events checked.
    pub fn finish(self, head: (i64, &str)) -> Result<i64, ChainBreak> {
        let last = self.expected_seq - 1;
        if last != head.0 || (last > 0 && self.prev != head.1) {
            return Err(ChainBreak::Truncated {
                last_seq: last,
                head_seq: head.0,
            });
        }
        Ok(last)
    }
}

/// Walks events in `seq` order and checks every link. `events` yields
/// `(fields, prev_hash, hash)`; `head` is the separately recorded (seq, hash) of the last event.
pub fn verify_chain<'a>(
    events: impl IntoIterator<Item = (ChainedFields<'a>, &'a str, &'a str)>,
    head: (i64, &str),
) -> Result<i64, ChainBreak> {
    let mut v = ChainVerifier::default();
    for (fields, prev_hash, hash) in events {
        v.next(&fields, prev_hash, hash)?;
    }
    v.finish(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(seq: i64, changes: &str) -> ChainedFields<'_> {
        ChainedFields {
            seq,
            id: "e",
            occurred_at: "2026-01-01T00:00:00.000000Z",
            actor: "system",
            action: "case.create",
            entity_type: "case",
            entity_id: "c",
            case_id: Some("c"),
            changes,
        }
    }

    #[test]
    fn a_chain_verifies_and_any_change_breaks_it() {
        let h1 = chain_hash(GENESIS, &fields(1, "{}"));
        let h2 = chain_hash(&h1, &fields(2, "{\"a\":1}"));
        let ok = vec![
            (fields(1, "{}"), GENESIS, h1.as_str()),
            (fields(2, "{\"a\":1}"), h1.as_str(), h2.as_str()),
        ];
        assert_eq!(verify_chain(ok.clone(), (2, &h2)), Ok(2));

        let mut altered = ok.clone();
        altered[1].0.changes = "{\"a\":2}";
        assert_eq!(
            verify_chain(altered, (2, &h2)),
            Err(ChainBreak::Altered { seq: 2 })
        );

        let deleted = vec![ok[1].clone()];
        assert_eq!(
            verify_chain(deleted, (2, &h2)),
            Err(ChainBreak::Broken {
                seq: 2,
                expected_seq: 1
            })
        );

        let truncated = vec![ok[0].clone()];
        assert_eq!(
            verify_chain(truncated, (2, &h2)),
            Err(ChainBreak::Truncated {
                last_seq: 1,
                head_seq: 2
            })
        );
        assert_eq!(verify_chain(Vec::new(), (0, GENESIS)), Ok(0));
    }

    #[test]
    fn field_boundaries_matter() {
        let mut a = fields(1, "{}");
        let mut b = fields(1, "{}");
        a.action = "ab";
        a.entity_type = "c";
        b.action = "a";
        b.entity_type = "bc";
        assert_ne!(chain_hash(GENESIS, &a), chain_hash(GENESIS, &b));
    }
}
