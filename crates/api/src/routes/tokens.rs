//! Integration tokens: shown once at creation, stored hashed, scoped, revocable.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use helpline_domain::ids::TokenId;
use helpline_domain::text::Name;
use helpline_domain::user::{ApiToken, Scope};
use helpline_store::tokens as store_t;
use serde::{Deserialize, Serialize};

use super::{path_id, resource};
use crate::allowed::{may, Allowed};
use crate::app::AppState;
use crate::auth::new_token_secret;
use crate::error::ApiError;
use crate::extract::ApiJson;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/tokens")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(resource("/tokens/{id}").route(web::delete().to(revoke)));
}

async fn list(
    state: web::Data<AppState>,
    _auth: Allowed<may::ManageTokens>,
    page: crate::extract::ApiQuery<crate::extract::PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = page.checked()?;
    let page = state
        .read(move |c| store_t::list(c, cursor.as_ref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: Name,
    scopes: Vec<Scope>,
    expires_at: Option<DateTime<Utc>>,
}

/// A new token with its secret, which is never shown again.
#[derive(Serialize)]
pub(crate) struct CreatedToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// The bearer token to give the integration.
    pub secret: String,
}

async fn create(
    state: web::Data<AppState>,
    auth: Allowed<may::ManageTokens>,
    body: ApiJson<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    if b.scopes.is_empty() {
        return Err(ApiError::field(
            "scopes",
            "a token needs at least one scope",
        ));
    }
    if b.scopes
        .iter()
        .enumerate()
        .any(|(i, s)| b.scopes[..i].contains(s))
    {
        return Err(ApiError::field("scopes", "each scope may be given once"));
    }
    if b.expires_at.is_some_and(|e| e <= state.now()) {
        return Err(ApiError::field("expires_at", "must be in the future"));
    }
    let id = TokenId::new();
    let (secret, hash) = new_token_secret(id);
    let token = state
        .write(&auth, move |tx| {
            store_t::create(tx, id, b.name, b.scopes, hash, b.expires_at)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(CreatedToken { token, secret }))
}

async fn revoke(
    state: web::Data<AppState>,
    auth: Allowed<may::ManageTokens>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(TokenId::parse(&id))?;
    state
        .write(&auth, move |tx| store_t::revoke(tx, id))
        .await?;
    state
        .principals
        .forget(helpline_domain::user::Actor::Token(id));
    Ok(HttpResponse::NoContent().finish())
}
