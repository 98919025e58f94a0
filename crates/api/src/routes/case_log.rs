//! A case's log: messages, comments, actions, next steps, parties involved, timeline.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use helpline_domain::access::Permission;
use helpline_domain::ids::CaseId;
use helpline_domain::ids::{NextStepId, PartyId, UserId};
use helpline_domain::log::{ActionKind, Channel, Counterpart, Direction};
use helpline_domain::party::PartyRole;
use helpline_domain::text::{Body, Note, Title};
use helpline_store::case_log::{self, NewMessage, NextStepPatch};
use helpline_store::{StoreError, Tx};
use serde::Deserialize;

use super::{case_page, json_with_etag, path_id, resource, Visible, Writable};
use crate::allowed::may;
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{idempotency, ApiJson, ApiQuery, IfMatch, PageParams, Retry};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/cases/{id}/messages")
            .route(case_page(case_log::messages))
            .route(web::post().to(add_message)),
    )
    .service(
        resource("/cases/{id}/comments")
            .route(case_page(case_log::comments))
            .route(web::post().to(add_comment)),
    )
    .service(
        resource("/cases/{id}/actions")
            .route(case_page(case_log::actions))
            .route(web::post().to(add_action)),
    )
    .service(
        resource("/cases/{id}/next-steps")
            .route(case_page(case_log::next_steps))
            .route(web::post().to(add_next_step)),
    )
    .service(resource("/cases/{id}/next-steps/{step_id}").route(web::patch().to(update_next_step)))
    .service(
        resource("/cases/{id}/parties")
            .route(case_page(case_log::party_page))
            .route(web::post().to(link_party)),
    )
    .service(resource("/cases/{id}/timeline").route(web::get().to(timeline)));
}

/// Adds one entry to a case the caller may see and that can still change: 201 with the entry,
/// and with an idempotency key a repeat answers the first response again.
async fn add_to_case<T: serde::Serialize + Send + 'static>(
    state: &web::Data<AppState>,
    auth: &Auth,
    case: CaseId,
    retry: Option<Retry>,
    add: impl FnOnce(&mut Tx<'_>, CaseId) -> Result<T, StoreError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let idem = idempotency(auth, retry);
    state
        .create(auth, idem, None, move |tx| add(tx, case))
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessageBody {
    pub(crate) direction: Direction,
    pub(crate) channel: Channel,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    pub(crate) counterpart: Option<Counterpart>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    pub(crate) subject: Option<Title>,
    pub(crate) body: Body,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    pub(crate) occurred_at: Option<DateTime<Utc>>,
}

impl MessageBody {
    /// The message to record (from the beneficiary unless said otherwise).
    pub(crate) fn into_new(self) -> NewMessage {
        NewMessage {
            direction: self.direction,
            channel: self.channel,
            counterpart: self.counterpart.unwrap_or(Counterpart::Beneficiary),
            subject: self.subject,
            body: self.body,
            occurred_at: self.occurred_at,
            email: None,
        }
    }
}

/// Records a message exchanged outside the mail gateway (a call, a chat, a visit).
async fn add_message(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::RecordMessage>,
    body: ApiJson<MessageBody>,
) -> Result<HttpResponse, ApiError> {
    let new = body.value.into_new();
    let policy = state.policy.clone();
    add_to_case(&state, &auth, case.id, body.retry, move |tx, case| {
        crate::service::messages::record(tx, case, new, &policy)
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommentBody {
    pub(crate) body: Body,
}

/// Adds an internal comment.
async fn add_comment(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::Comment>,
    body: ApiJson<CommentBody>,
) -> Result<HttpResponse, ApiError> {
    let text = body.value.body;
    add_to_case(&state, &auth, case.id, body.retry, move |tx, case| {
        case_log::add_comment(tx, case, text)
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionBody {
    pub(crate) kind: ActionKind,
    pub(crate) description: Body,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    pub(crate) performed_at: Option<DateTime<Utc>>,
}

/// Records a measure taken for the beneficiary.
async fn add_action(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::RecordAction>,
    body: ApiJson<ActionBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    add_to_case(&state, &auth, case.id, body.retry, move |tx, case| {
        case_log::add_action(tx, case, b.kind, b.description, b.performed_at)
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NextStepBody {
    pub(crate) title: Title,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    pub(crate) assignee_id: Option<UserId>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    pub(crate) due_at: Option<DateTime<Utc>>,
}

/// Plans a next step.
async fn add_next_step(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::ManageNextSteps>,
    body: ApiJson<NextStepBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    add_to_case(&state, &auth, case.id, body.retry, move |tx, case| {
        case_log::add_next_step(tx, case, b.title, b.assignee_id, b.due_at)
    })
    .await
}

/// Changes a next step (title, assignee, due date, done) if it is unchanged since read.
async fn update_next_step(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::ManageNextSteps>,
    IfMatch(expected): IfMatch,
    path: web::Path<(String, String)>,
    body: ApiJson<NextStepPatch>,
) -> Result<HttpResponse, ApiError> {
    let step = path_id(NextStepId::parse(&path.1))?;
    let patch = body.value;
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
    #[serde(default, deserialize_with = "helpline_domain::given")]
    note: Option<Note>,
}

/// Names a party (an adversary, a platform, a partner) in the case.
async fn link_party(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::LinkParty>,
    body: ApiJson<LinkPartyBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    add_to_case(&state, &auth, case.id, body.retry, move |tx, case| {
        case_log::link_party(
            tx,
            case,
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
    Visible { case, auth }: Visible<may::ReadCases>,
    page: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = page.checked()?;
    let with_audit = auth.0.may(Permission::ReadAudit);
    let page = state
        .read(move |c| {
            helpline_store::timeline::timeline(c, case.id, with_audit, cursor.as_ref(), limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
