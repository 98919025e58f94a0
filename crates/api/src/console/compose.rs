//! What is posted from a case's page: a reply, a message recorded by hand, a comment, an
//! action, a next step, a hand-off, a certificate, an indicator, a lead's acknowledgement.
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
    let run = async {
        let (auth, f): (Auth, F) = form(state, req, body).await?;
        auth.require(need)?;
        let case = crate::routes::writable_case(state, &auth, reference).await?;
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
