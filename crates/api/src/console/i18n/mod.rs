//! The console's words in English, French and Spanish: one struct of texts per language, so a
//! template that names a text every language lacks does not compile.

mod en;
mod es;
mod fr;

use en::EN;
use es::ES;
use fr::FR;
use helpline_domain::beneficiary::VerificationStatus;
use helpline_domain::case::{CaseStatus, Impact, Urgency};

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// French.
    Fr,
    /// Spanish.
    Es,
}

impl Lang {
    /// Every language, in the order the switcher shows them.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::Es];

    /// From a tag (`fr`, `es-AR`, …); `None` for a language the console does not speak.
    pub fn parse(tag: &str) -> Option<Lang> {
        match tag.trim().get(..2)?.to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            "es" => Some(Lang::Es),
            _ => None,
        }
    }

    /// The first spoken language of an `Accept-Language` header, by its order of preference.
    pub fn negotiate(header: &str) -> Option<Lang> {
        let mut tags: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1.0);
                Some((q, tag))
            })
            .collect();
        tags.sort_by(|a, b| b.0.total_cmp(&a.0));
        tags.into_iter().find_map(|(_, t)| Lang::parse(t))
    }

    /// The BCP 47 code (`<html lang>`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Es => "es",
        }
    }

    /// Its own name for itself.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Es => "Español",
        }
    }

    /// The texts.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Fr => &FR,
            Lang::Es => &ES,
        }
    }
}

/// Every text of the console in one language (the field names say what each is for).
#[derive(Debug)]
#[allow(missing_docs)]
pub struct Texts {
    pub skip: &'static str,
    pub sign_in: &'static str,
    pub sign_in_lead: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub code: &'static str,
    pub code_hint: &'static str,
    pub sign_out: &'static str,
    pub signed_in_as: &'static str,
    pub wrong: &'static str,
    pub paused: &'static str,
    pub expired_form: &'static str,
    pub needs_factor: &'static str,
    pub queue: &'static str,
    pub views: &'static str,
    pub view_open: &'static str,
    pub view_mine: &'static str,
    pub view_unassigned: &'static str,
    pub view_waiting: &'static str,
    pub view_critical: &'static str,
    pub search: &'static str,
    pub search_go: &'static str,
    pub no_cases: &'static str,
    pub more: &'static str,
    pub reference: &'static str,
    pub summary: &'static str,
    pub status: &'static str,
    pub priority: &'static str,
    pub urgency: &'static str,
    pub assignee: &'static str,
    pub nobody: &'static str,
    pub due: &'static str,
    pub late: &'static str,
    pub first_response: &'static str,
    pub resolution: &'static str,
    pub confidential: &'static str,
    pub opened: &'static str,
    pub service: &'static str,
    pub beneficiary: &'static str,
    pub timeline: &'static str,
    pub nothing_yet: &'static str,
    pub older: &'static str,
    pub kind_message: &'static str,
    pub kind_comment: &'static str,
    pub kind_action: &'static str,
    pub kind_next_step: &'static str,
    pub kind_party: &'static str,
    pub kind_handoff: &'static str,
    pub kind_audit: &'static str,
    pub inbound: &'static str,
    pub outbound: &'static str,
    pub not_found: &'static str,
    pub forbidden: &'static str,
    pub conflict: &'static str,
    pub failed: &'static str,
    pub back: &'static str,
    pub language: &'static str,
    pub new_case: &'static str,
    pub new_case_lead: &'static str,
    pub person: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub audience: &'static str,
    pub request: &'static str,
    pub description: &'static str,
    pub impact: &'static str,
    pub priority_matrix: &'static str,
    pub confidential_hint: &'static str,
    pub open_case: &'static str,
    pub fix_fields: &'static str,
    pub referred: &'static str,
    pub choose: &'static str,
    pub change_status: &'static str,
    pub save: &'static str,
    pub back_to_case: &'static str,
    pub nav_escalations: &'static str,
    pub nav_quarantine: &'static str,
    pub nav_workload: &'static str,
    pub nav_stats: &'static str,
    pub nav_security: &'static str,
    pub vetting: &'static str,
    pub certificates: &'static str,
    pub no_certificates: &'static str,
    pub cert_confirmed: &'static str,
    pub cert_unconfirmed: &'static str,
    pub cert_unusable: &'static str,
    pub add_certificate: &'static str,
    pub armored: &'static str,
    pub cert_confirm_label: &'static str,
    pub write: &'static str,
    pub reply: &'static str,
    pub outlook_encrypted: &'static str,
    pub outlook_signed: &'static str,
    pub outlook_refused: &'static str,
    pub outlook_none: &'static str,
    pub subject: &'static str,
    pub text: &'static str,
    pub send: &'static str,
    pub record_message: &'static str,
    pub direction: &'static str,
    pub channel: &'static str,
    pub record: &'static str,
    pub add_comment: &'static str,
    pub add: &'static str,
    pub record_action: &'static str,
    pub action_kind: &'static str,
    pub add_next_step: &'static str,
    pub title: &'static str,
    pub hand_off: &'static str,
    pub hand_to: &'static str,
    pub handoff_note: &'static str,
    pub badge_decrypted: &'static str,
    pub badge_plain: &'static str,
    pub badge_good: &'static str,
    pub badge_bad: &'static str,
    pub badge_unknown: &'static str,
    pub badge_expired: &'static str,
    pub badge_revoked: &'static str,
    pub badge_unsigned: &'static str,
    pub indicators: &'static str,
    pub no_indicators: &'static str,
    pub add_indicator: &'static str,
    pub value: &'static str,
    pub state: &'static str,
    pub held_by: &'static str,
    pub related: &'static str,
    pub related_lead: &'static str,
    pub no_related: &'static str,
    pub path: &'static str,
    pub score: &'static str,
    pub escalations_lead: &'static str,
    pub why: &'static str,
    pub acknowledge: &'static str,
    pub acknowledged: &'static str,
    pub quarantine_waiting: &'static str,
    pub quarantine_lead: &'static str,
    pub received: &'static str,
    pub reason: &'static str,
    pub size: &'static str,
    pub open_message: &'static str,
    pub raw_message: &'static str,
    pub assign_to_case: &'static str,
    pub assign: &'static str,
    pub retry: &'static str,
    pub empty_quarantine: &'static str,
    pub workload_lead: &'static str,
    pub person_col: &'static str,
    pub open_cases: &'static str,
    pub weighted: &'static str,
    pub on_duty: &'static str,
    pub reads: &'static str,
    pub reads_lead: &'static str,
    pub when: &'static str,
    pub what: &'static str,
    pub stats_lead: &'static str,
    pub download_csv: &'static str,
    pub opened_count: &'static str,
    pub resolved_count: &'static str,
    pub by_service: &'static str,
    pub count: &'static str,
    pub factor_lead: &'static str,
    pub factor_on: &'static str,
    pub factor_start: &'static str,
    pub factor_secret: &'static str,
    pub factor_confirm: &'static str,
    pub recovery_codes: &'static str,
    pub live_update: &'static str,
    pub reload: &'static str,
    pub done: &'static str,
    pub impacts: [&'static str; 3],
    pub edit_case: &'static str,
    pub tags: &'static str,
    pub analysis: &'static str,
    pub merged_into: &'static str,
    pub judge: &'static str,
    pub confirm: &'static str,
    pub reject: &'static str,
    pub evidence: &'static str,
    pub no_evidence: &'static str,
    pub custody: &'static str,
    pub links: &'static str,
    pub no_links: &'static str,
    pub unlink: &'static str,
    pub case_number: &'static str,
    pub link: &'static str,
    pub merge: &'static str,
    pub merge_into: &'static str,
    pub unmerge: &'static str,
    pub share: &'static str,
    pub share_lead: &'static str,
    pub find_indicators: &'static str,
    pub roster: &'static str,
    pub auto_assign: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub no_shifts: &'static str,
    pub from: &'static str,
    pub until: &'static str,
    pub away: &'static str,
    pub shift: &'static str,
    pub as_of: &'static str,
    pub look_further: &'static str,
    pub one_step: &'static str,
    pub verifications: [&'static str; 3],
    pub attentions: [&'static str; 7],
    pub statuses: [&'static str; 6],
    pub urgencies: [&'static str; 4],
}

impl Texts {
    /// A status in words.
    pub fn status(&self, s: &CaseStatus) -> &'static str {
        self.statuses[match s {
            CaseStatus::New => 0,
            CaseStatus::Open => 1,
            CaseStatus::Pending => 2,
            CaseStatus::Resolved => 3,
            CaseStatus::Closed => 4,
            CaseStatus::Rejected => 5,
        }]
    }

    /// An impact in words.
    pub fn impact_name(&self, i: &Impact) -> &'static str {
        self.impacts[match i {
            Impact::Low => 0,
            Impact::Medium => 1,
            Impact::High => 2,
        }]
    }

    /// A beneficiary's vetting in words.
    pub fn verification(&self, v: &VerificationStatus) -> &'static str {
        self.verifications[match v {
            VerificationStatus::Unverified => 0,
            VerificationStatus::Verified => 1,
            VerificationStatus::Rejected => 2,
        }]
    }

    /// An urgency in words.
    pub fn urgency_name(&self, u: &Urgency) -> &'static str {
        self.urgencies[match u {
            Urgency::Low => 0,
            Urgency::Medium => 1,
            Urgency::High => 2,
            Urgency::Critical => 3,
        }]
    }
}
