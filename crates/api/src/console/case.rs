//! A case's page: its record, its timeline, moving it on.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use helpline_domain::access::Permission;
use helpline_domain::case::{Case, Impact, Urgency};
use helpline_domain::ids::UserId;
use helpline_domain::log::{ActionKind, Channel};
use helpline_domain::mail::{DecryptionStatus, EmailDetails, SignatureStatus};
use helpline_domain::user::Actor;
use helpline_store::analysis;
use helpline_store::beneficiaries;
use helpline_store::mail as mailstore;
use helpline_store::timeline::{TimelineEntry, TimelineItem};
use helpline_store::StoreError;
use serde::Deserialize;

use super::pages::{render, staff_names, when, Chrome, PAGE};
use super::{failure, signed_in, Texts};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::page;
use crate::service::replies::Outlook;

/// One line of the timeline as the page shows it.
struct Entry {
    kind: &'static str,
    label: &'static str,
    at: String,
    at_iso: String,
    by: String,
    title: String,
    body: String,
    /// What protected a message, in words: (how it reads: `good`/`warn`/`bad`, text).
    badges: Vec<(&'static str, String)>,
    /// A message's id, to look for indicators in it.
    message: Option<String>,
}

/// A certificate of the beneficiary as the page shows it.
struct Cert {
    fingerprint: String,
    emails: String,
    /// Compared with the person (or not), usable (or not): in words.
    state: String,
}

/// An indicator on the case as the page shows it.
struct Ind {
    kind: &'static str,
    value: String,
    state: String,
    tlp: &'static str,
    cases: i64,
    warning: Option<String>,
}

/// What the page knows of the case's beneficiary, when the reader may see them.
struct Person {
    name: String,
    vetting: &'static str,
    certificates: Vec<Cert>,
}

#[derive(Template)]
#[template(path = "console/case.html")]
struct CasePage {
    c: Chrome,
    reference: i64,
    summary: String,
    status: &'static str,
    priority: String,
    urgency: &'static str,
    assignee: String,
    service: String,
    opened: String,
    first_response_due: String,
    first_response_late: bool,
    resolution_due: String,
    resolution_late: bool,
    confidential: bool,
    /// The version the page shows, sent back with a change (the API's ETag).
    version: i64,
    /// Where the case may go from here, if the reader may move it.
    next_statuses: Vec<(&'static str, &'static str)>,
    entries: Vec<Entry>,
    next: Option<String>,
    person: Option<Person>,
    /// What a reply would be, said before it is written: (how it reads, text); `None` when
    /// the reader may not reply or the helpline has no key to sign with.
    outlook: Option<(&'static str, String)>,
    /// Whether the reply can be sent at all (an outlook of refusal keeps the form closed).
    can_reply: bool,
    may: May,
    /// People a case can be handed to: (id, name).
    staff: Vec<(String, String)>,
    indicators: Vec<Ind>,
    escalated: bool,
    channels: Vec<&'static str>,
    action_kinds: Vec<(&'static str, String)>,
    tags: String,
    /// The edit form's choices: (value, label, selected).
    urgencies: Vec<(&'static str, &'static str, bool)>,
    impacts: Vec<(&'static str, &'static str, bool)>,
    assignees: Vec<(String, String, bool)>,
}

/// What the reader's role lets them do on the page.
struct May {
    write: bool,
    record: bool,
    comment: bool,
    act: bool,
    plan: bool,
    hand_off: bool,
    vet: bool,
    analyse: bool,
    read_indicators: bool,
    lead: bool,
    update: bool,
}

#[derive(Deserialize)]
pub(super) struct CaseQuery {
    cursor: Option<String>,
}

/// A case: its record and its timeline, a page at a time. Read through the API's one rule of
/// who may see a case, which also writes the read of a confidential case to the access log.
pub(super) async fn case_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    q: web::Query<CaseQuery>,
) -> HttpResponse {
    let run = async {
        let auth = signed_in(&state, &req).await?;
        auth.require(Permission::ReadCases)?;
        let case = crate::routes::case_in_path(&state, &auth, &reference).await?;
        let (limit, cursor) = page(q.cursor.as_deref(), Some(PAGE))?;
        let with_audit = auth.0.may(Permission::ReadAudit);
        let may = May {
            write: case.merged_into.is_none(),
            record: auth.0.may(Permission::RecordMessage),
            comment: auth.0.may(Permission::Comment),
            act: auth.0.may(Permission::RecordAction),
            plan: auth.0.may(Permission::ManageNextSteps),
            hand_off: auth.0.may(Permission::AssignCase),
            vet: auth.0.may(Permission::WriteBeneficiaries),
            analyse: auth.0.may(Permission::ManageIndicators),
            read_indicators: auth.0.may(Permission::ReadIndicators),
            lead: auth.0.may(Permission::Oversee),
            update: auth.0.may(Permission::UpdateCase),
        };
        let asks_outlook = may.record && may.write && !state.mail.keys().is_empty();
        // Everything the page shows, in one read (one connection, one hop off the workers).
        let (st, k, who) = (state.clone(), case.clone(), auth.0.clone());
        let read = state
            .read(move |c| {
                let timeline = helpline_store::timeline::timeline(
                    c,
                    k.id,
                    with_audit,
                    cursor.as_ref(),
                    limit,
                )?;
                let person = match beneficiaries::get_visible(c, k.beneficiary_id, &who) {
                    Ok(b) => Some((
                        b,
                        mailstore::certificates_of(c, k.beneficiary_id)?,
                        beneficiaries::confidential_cases(c, k.beneficiary_id)?,
                    )),
                    Err(StoreError::NotFound { .. }) => None,
                    Err(e) => return Err(e),
                };
                let outlook = asks_outlook
                    .then(|| crate::service::replies::outlook(c, &st.config.mail, &k, None));
                let indicators = if may.read_indicators {
                    let page = analysis::page_of_case(c, k.id, None, 100)?;
                    let ids: Vec<_> = page.items.iter().map(|i| i.indicator.id).collect();
                    Some((analysis::case_counts(c, &ids)?, page.items))
                } else {
                    None
                };
                Ok((timeline, person, outlook, indicators))
            })
            .await?;
        let (timeline, found, outlook, indicators) = read;
        let names = staff_names(&state).await?;
        let mut c = Chrome::staff(&req, &names, &auth);
        // The first page of the timeline follows the case as it changes.
        if q.cursor.is_none() {
            c.live = Some(format!("/live/cases/{}", i64::from(case.reference)));
        }
        let entries = timeline
            .items
            .iter()
            .map(|e| entry(c.t, &names, e))
            .collect();
        let person = person(&state, &auth, &case, c.t, found).await?;
        let (outlook, can_reply) = match outlook {
            Some(o) => said(o, c.t)?,
            None => (None, false),
        };
        let indicators = indicators
            .map(|(counts, items)| shown_indicators(&state, counts, items))
            .unwrap_or_default();
        let mut staff: Vec<(String, String)> = names
            .iter()
            .filter(|(id, _)| Some(**id) != case.assignee_id)
            .map(|(id, n)| (id.to_string(), n.clone()))
            .collect();
        staff.sort_by(|a, b| a.1.cmp(&b.1));
        let mut assignees: Vec<(String, String, bool)> = names
            .iter()
            .map(|(id, n)| (id.to_string(), n.clone(), Some(*id) == case.assignee_id))
            .collect();
        assignees.sort_by(|a, b| a.1.cmp(&b.1));
        assignees.insert(
            0,
            (
                String::new(),
                c.t.nobody.to_owned(),
                case.assignee_id.is_none(),
            ),
        );
        Ok::<_, ApiError>(render(
            StatusCode::OK,
            &CasePage {
                reference: case.reference.into(),
                summary: case.summary.as_str().to_owned(),
                status: c.t.status(&case.status),
                priority: case.priority.as_str().to_owned(),
                urgency: c.t.urgency_name(&case.urgency),
                assignee: case
                    .assignee_id
                    .and_then(|u| names.get(&u).cloned())
                    .unwrap_or_else(|| c.t.nobody.to_owned()),
                service: state
                    .service_types
                    .terms()
                    .get(case.service_type.as_str())
                    .cloned()
                    .unwrap_or_else(|| case.service_type.as_str().to_owned()),
                opened: when(case.created_at),
                first_response_due: when(case.first_response_due_at),
                first_response_late: case.first_response_breached,
                resolution_due: when(case.resolution_due_at),
                resolution_late: case.resolution_breached,
                confidential: case.confidential,
                version: case.version,
                next_statuses: if auth.0.may(Permission::UpdateCase) && case.merged_into.is_none() {
                    case.status
                        .allowed_next()
                        .iter()
                        .map(|s| (s.as_str(), c.t.status(s)))
                        .collect()
                } else {
                    Vec::new()
                },
                entries,
                next: timeline.next_cursor,
                person,
                outlook,
                can_reply,
                staff,
                indicators,
                escalated: case
                    .escalation
                    .as_ref()
                    .is_some_and(|e| e.acknowledged_at.is_none()),
                channels: Channel::ALL.iter().map(|ch| ch.as_str()).collect(),
                action_kinds: ActionKind::ALL
                    .iter()
                    .map(|k| (k.as_str(), k.as_str().replace('_', " ")))
                    .collect(),
                tags: case
                    .tags
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                urgencies: Urgency::ALL
                    .iter()
                    .map(|u| (u.as_str(), c.t.urgency_name(u), *u == case.urgency))
                    .collect(),
                impacts: Impact::ALL
                    .iter()
                    .map(|i| (i.as_str(), c.t.impact_name(i), *i == case.impact))
                    .collect(),
                assignees,
                may,
                c,
            },
        ))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

pub(super) fn actor_name(names: &HashMap<UserId, String>, a: &Actor) -> String {
    match a {
        Actor::User(u) => names.get(u).cloned().unwrap_or_default(),
        Actor::Token(_) => "integration".into(),
        Actor::System => "Helpline".into(),
    }
}

fn entry(t: &Texts, names: &HashMap<UserId, String>, e: &TimelineEntry) -> Entry {
    let (kind, label, by, title, body) = match &e.item {
        TimelineItem::Message(m) => (
            "message",
            t.kind_message,
            actor_name(names, &m.recorded_by),
            format!(
                "{} · {}{}",
                if m.direction.as_str() == "in" {
                    t.inbound
                } else {
                    t.outbound
                },
                m.channel.as_str(),
                m.subject
                    .as_ref()
                    .map(|s| format!(" · {}", s.as_str()))
                    .unwrap_or_default()
            ),
            m.body.as_str().to_owned(),
        ),
        TimelineItem::Comment(c) => (
            "comment",
            t.kind_comment,
            actor_name(names, &c.author),
            String::new(),
            c.body.as_str().to_owned(),
        ),
        TimelineItem::Action(a) => (
            "action",
            t.kind_action,
            actor_name(names, &a.performed_by),
            a.kind.as_str().replace('_', " "),
            a.description.as_str().to_owned(),
        ),
        TimelineItem::NextStep(s) => (
            "next-step",
            t.kind_next_step,
            actor_name(names, &s.created_by),
            s.title.as_str().to_owned(),
            String::new(),
        ),
        TimelineItem::Party(p) => (
            "party",
            t.kind_party,
            actor_name(names, &p.added_by),
            p.role.as_str().replace('_', " "),
            p.note.as_str().to_owned(),
        ),
        TimelineItem::Handoff(h) => (
            "handoff",
            t.kind_handoff,
            actor_name(names, &h.handed_by),
            String::new(),
            h.note.as_str().to_owned(),
        ),
        TimelineItem::Audit(a) => (
            "audit",
            t.kind_audit,
            actor_name(names, &a.record.actor),
            a.record.action.as_str().replace('_', " "),
            String::new(),
        ),
    };
    let badges = match &e.item {
        TimelineItem::Message(m) => m.email.as_ref().map(|d| badges(t, d)).unwrap_or_default(),
        _ => Vec::new(),
    };
    let message = match &e.item {
        TimelineItem::Message(m) => Some(m.id.to_string()),
        _ => None,
    };
    Entry {
        message,
        kind,
        label,
        at: super::pages::when(e.at),
        at_iso: e.at.to_rfc3339(),
        by,
        title,
        body,
        badges,
    }
}

/// A mail's protection in a handler's words: was it encrypted, and what each signature on it
/// is worth (a good one names its key's fingerprint, to compare with the person's).
fn badges(t: &Texts, d: &EmailDetails) -> Vec<(&'static str, String)> {
    let c = &d.crypto;
    let encrypted = c.decryption == DecryptionStatus::Decrypted || !d.encrypted_to.is_empty();
    let mut out = vec![if encrypted {
        ("good", t.badge_decrypted.to_owned())
    } else {
        ("warn", t.badge_plain.to_owned())
    }];
    if c.signatures.is_empty() {
        out.push(("warn", t.badge_unsigned.to_owned()));
    }
    for s in &c.signatures {
        let short = |f: &Option<String>| {
            f.as_deref()
                .map(|f| format!(" ({})", &f[f.len().saturating_sub(16)..]))
                .unwrap_or_default()
        };
        out.push(match s.status {
            SignatureStatus::Good => ("good", format!("{}{}", t.badge_good, short(&s.fingerprint))),
            SignatureStatus::Bad => ("bad", t.badge_bad.to_owned()),
            SignatureStatus::UnknownKey => {
                ("warn", format!("{}{}", t.badge_unknown, short(&s.issuer)))
            }
            SignatureStatus::ExpiredKey => ("warn", t.badge_expired.to_owned()),
            SignatureStatus::RevokedKey => ("bad", t.badge_revoked.to_owned()),
            SignatureStatus::None => ("warn", t.badge_unsigned.to_owned()),
        });
    }
    out
}

/// The case's beneficiary, their vetting and certificates, if the reader may see them (read
/// with the API's rule). A person with confidential cases is a read in those cases' access
/// logs — but for this case, whose read is logged already.
async fn person(
    state: &web::Data<AppState>,
    auth: &Auth,
    case: &Case,
    t: &'static Texts,
    found: Option<(
        helpline_domain::beneficiary::Beneficiary,
        Vec<mailstore::Certificate>,
        Vec<helpline_domain::ids::CaseId>,
    )>,
) -> Result<Option<Person>, ApiError> {
    let Some((b, certs, confidential)) = found else {
        return Ok(None);
    };
    let others: Vec<_> = confidential
        .into_iter()
        .filter(|c| !(case.confidential && *c == case.id))
        .collect();
    crate::routes::log_person_read(state, auth, others).await?;
    Ok(Some(Person {
        name: b.name.as_str().to_owned(),
        vetting: t.verification(&b.verification),
        certificates: certs
            .into_iter()
            .map(|c| Cert {
                state: if !c.can_encrypt || c.revoked {
                    t.cert_unusable
                } else if c.confirmed {
                    t.cert_confirmed
                } else {
                    t.cert_unconfirmed
                }
                .to_owned(),
                fingerprint: c.fingerprint,
                emails: c.emails.join(", "),
            })
            .collect(),
    }))
}

/// What the composer says a reply would be (how it reads, the words), and whether it may
/// send one.
type Said = (Option<(&'static str, String)>, bool);

/// What a reply to the beneficiary's first address would be, in words, and whether the
/// composer may send one.
fn said(o: Result<Outlook, StoreError>, t: &'static Texts) -> Result<Said, ApiError> {
    Ok(match o {
        Ok(Outlook::Encrypted { to }) => (
            Some(("good", t.outlook_encrypted.replace("{to}", &to))),
            true,
        ),
        Ok(Outlook::SignedOnly { to }) => {
            (Some(("warn", t.outlook_signed.replace("{to}", &to))), true)
        }
        Ok(Outlook::Refused { to }) => {
            (Some(("bad", t.outlook_refused.replace("{to}", &to))), false)
        }
        // No address on record (a call, a chat): nothing to reply to by mail.
        Err(StoreError::Domain(_)) => (Some(("warn", t.outlook_none.to_owned())), false),
        Err(e) => return Err(e.into()),
    })
}

/// The indicators on the case (its first hundred), with how many cases hold each.
fn shown_indicators(
    state: &AppState,
    counts: std::collections::HashMap<helpline_domain::ids::IndicatorId, i64>,
    items: Vec<analysis::CaseIndicator>,
) -> Vec<Ind> {
    items
        .into_iter()
        .map(|i| Ind {
            kind: i.indicator.kind.as_str(),
            warning: state
                .warnings
                .warns(&i.indicator.indicator())
                .map(str::to_owned),
            cases: counts.get(&i.indicator.id).copied().unwrap_or(0),
            value: i.indicator.value,
            state: i.state.as_str().replace('_', " "),
            tlp: i.tlp.as_str(),
        })
        .collect()
}
