//! Who may do what: the permission matrix, as plain functions.
//!
//! Least privilege: a role gets what its work needs and nothing else. Analysts read and
//! annotate but do not run the case; handlers run cases but do not see confidential ones that
//! are not theirs; leads see everything and decide priorities; admins run the installation;
//! integrations act only within the scopes of their token.
//!
//! Visibility of a confidential case is a separate question from permissions, answered by
//! [`can_see_case`]: a case one may not see does not exist for them (404, not 403).

use serde::Serialize;

use crate::closed_set::closed_set;
use crate::ids::UserId;
use crate::user::{Actor, Role, Scope};

closed_set! {
    /// Something a caller may be allowed to do.
    Permission, "permission" {
        /// List and read cases (subject to confidentiality).
        ReadCases = "read_cases",
        /// Open a case.
        CreateCase = "create_case",
        /// Change a case's fields and status.
        UpdateCase = "update_case",
        /// Assign a case to someone (hand-off).
        AssignCase = "assign_case",
        /// Override the derived priority.
        OverridePriority = "override_priority",
        /// Mark a case confidential or not, and grant others access to it.
        ManageConfidentiality = "manage_confidentiality",
        /// See every confidential case.
        SeeAllConfidential = "see_all_confidential",
        /// Record messages exchanged with the beneficiary or other parties.
        RecordMessage = "record_message",
        /// Record actions taken.
        RecordAction = "record_action",
        /// Write internal comments.
        Comment = "comment",
        /// Add and update next steps.
        ManageNextSteps = "manage_next_steps",
        /// Involve other parties in a case.
        LinkParty = "link_party",
        /// Read beneficiaries.
        ReadBeneficiaries = "read_beneficiaries",
        /// Create and edit beneficiaries.
        WriteBeneficiaries = "write_beneficiaries",
        /// Record a vetting decision.
        VerifyBeneficiary = "verify_beneficiary",
        /// Turn a rejected beneficiary into an accepted one.
        ReverseRejection = "reverse_rejection",
        /// Read the directory of other parties.
        ReadParties = "read_parties",
        /// Edit the directory of other parties.
        WriteParties = "write_parties",
        /// List colleagues (to assign, to hand off).
        ReadUsers = "read_users",
        /// Create, change and deactivate accounts.
        ManageUsers = "manage_users",
        /// Create and revoke integration tokens.
        ManageTokens = "manage_tokens",
        /// Read the audit trail of cases one can see.
        ReadAudit = "read_audit",
        /// Post inbound mail.
        IngestMail = "ingest_mail",
        /// See the mail quarantine, retry or assign what is in it.
        ManageQuarantine = "manage_quarantine",
        /// Read indicators, the cases holding them and the cases related through them.
        ReadIndicators = "read_indicators",
        /// Add, confirm, reject and remove indicators on cases.
        ManageIndicators = "manage_indicators",
        /// Link cases to each other.
        LinkCases = "link_cases",
        /// Add evidence and verify it.
        ManageEvidence = "manage_evidence",
        /// Merge a case into another, and undo it.
        MergeCases = "merge_cases",
        /// Export a case's shareable indicators (MISP, STIX).
        ShareIntel = "share_intel",
        /// See who is on duty and who is away.
        ReadRoster = "read_roster",
        /// Set the duty roster, absences and auto-assignment.
        ManageRoster = "manage_roster",
        /// See every handler's caseload, the escalation queue and the access log.
        Oversee = "oversee",
        /// Read the statistics (JSON and CSV).
        ReadStats = "read_stats",
        /// Acknowledge escalations and put cases under legal hold.
        LeadCases = "lead_cases",
        /// Give a beneficiary everything held about them (data-protection export).
        ExportBeneficiary = "export_beneficiary",
    }
}

/// Whether a staff role grants `p`. Integrations are decided by scope, see [`permits`].
///
/// Roles are built from kinds of work: every member of staff reads, annotates and analyses the
/// cases they can see; handlers also run cases with the people behind them; analysts share
/// intelligence outside; leads do both and oversee; admins also run the installation.
pub fn role_permits(role: Role, p: Permission) -> bool {
    use Permission::*;
    let staff = matches!(
        p,
        ReadCases
            | RecordAction
            | Comment
            | ManageNextSteps
            | ReadBeneficiaries
            | ReadParties
            | WriteParties
            | ReadUsers
            | ReadAudit
            | ReadIndicators
            | ManageIndicators
            | LinkCases
            | ManageEvidence
            | ReadRoster
    );
    let casework = matches!(
        p,
        CreateCase
            | UpdateCase
            | AssignCase
            | RecordMessage
            | LinkParty
            | WriteBeneficiaries
            | VerifyBeneficiary
            | MergeCases
    );
    let intelligence = p == ShareIntel;
    let leading = matches!(
        p,
        OverridePriority
            | ManageConfidentiality
            | SeeAllConfidential
            | ReverseRejection
            | ManageQuarantine
            | ManageRoster
            | Oversee
            | ReadStats
            | LeadCases
            | ExportBeneficiary
    );
    let administering = matches!(p, ManageUsers | ManageTokens);
    match role {
        Role::Handler => staff || casework,
        Role::Analyst => staff || intelligence,
        Role::Lead => staff || casework || intelligence || leading,
        Role::Admin => staff || casework || intelligence || leading || administering,
        Role::Integration => false,
    }
}

/// Whether an integration token's scopes grant `p`.
pub fn scope_permits(scopes: &[Scope], p: Permission) -> bool {
    use Permission::*;
    scopes.iter().any(|s| match s {
        Scope::MailIngest => matches!(p, IngestMail),
        Scope::CasesRead => matches!(p, ReadCases | ReadBeneficiaries),
        Scope::CasesWrite => matches!(
            p,
            ReadCases | CreateCase | RecordMessage | ReadBeneficiaries | WriteBeneficiaries
        ),
        Scope::AnalysisRead => matches!(p, ReadIndicators),
        Scope::ExportsRead => matches!(p, ShareIntel | ReadStats),
    })
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// Who, for the audit trail.
    pub actor: Actor,
    /// Their role (`integration` for tokens).
    pub role: Role,
    /// A token's scopes; empty for people.
    pub scopes: Vec<Scope>,
}

impl Principal {
    /// Whether this caller may do `p`.
    pub fn may(&self, p: Permission) -> bool {
        permits(self.role, &self.scopes, p)
    }
}

/// The whole matrix: role, or scopes for integrations.
pub fn permits(role: Role, scopes: &[Scope], p: Permission) -> bool {
    match role {
        Role::Integration => scope_permits(scopes, p),
        staff => role_permits(staff, p),
    }
}

/// What decides whether a caller may see a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseVisibility {
    /// The case is confidential.
    pub confidential: bool,
    /// Its assignee.
    pub assignee: Option<UserId>,
    /// The caller was granted access to it.
    pub granted: bool,
}

/// Whether `who` may see a case: ordinary cases are seen by all; a confidential case by its
/// assignee, users granted access, and leads and admins. What the caller may do with a case
/// it sees (read it, or only its indicators, or only its export) is the route's permission.
pub fn can_see_case(who: &Principal, case: CaseVisibility) -> bool {
    if !case.confidential {
        return true;
    }
    if who.may(Permission::SeeAllConfidential) {
        return true;
    }
    match who.actor.user_id() {
        Some(me) => case.assignee == Some(me) || case.granted,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    /// The matrix as written in `access_matrix.txt`: one row per permission, one column per role.
    fn expected(role: Role) -> Vec<Permission> {
        let column = Role::ALL
            .iter()
            .position(|&r| r == role)
            .unwrap_or_else(|| panic!("{role} is not in Role::ALL"))
            + 1;
        include_str!("access_matrix.txt")
            .lines()
            .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let cells: Vec<&str> = l.split_whitespace().collect();
                let p = Permission::parse(cells[0]).unwrap_or_else(|e| panic!("{e}"));
                (cells[column] == "x").then_some(p)
            })
            .collect()
    }

    #[test]
    fn matrix_is_exhaustively_as_written() {
        for &role in Role::ALL {
            for &p in Permission::ALL {
                assert_eq!(
                    permits(role, &[], p),
                    expected(role).contains(&p),
                    "{role} / {p}"
                );
            }
        }
    }

    #[test]
    fn integrations_get_only_their_scopes() {
        let all: Vec<Scope> = Scope::ALL.to_vec();
        for &p in Permission::ALL {
            let by_scope = matches!(
                p,
                IngestMail
                    | ReadCases
                    | CreateCase
                    | RecordMessage
                    | ReadBeneficiaries
                    | WriteBeneficiaries
                    | ReadIndicators
                    | ShareIntel
                    | ReadStats
            );
            assert_eq!(permits(Role::Integration, &all, p), by_scope, "{p}");
        }
        assert!(permits(Role::Integration, &[Scope::MailIngest], IngestMail));
        assert!(!permits(Role::Integration, &[Scope::MailIngest], ReadCases));
        // A MISP sync reads indicators and exports; it never reads a case's content.
        let sync = [Scope::AnalysisRead, Scope::ExportsRead];
        assert!(permits(Role::Integration, &sync, ReadIndicators));
        assert!(permits(Role::Integration, &sync, ShareIntel));
        assert!(!permits(Role::Integration, &sync, ReadCases));
        assert!(!permits(Role::Integration, &sync, ReadBeneficiaries));
        // Scopes never widen a staff role.
        assert!(!permits(Role::Analyst, &all, IngestMail));
    }

    #[test]
    fn confidential_cases_are_seen_only_by_those_entitled() {
        let alice = UserId::new();
        let bob = UserId::new();
        let who = |role, id: UserId| Principal {
            actor: Actor::User(id),
            role,
            scopes: vec![],
        };
        let conf = |assignee, granted| CaseVisibility {
            confidential: true,
            assignee,
            granted,
        };
        assert!(can_see_case(
            &who(Role::Handler, alice),
            conf(Some(alice), false)
        ));
        assert!(!can_see_case(
            &who(Role::Handler, bob),
            conf(Some(alice), false)
        ));
        assert!(can_see_case(
            &who(Role::Analyst, bob),
            conf(Some(alice), true)
        ));
        assert!(can_see_case(&who(Role::Lead, bob), conf(None, false)));
        assert!(can_see_case(&who(Role::Admin, bob), conf(None, false)));
        let token = Principal {
            actor: Actor::System,
            role: Role::Integration,
            scopes: vec![Scope::CasesRead],
        };
        assert!(!can_see_case(&token, conf(None, false)));
        assert!(can_see_case(
            &token,
            CaseVisibility {
                confidential: false,
                assignee: None,
                granted: false
            }
        ));
    }
}
