//! Setting up one's second factor from the console, through the API's own enrolment: a secret
//! shown once, confirmed with the authenticator's first code, then the recovery codes, shown
//! once.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::pages::{render, staff_names, Chrome, NoFields};
use super::{failure, form, signed_in};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;

#[derive(Template)]
#[template(path = "console/second_factor.html")]
struct FactorPage {
    c: Chrome,
    /// The reader's account already has a confirmed second factor.
    active: bool,
    /// The reader signed in only to set one up (their account must have one).
    must: bool,
    /// A secret being set up: (secret, otpauth URI).
    enrolling: Option<(String, String)>,
    recovery_codes: Vec<String>,
}

async fn show(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    auth: &Auth,
    enrolling: Option<(String, String)>,
    recovery_codes: Vec<String>,
) -> Result<HttpResponse, ApiError> {
    let names = staff_names(state).await?;
    let me = auth
        .actor()
        .user_id()
        .ok_or_else(|| ApiError::Forbidden("an integration token has no login".into()))?;
    let factor = state
        .read(move |c| helpline_store::second_factors::get(c, me))
        .await?;
    Ok(render(
        StatusCode::OK,
        &FactorPage {
            c: Chrome::staff(req, &names, auth),
            active: factor.is_some_and(|f| f.confirmed()),
            must: auth.1.enrolment_only,
            enrolling,
            recovery_codes,
        },
    ))
}

/// Whether the reader has a second factor, and the button to set one up.
pub(super) async fn page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let run = async {
        let auth = signed_in(&state, &req).await?;
        show(&state, &req, &auth, None, Vec::new()).await
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// A new secret, shown this once with the form for the first code.
pub(super) async fn begin(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let run = async {
        let (auth, NoFields {}): (Auth, NoFields) = form(&state, &req, &body).await?;
        let secret = crate::routes::auth::begin_enrolment(&state, &auth).await?;
        show(&state, &req, &auth, Some(secret), Vec::new()).await
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

#[derive(Deserialize)]
pub(super) struct CodeForm {
    code: String,
}

/// The first code confirms the factor; the recovery codes are shown this once.
pub(super) async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let run = async {
        let (auth, f): (Auth, CodeForm) = form(&state, &req, &body).await?;
        let codes =
            crate::routes::auth::confirm_enrolment(&state, &auth, f.code.trim().to_owned()).await?;
        show(&state, &req, &auth, None, codes).await
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}
