//! A case's page: its record, its timeline, moving it on.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use helpline_domain::access::Permission;
use helpline_domain::ids::UserId;
use helpline_domain::user::Actor;
use helpline_store::timeline::{TimelineEntry, TimelineItem};
use serde::Deserialize;

use super::pages::{me, render, staff_names, Chrome, PAGE};
use super::{failure, form, see_other, signed_in, Texts};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::page;

/// One line of the timeline as the page shows it.
struct Entry {
    kind: &'static str,
    label: &'static str,
    at: String,
    at_iso: String,
    by: String,
    title: String,
    body: String,
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
        let id = case.id;
        let timeline = state
            .read(move |c| {
                helpline_store::timeline::timeline(c, id, with_audit, cursor.as_ref(), limit)
            })
            .await?;
        let names = staff_names(&state).await?;
        let c = Chrome::new(&req, me(&names, &auth));
        let entries = timeline
            .items
            .iter()
            .map(|e| entry(c.t, &names, e))
            .collect();
        let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
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
                next_statuses: if auth.0.may(Permission::UpdateCase) {
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
                c,
            },
        ))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// (Strings only: a form's fields reach serde as text through the CSRF wrapper's flatten.)
#[derive(Deserialize)]
struct StatusForm {
    version: String,
    status: String,
}

/// Moves a case on, through the same change as `PATCH /api/v1/cases/{id}`: refused with the
/// "changed since you opened it" page when someone else changed the case meanwhile.
pub(super) async fn change_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let run = async {
        let (auth, f): (Auth, StatusForm) = form(&state, &req, &body).await?;
        auth.require(Permission::ReadCases)?;
        let case = crate::routes::writable_case(&state, &auth, &reference).await?;
        let bytes = serde_json::to_vec(&serde_json::json!({"status": f.status}))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let patch = crate::extract::parse_json::<crate::routes::cases::PatchCase>(&bytes)?;
        let version = f
            .version
            .parse()
            .map_err(|_| ApiError::BadRequest("form: version is not a number".into()))?;
        let changed =
            crate::routes::cases::change_case(&state, &auth, &case, version, patch).await?;
        Ok::<_, ApiError>(see_other(&format!("/cases/{}", i64::from(changed.reference))).finish())
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

fn actor_name(names: &HashMap<UserId, String>, a: &Actor) -> String {
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
    Entry {
        kind,
        label,
        at: e.at.format("%Y-%m-%d %H:%M").to_string(),
        at_iso: e.at.to_rfc3339(),
        by,
        title,
        body,
    }
}
