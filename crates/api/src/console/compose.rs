//! What is posted from a case's page: a change of status or of its record, a reply, a message
//! recorded by hand, a comment, an action, a next step, a hand-off, a certificate, an
//! indicator, a lead's acknowledgement.
//! Each form is turned into the API's own request body (so it is refused as the API refuses
//! it) and handed to the same use case as the API route; then back to the case.

use std::future::Future;

use actix_web::{web, HttpRequest, HttpResponse};
use helpline_domain::access::Permission;
use helpline_domain::case::Case;
use helpline_store::case_log;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{as_api, failure, form, see_other};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::routes::case_log::{ActionBody, CommentBody, MessageBody, NextStepBody};

/// The version a page showed, sent back with a change (the API's `If-Match`).
pub(super) fn version(v: &str) -> Result<i64, ApiError> {
    v.parse()
        .map_err(|_| ApiError::BadRequest("form: version is not a number".into()))
}

/// A request body from a form's fields, an empty optional field left out (the API refuses
/// `null` for a field that is not given).
fn body_of(fields: &[(&str, &str)], optional: &[(&str, &str)]) -> Value {
    let mut v = serde_json::Map::new();
    for (k, val) in fields {
        v.insert((*k).to_owned(), Value::String((*val).to_owned()));
    }
    for (k, val) in optional.iter().filter(|(_, v)| !v.trim().is_empty()) {
        v.insert((*k).to_owned(), Value::String((*val).to_owned()));
    }
    Value::Object(v)
}

/// A form posted on a case: the session and its CSRF token, the permission `need`, the case
/// (which the reader must see and which can still change); `act` does the work; then back to
/// the case's page, `then` (`#timeline`, `/analysis#indicators`) after its address.
async fn on_case<F, Fut>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    reference: &str,
    body: &[u8],
    need: Permission,
    then: &str,
    act: impl FnOnce(Auth, Case, F) -> Fut,
) -> HttpResponse
where
    F: DeserializeOwned,
    Fut: Future<Output = Result<(), ApiError>>,
{
    posted_on_case(state, req, reference, body, need, true, then, act).await
}

/// [`on_case`], for a change a merged case may still take when not `writable` (undoing a
/// merge, removing a link).
#[allow(clippy::too_many_arguments)]
pub(super) async fn posted_on_case<F, Fut>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    reference: &str,
    body: &[u8],
    need: Permission,
    writable: bool,
    then: &str,
    act: impl FnOnce(Auth, Case, F) -> Fut,
) -> HttpResponse
where
    F: DeserializeOwned,
    Fut: Future<Output = Result<(), ApiError>>,
{
    let run = async {
        let (auth, f): (Auth, F) = form(state, req, body).await?;
        auth.require(need)?;
        let case = if writable {
            crate::routes::writable_case(state, &auth, reference).await?
        } else {
            crate::routes::visible_case(state, &auth, reference).await?
        };
        let back = format!("/cases/{}{then}", i64::from(case.reference));
        act(auth, case, f).await?;
        Ok::<_, ApiError>(see_other(&back).finish())
    };
    run.await.unwrap_or_else(|e| failure(req, e))
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    #[serde(default)]
    subject: String,
    body: String,
}

/// A reply by mail, encrypted when a certificate is held (the page said which beforehand).
pub(super) async fn reply(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let st = state.clone();
    on_case(
        &state,
        &req,
        &reference,
        &body,
        Permission::RecordMessage,
        "#timeline",
        |auth, case, f: ReplyForm| async move {
            let b = as_api(body_of(&[("body", &f.body)], &[("subject", &f.subject)]))?;
            crate::routes::mail::send_reply(&st, &auth, case, b)
                .await
                .map(drop)
        },
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct MessageForm {
    direction: String,
    channel: String,
    body: String,
}

/// A message exchanged outside the mail gateway (a call, a chat, a visit).
pub(super) async fn record_message(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let st = state.clone();
    on_case(
        &state,
        &req,
        &reference,
        &body,
        Permission::RecordMessage,
        "#timeline",
        |auth, case, f: MessageForm| async move {
            let b: MessageBody =
                as_api(json!({"direction": f.direction, "channel": f.channel, "body": f.body}))?;
            let (new, policy) = (b.into_new(), st.policy.clone());
            st.write(&auth, move |tx| {
                crate::service::messages::record(tx, case.id, new, &policy)
            })
            .await
            .map(drop)
        },
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct CommentForm {
    body: String,
}

/// An internal comment.
pub(super) async fn comment(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let st = state.clone();
    on_case(
        &state,
        &req,
        &reference,
        &body,
        Permission::Comment,
        "#timeline",
        |auth, case, f: CommentForm| async move {
            let b: CommentBody = as_api(json!({"body": f.body}))?;
            st.write(&auth, move |tx| case_log::add_comment(tx, case.id, b.body))
                .await
                .map(drop)
        },
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct ActionForm {
    kind: String,
    description: String,
}

/// A measure taken for the beneficiary.
pub(super) async fn action(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let st = state.clone();
    on_case(
        &state,
        &req,
        &reference,
        &body,
        Permission::RecordAction,
        "#timeline",
        |auth, case, f: ActionForm| async move {
            let b: ActionBody = as_api(json!({"kind": f.kind, "description": f.description}))?;
            st.write(&auth, move |tx| {
                case_log::add_action(tx, case.id, b.kind, b.description, b.performed_at)
            })
            .await
            .map(drop)
        },
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct StepForm {
    title: String,
}

/// A next step planned.
pub(super) async fn next_step(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let st = state.clone();
    on_case(
        &state,
        &req,
        &reference,
        &body,
        Permission::ManageNextSteps,
        "#timeline",
        |auth, case, f: StepForm| async move {
            let b: NextStepBody = as_api(json!({"title": f.title}))?;
            st.write(&auth, move |tx| {
                case_log::add_next_step(tx, case.id, b.title, b.assignee_id, b.due_at)
            })
            .await
            .map(drop)
        },
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct HandoffForm {
    version: String,
    to: String,
    note: String,
}

/// The case handed to the next person with a note, from the version the page showed.
pub(super) async fn hand_off(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let st = state.clone();
    on_case(
        &state,
        &req,
        &reference,
        &body,
        Permission::AssignCase,
        "#timeline",
        |auth, case, f: HandoffForm| async move {
            let expected = version(&f.version)?;
            let b = as_api(json!({"to": f.to, "note": f.note}))?;
            crate::routes::workflow::hand_off_case(&st, &auth, &case, expected, b)
                .await
                .map(drop)
        },
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct CertificateForm {
    armored: String,
    #[serde(default)]
    confirmed: String,
}

/// A certificate for the case's beneficiary.
pub(super) async fn certificate(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let st = state.clone();
    on_case(
        &state,
        &req,
        &reference,
        &body,
        Permission::WriteBeneficiaries,
        "#person",
        |auth, case, f: CertificateForm| async move {
            let b = as_api(json!({"armored": f.armored, "confirmed": f.confirmed == "true"}))?;
            crate::routes::mail::add_beneficiary_certificate(&st, &auth, case.beneficiary_id, b)
                .await
                .map(drop)
        },
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct IndicatorForm {
    kind: String,
    value: String,
    tlp: String,
    /// `confirmed` (default) or `false_positive`: a candidate judged.
    #[serde(default)]
    state: String,
}

/// An indicator put on the case (confirmed: an analyst typed it).
pub(super) async fn indicator(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let st = state.clone();
    on_case(
        &state,
        &req,
        &reference,
        &body,
        Permission::ManageIndicators,
        "/analysis#indicators",
        |auth, case, f: IndicatorForm| async move {
            let b = as_api(body_of(
                &[("kind", &f.kind), ("value", &f.value), ("tlp", &f.tlp)],
                &[("state", &f.state)],
            ))?;
            crate::routes::analysis::attach_indicator(&st, &auth, &case, b)
                .await
                .map(drop)
        },
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct VersionForm {
    version: String,
}

/// A lead takes an escalated case in hand, from the version the page showed.
pub(super) async fn acknowledge(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let st = state.clone();
    on_case(
        &state,
        &req,
        &reference,
        &body,
        Permission::LeadCases,
        "",
        |auth, case, f: VersionForm| async move {
            let expected = version(&f.version)?;
            crate::routes::workflow::lead_change_case(
                &st,
                &auth,
                expected,
                &case.id.to_string(),
                Box::new(crate::service::cases::acknowledge),
            )
            .await
            .map(drop)
        },
    )
    .await
}

/// (Strings only, as every console form.)
#[derive(Deserialize)]
struct EditForm {
    version: String,
    urgency: String,
    impact: String,
    assignee: String,
    tags: String,
    #[serde(default)]
    confidential: String,
}

/// Changes a case's urgency, impact, assignee, tags or confidentiality through the same change
/// as `PATCH /api/v1/cases/{id}`: only what the form changed is sent (so a field the reader's
/// role may not change, left as it was, does not refuse the rest), from the version the page
/// showed.
pub(super) async fn edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let run = async {
        let (auth, f): (Auth, EditForm) = form(&state, &req, &body).await?;
        auth.require(Permission::ReadCases)?;
        let case = crate::routes::writable_case(&state, &auth, &reference).await?;
        let version = version(&f.version)?;
        let mut patch = serde_json::Map::new();
        if f.urgency != case.urgency.as_str() {
            patch.insert("urgency".into(), f.urgency.into());
        }
        if f.impact != case.impact.as_str() {
            patch.insert("impact".into(), f.impact.into());
        }
        if Some(f.assignee.as_str()) != case.assignee_id.map(|u| u.to_string()).as_deref()
            && !(f.assignee.is_empty() && case.assignee_id.is_none())
        {
            let to = if f.assignee.is_empty() {
                serde_json::Value::Null
            } else {
                f.assignee.into()
            };
            patch.insert("assignee_id".into(), to);
        }
        let tags: Vec<String> = f
            .tags
            .split(',')
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        if tags
            != case
                .tags
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect::<Vec<_>>()
        {
            patch.insert("tags".into(), tags.into());
        }
        let confidential = f.confidential == "true";
        if confidential != case.confidential {
            patch.insert("confidential".into(), confidential.into());
        }
        let back = format!("/cases/{}", i64::from(case.reference));
        if !patch.is_empty() {
            let patch = super::as_api(serde_json::Value::Object(patch))?;
            crate::routes::cases::change_case(&state, &auth, &case, version, patch).await?;
        }
        Ok::<_, ApiError>(see_other(&back).finish())
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
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
        let patch = super::as_api(serde_json::json!({"status": f.status}))?;
        let version = version(&f.version)?;
        let changed =
            crate::routes::cases::change_case(&state, &auth, &case, version, patch).await?;
        Ok::<_, ApiError>(see_other(&format!("/cases/{}", i64::from(changed.reference))).finish())
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// (Strings only: a form's fields reach serde as text through the CSRF wrapper's flatten.)
#[derive(Deserialize)]
struct StatusForm {
    version: String,
    status: String,
}
