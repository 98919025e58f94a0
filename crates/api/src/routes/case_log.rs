//! A case's log: messages, comments, actions, next steps, parties involved, timeline.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use helpline_domain::access::Permission;
use helpline_domain::ids::CaseId;
use helpline_domain::ids::{NextStepId, PartyId, UserId};
use helpline_domain::log::{ActionKind, Channel, Counterpart, Direction};
use helpline_domain::party::PartyRole;
use helpline_domain::text::{Body, Note, Title};
use helpline_store::case_log::{self, NewMessage, NextStepPatch};
use helpline_store::{Cursor, DbConnection, Page, StoreError};
use serde::Deserialize;

use super::{json_with_etag, path_id, resource, visible_case, writable_case};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{idempotency, if_match, nullable, ApiJson, ApiQuery, PageParams};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/cases/{id}/messages")
            .route(web::get().to(list_messages))
            .route(web::post().to(add_message)),
    )
    .service(
        resource("/cases/{id}/comments")
            .route(web::get().to(list_comments))
            .route(web::post().to(add_comment)),
    )
    .service(
        resource("/cases/{id}/actions")
            .route(web::get().to(list_actions))
            .route(web::post().to(add_action)),
    )
    .service(
        resource("/cases/{id}/next-steps")
            .route(web::get().to(list_next_steps))
            .route(web::post().to(add_next_step)),
    )
    .service(resource("/cases/{id}/next-steps/{step_id}").route(web::patch().to(update_next_step)))
    .service(
        resource("/cases/{id}/parties")
            .route(web::get().to(list_parties))
            .route(web::post().to(link_party)),
    )
    .service(resource("/cases/{id}/timeline").route(web::get().to(timeline)));
}

/// A store function reading one page of a case's log entries.
type PageFetch<T> =
    fn(&mut DbConnection, CaseId, Option<&Cursor>, i64) -> Result<Page<T>, StoreError>;

/// One page of a case's log entries of one kind, for a caller who may see the case.
async fn page_of_case<T: serde::Serialize + Send + 'static>(
    state: &web::Data<AppState>,
    auth: &Auth,
    id: &str,
    q: &PageParams,
    fetch: PageFetch<T>,
) -> Result<HttpResponse, ApiError> {
    let case = visible_case(state, auth, id).await?;
    let (limit, cursor) = q.checked()?;
    let page = state
        .read(move |c| fetch(c, case.id, cursor.as_ref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    direction: Direction,
    channel: Channel,
    counterpart: Option<Counterpart>,
    subject: Option<Title>,
    body: Body,
    occurred_at: Option<DateTime<Utc>>,
}

async fn list_messages(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    q: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    page_of_case(&state, &auth, &id, &q, case_log::messages).await
}

async fn add_message(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<MessageBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Permission::RecordMessage)?;
    let case = writable_case(&state, &auth, &id).await?;
    let idem = idempotency(&req, &auth, &body.digest)?;
    let b = body.value;
    let new = NewMessage {
        direction: b.direction,
        channel: b.channel,
        counterpart: b.counterpart.unwrap_or(Counterpart::Beneficiary),
        subject: b.subject,
        body: b.body,
        occurred_at: b.occurred_at,
        email: None,
    };
    state
        .create(&auth, idem, None, move |tx| {
            crate::service::messages::record(tx, case.id, new)
        })
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentBody {
    body: Body,
}

async fn list_comments(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    q: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    page_of_case(&state, &auth, &id, &q, case_log::comments).await
}

async fn add_comment(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<CommentBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Permission::Comment)?;
    let case = writable_case(&state, &auth, &id).await?;
    let idem = idempotency(&req, &auth, &body.digest)?;
    let text = body.value.body;
    state
        .create(&auth, idem, None, move |tx| {
            case_log::add_comment(tx, case.id, text)
        })
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    kind: ActionKind,
    description: Body,
    performed_at: Option<DateTime<Utc>>,
}

async fn list_actions(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    q: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    page_of_case(&state, &auth, &id, &q, case_log::actions).await
}

async fn add_action(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<ActionBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Permission::RecordAction)?;
    let case = writable_case(&state, &auth, &id).await?;
    let idem = idempotency(&req, &auth, &body.digest)?;
    let b = body.value;
    state
        .create(&auth, idem, None, move |tx| {
            case_log::add_action(tx, case.id, b.kind, b.description, b.performed_at)
        })
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NextStepBody {
    title: Title,
    assignee_id: Option<UserId>,
    due_at: Option<DateTime<Utc>>,
}

async fn list_next_steps(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    q: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    page_of_case(&state, &auth, &id, &q, case_log::next_steps).await
}

async fn add_next_step(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<NextStepBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Permission::ManageNextSteps)?;
    let case = writable_case(&state, &auth, &id).await?;
    let idem = idempotency(&req, &auth, &body.digest)?;
    let b = body.value;
    state
        .create(&auth, idem, None, move |tx| {
            case_log::add_next_step(tx, case.id, b.title, b.assignee_id, b.due_at)
        })
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchNextStep {
    title: Option<Title>,
    #[serde(default, deserialize_with = "nullable")]
    assignee_id: Option<Option<UserId>>,
    #[serde(default, deserialize_with = "nullable")]
    due_at: Option<Option<DateTime<Utc>>>,
    done: Option<bool>,
}

async fn update_next_step(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: ApiJson<PatchNextStep>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Permission::ManageNextSteps)?;
    let expected = if_match(&req)?;
    let (id, step) = path.into_inner();
    let step = path_id(NextStepId::parse(&step))?;
    let case = writable_case(&state, &auth, &id).await?;
    let b = body.value;
    let patch = NextStepPatch {
        title: b.title,
        assignee_id: b.assignee_id,
        due_at: b.due_at,
        done: b.done,
    };
    let updated = state
        .write(&auth, move |tx| {
            case_log::update_next_step(tx, case.id, step, expected, patch)
        })
        .await?;
    Ok(json_with_etag(&updated, updated.version))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkPartyBody {
    party_id: PartyId,
    role: PartyRole,
    note: Option<Note>,
}

async fn list_parties(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let case = visible_case(&state, &auth, &id).await?;
    let items = state
        .read(move |c| case_log::case_parties(c, case.id))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

async fn link_party(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    id: web::Path<String>,
    body: ApiJson<LinkPartyBody>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Permission::LinkParty)?;
    let case = writable_case(&state, &auth, &id).await?;
    let idem = idempotency(&req, &auth, &body.digest)?;
    let b = body.value;
    state
        .create(&auth, idem, None, move |tx| {
            case_log::link_party(
                tx,
                case.id,
                b.party_id,
                b.role,
                b.note.unwrap_or_else(Note::empty),
            )
        })
        .await
}

/// Everything on a case in time order, a page at a time; audit events for those who may
/// read them.
async fn timeline(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    page: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let case = visible_case(&state, &auth, &id).await?;
    let (limit, cursor) = page.checked()?;
    let with_audit = auth.0.may(Permission::ReadAudit);
    let page = state
        .read(move |c| {
            helpline_store::timeline::timeline(c, case.id, with_audit, cursor.as_ref(), limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
