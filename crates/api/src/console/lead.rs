//! The lead's view: the escalations to acknowledge, the quarantine (a message's raw text,
//! assigning it to a case, reading it again), the workload and the roster, who read a
//! confidential case (the statistics are in `figures`). Each page asks the permission the
//! API's route asks, and reads or writes through the same store query or use case.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Duration;
use helpline_domain::access::Permission;
use helpline_store::mail as mailstore;
use helpline_store::workflow::{self as wf, Attention};
use serde::Deserialize;

use super::pages::{staff_names, when, Chrome, NoFields, PAGE};
use super::{failure, form, see_other, signed_in, Texts};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::page;

/// The raw text shown of a quarantined message: enough to judge it, never a huge page.
const RAW_SHOWN: usize = 64 * 1024;

/// The frame of a lead's page, once the reader is known to hold `need`.
pub(super) async fn lead_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    need: Permission,
) -> Result<
    (
        Auth,
        Chrome,
        std::sync::Arc<std::collections::HashMap<helpline_domain::ids::UserId, String>>,
    ),
    ApiError,
> {
    let auth = signed_in(state, req).await?;
    auth.require(need)?;
    let names = staff_names(state).await?;
    let c = Chrome::staff(req, &names, &auth);
    Ok((auth, c, names))
}

fn attention(t: &Texts, a: Attention) -> &'static str {
    t.attentions[match a {
        Attention::Critical => 0,
        Attention::RejectedBeneficiary => 1,
        Attention::ConfidentialBeneficiary => 2,
        Attention::VettingPending => 3,
        Attention::FirstResponseOverdue => 4,
        Attention::ResolutionOverdue => 5,
        Attention::Unassigned => 6,
    }]
}

/// A case in the leads' queue as the page shows it.
struct Escalated {
    reference: i64,
    summary: String,
    priority: String,
    reasons: Vec<&'static str>,
    critical: bool,
    /// Acknowledging needs the version read (an escalation waiting).
    version: Option<i64>,
}

#[derive(Template)]
#[template(path = "console/escalations.html")]
struct EscalationsPage {
    c: Chrome,
    items: Vec<Escalated>,
    total: usize,
    quarantined: i64,
    may_lead: bool,
    may_quarantine: bool,
}

/// What needs a lead now (`GET /api/v1/escalations`): the cases, and the quarantine's count.
pub(super) async fn escalations(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let run = async {
        let (auth, mut c, _) = lead_page(&state, &req, Permission::Oversee).await?;
        c.live = Some("self".into());
        let (now, who) = (state.now(), auth.0.clone());
        let ((items, total), q) = state
            .read(move |conn| {
                Ok((
                    wf::escalations(conn, &who, now, 100)?,
                    mailstore::quarantine_waiting(conn)?,
                ))
            })
            .await?;
        let items = items
            .into_iter()
            .map(|i| Escalated {
                reference: i.case.reference.into(),
                summary: i.case.summary.as_str().to_owned(),
                priority: i.case.priority.as_str().to_owned(),
                critical: i.reasons.contains(&Attention::Critical),
                version: i
                    .case
                    .escalation
                    .as_ref()
                    .filter(|e| e.acknowledged_at.is_none())
                    .map(|_| i.case.version),
                reasons: i.reasons.iter().map(|a| attention(c.t, *a)).collect(),
            })
            .collect();
        Ok::<_, ApiError>(super::pages::render(
            StatusCode::OK,
            &EscalationsPage {
                items,
                total,
                quarantined: q.waiting,
                may_lead: auth.0.may(Permission::LeadCases),
                may_quarantine: auth.0.may(Permission::ManageQuarantine),
                c,
            },
        ))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// A received message as the quarantine shows it.
struct Held {
    id: String,
    received: String,
    reason: String,
    size: i64,
}

#[derive(Template)]
#[template(path = "console/quarantine.html")]
struct QuarantinePage {
    c: Chrome,
    items: Vec<Held>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct CursorQuery {
    cursor: Option<String>,
}

fn held(m: &mailstore::InboundMail) -> Held {
    Held {
        id: m.id.to_string(),
        received: when(m.received_at),
        reason: m.reason.clone().unwrap_or_default(),
        size: m.size,
    }
}

/// The quarantine, oldest first (`GET /api/v1/mail/quarantine`). The sender is not listed:
/// it is the lead's to open a message.
pub(super) async fn quarantine(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<CursorQuery>,
) -> HttpResponse {
    let run = async {
        let (_, mut c, _) = lead_page(&state, &req, Permission::ManageQuarantine).await?;
        if q.cursor.is_none() {
            c.live = Some("self".into());
        }
        let (limit, cursor) = page(q.cursor.as_deref(), Some(PAGE))?;
        let p = state
            .read(move |conn| mailstore::quarantine(conn, cursor.as_ref(), limit))
            .await?;
        Ok::<_, ApiError>(super::pages::render(
            StatusCode::OK,
            &QuarantinePage {
                items: p.items.iter().map(held).collect(),
                next: p.next_cursor,
                c,
            },
        ))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

#[derive(Template)]
#[template(path = "console/quarantined.html")]
struct QuarantinedPage {
    c: Chrome,
    m: Held,
    sender: String,
    still_held: bool,
    /// The case it went to, once assigned or threaded.
    case: Option<i64>,
    raw: String,
    truncated: bool,
}

/// One received message and its raw text, exactly as the gateway posted it (shown as text:
/// nothing in it is ever rendered or fetched).
pub(super) async fn quarantined(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let run = async {
        let (_, c, _) = lead_page(&state, &req, Permission::ManageQuarantine).await?;
        let id = crate::routes::mail::inbound_id(&id)?;
        let (m, raw, case) = state
            .read(move |conn| {
                let m = mailstore::inbound(conn, id)?;
                let raw = mailstore::blob(conn, &m.sha256)?;
                let case = match m.case_id {
                    Some(cid) => Some(
                        helpline_store::cases::locate(
                            conn,
                            helpline_domain::case::CaseLocator::Id(cid),
                        )?
                        .reference
                        .get(),
                    ),
                    None => None,
                };
                Ok((m, raw, case))
            })
            .await?;
        let truncated = raw.len() > RAW_SHOWN;
        let raw = String::from_utf8_lossy(&raw[..raw.len().min(RAW_SHOWN)]).into_owned();
        Ok::<_, ApiError>(super::pages::render(
            StatusCode::OK,
            &QuarantinedPage {
                m: held(&m),
                sender: m.sender.clone().unwrap_or_default(),
                still_held: m.state == mailstore::InboundState::Quarantined,
                case,
                raw,
                truncated,
                c,
            },
        ))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

#[derive(Deserialize)]
pub(super) struct AssignForm {
    case: String,
}

/// A quarantined message attached to a case by hand, through the API's use case; then to the
/// case.
pub(super) async fn assign(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let run = async {
        let (auth, f): (Auth, AssignForm) = form(&state, &req, &body).await?;
        auth.require(Permission::ManageQuarantine)?;
        let id = crate::routes::mail::inbound_id(&id)?;
        let case = f.case.trim().trim_start_matches('#');
        let (_, reference) =
            crate::routes::mail::assign_quarantined(&state, &auth, id, case).await?;
        Ok::<_, ApiError>(match reference {
            Some(r) => see_other(&format!("/cases/{r}")).finish(),
            None => see_other("/quarantine").finish(),
        })
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// A quarantined message read again (the key files too); back to it, to see what came of it.
pub(super) async fn retry(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let run = async {
        let (auth, NoFields {}): (Auth, NoFields) = form(&state, &req, &body).await?;
        auth.require(Permission::ManageQuarantine)?;
        let id = crate::routes::mail::inbound_id(&id)?;
        crate::routes::mail::retry_quarantined(&state, &auth, id).await?;
        Ok::<_, ApiError>(see_other(&format!("/quarantine/{id}")).finish())
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// One person's load as the page shows it.
struct Load {
    name: String,
    on_duty: bool,
    away: bool,
    open: i64,
    weighted: i64,
    /// The bar's length, out of 100.
    bar: i64,
}

#[derive(Template)]
#[template(path = "console/workload.html")]
struct WorkloadPage {
    c: Chrome,
    loads: Vec<Load>,
    /// Who takes new cases now.
    on_duty: Vec<String>,
    /// The roster of the next two weeks: (who, from, to, away).
    periods: Vec<(String, String, String, bool)>,
    auto_assign: bool,
}

/// Open cases per person, heaviest first (`GET /api/v1/workload`), with a bar each.
pub(super) async fn workload(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let run = async {
        let (_, c, names) = lead_page(&state, &req, Permission::Oversee).await?;
        let (now, weights) = (state.now(), state.policy.weights);
        let until = now + Duration::days(14);
        let (items, duty, shifts, absences, auto) = state
            .read(move |conn| {
                Ok((
                    wf::workload(conn, now, &weights)?,
                    wf::on_duty(conn, now)?,
                    wf::shifts(conn, now, until)?,
                    wf::absences(conn, now, until)?,
                    wf::auto_assign(conn)?,
                ))
            })
            .await?;
        let name = |u: &helpline_domain::ids::UserId| names.get(u).cloned().unwrap_or_default();
        let on_duty = duty.iter().map(name).collect();
        let mut periods: Vec<(String, String, String, bool)> = shifts
            .iter()
            .map(|p| (p, false))
            .chain(absences.iter().map(|p| (p, true)))
            .map(|(p, away)| (name(&p.user_id), when(p.starts_at), when(p.ends_at), away))
            .collect();
        periods.sort_by(|a, b| a.1.cmp(&b.1));
        let most = items.iter().map(|w| w.weighted).max().unwrap_or(0).max(1);
        let loads = items
            .into_iter()
            .map(|w| Load {
                name: names.get(&w.user_id).cloned().unwrap_or(w.username),
                on_duty: w.on_duty,
                away: w.away,
                open: w.open,
                weighted: w.weighted,
                bar: w.weighted * 100 / most,
            })
            .collect();
        Ok::<_, ApiError>(super::pages::render(
            StatusCode::OK,
            &WorkloadPage {
                c,
                loads,
                on_duty,
                periods,
                auto_assign: auto,
            },
        ))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// One read of a confidential case as the page shows it.
struct ReadRow {
    at: String,
    by: String,
    what: String,
}

#[derive(Template)]
#[template(path = "console/reads.html")]
struct ReadsPage {
    c: Chrome,
    reference: i64,
    rows: Vec<ReadRow>,
    next: Option<String>,
}

/// Who read a case, newest first (`GET /api/v1/cases/{id}/reads`).
pub(super) async fn reads(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    q: web::Query<CursorQuery>,
) -> HttpResponse {
    let run = async {
        let (auth, c, names) = lead_page(&state, &req, Permission::Oversee).await?;
        let case = crate::routes::visible_case(&state, &auth, &reference).await?;
        let (limit, cursor) = page(q.cursor.as_deref(), Some(PAGE))?;
        let id = case.id;
        let p = state
            .read(move |conn| {
                helpline_store::audit::reads_of_case(conn, id, cursor.as_ref(), limit)
            })
            .await?;
        let rows = p
            .items
            .iter()
            .map(|e| ReadRow {
                at: when(e.record.occurred_at),
                by: super::case::actor_name(&names, &e.record.actor),
                what: e.record.changes["read"]
                    .as_str()
                    .unwrap_or(&e.record.action)
                    .to_owned(),
            })
            .collect();
        Ok::<_, ApiError>(super::pages::render(
            StatusCode::OK,
            &ReadsPage {
                reference: case.reference.into(),
                rows,
                next: p.next_cursor,
                c,
            },
        ))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}
