//! The directory of other parties: intermediaries, platforms, partners.

use actix_web::{web, HttpResponse};
use helpline_domain::access::Permission;
use helpline_domain::beneficiary::EmailAddress;
use helpline_domain::ids::PartyId;
use helpline_domain::party::PartyKind;
use helpline_domain::text::{Name, Note};
use helpline_store::parties::{self as store_p, NewParty, PartyPatch};
use serde::Deserialize;

use super::{get_versioned, json_with_etag, path_id, resource};
use crate::allowed::{may, Allowed};
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{idempotency, page, query_param, ApiJson, ApiQuery, IfMatch};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/parties")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/parties/{id}")
            .route(get_versioned(
                Permission::ReadParties,
                PartyId::parse,
                store_p::get,
            ))
            .route(web::patch().to(update)),
    );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    kind: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

async fn list(
    state: web::Data<AppState>,
    _auth: Allowed<may::ReadParties>,
    q: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let (limit, cursor) = page(q.cursor.as_deref(), q.limit)?;
    let kind = query_param("kind", q.kind.as_deref(), PartyKind::parse)?;
    let page = state
        .read(move |c| store_p::list(c, kind, cursor.as_ref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: Name,
    kind: PartyKind,
    #[serde(default)]
    emails: Vec<EmailAddress>,
    contact: Option<Note>,
    notes: Option<Note>,
}

async fn create(
    state: web::Data<AppState>,
    auth: Allowed<may::WriteParties>,
    body: ApiJson<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let idem = idempotency(&auth, body.retry);
    let b = body.value;
    let new = NewParty {
        name: b.name,
        kind: b.kind,
        emails: b.emails,
        contact: b.contact.unwrap_or_else(Note::empty),
        notes: b.notes.unwrap_or_else(Note::empty),
    };
    state
        .create(&auth, idem, Some("/api/v1/parties".into()), move |tx| {
            store_p::create(tx, new)
        })
        .await
}

/// Changes a party if it is unchanged since the caller read it.
async fn update(
    state: web::Data<AppState>,
    auth: Allowed<may::WriteParties>,
    IfMatch(expected): IfMatch,
    id: web::Path<String>,
    body: ApiJson<PartyPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(PartyId::parse(&id))?;
    let patch = body.value;
    let p = state
        .write(&auth, move |tx| store_p::update(tx, id, expected, patch))
        .await?;
    Ok(json_with_etag(&p, p.version))
}
