//! The console: the web pages handlers, analysts and leads work in, served at `/` by the same
//! binary. It is one more client of the service layer, never a second path around it: a page
//! authenticates its session cookie with the API's own check (`auth::check_credential`), reads
//! a case through the one visibility rule (`routes::case_in_path`, which also writes the access
//! log), lists cases through the store's visibility-filtered queries, and signs in and out
//! through `sign_in`; every change a page posts goes to the same use case as the API's route.
//! Pages are askama templates compiled with the binary; one small script of our own
//! (`static/console.js`) only polls for changes, so every page works without it.
//!
//! Safety: the session cookie is `HttpOnly`, `SameSite=Strict` and `Secure` behind TLS; every
//! form carries a CSRF token (derived from the session, or a double-submit cookie before
//! sign-in) checked by [`form`]; every answer carries a strict Content-Security-Policy and
//! `frame-ancestors 'none'`; beneficiary data never goes into a URL or a page title (search is
//! a POST).

mod analyst;
mod case;
mod compose;
mod figures;
mod first_contact;
mod i18n;
mod kept;
mod lead;
mod pages;
mod queue;
mod sign_in;
mod two_factor;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use figures::Figures;
pub use i18n::{Lang, Texts};
pub use pages::StaffNames;

use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;

/// The session cookie: the session's access token.
const SESSION: &str = "helpline_session";
/// Before sign-in: the double-submit CSRF cookie of the sign-in form.
const PRE_CSRF: &str = "helpline_csrf";
/// The language chosen with the switcher.
const LANG: &str = "helpline_lang";

/// Scripts and styles from this origin only (no inline script or style), nothing framed,
/// forms posted here only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Mounts the console's pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    pages::configure(cfg);
}

/// The language of a request: the switcher's cookie, else the browser's preference, else
/// English.
pub fn lang_of(req: &HttpRequest) -> Lang {
    req.cookie(LANG)
        .and_then(|c| Lang::parse(c.value()))
        .or_else(|| {
            req.headers()
                .get(actix_web::http::header::ACCEPT_LANGUAGE)
                .and_then(|h| h.to_str().ok())
                .and_then(Lang::negotiate)
        })
        .unwrap_or(Lang::En)
}

/// The caller signed in with the request's session cookie (an integration token is never
/// accepted here), checked as the API checks a bearer token.
pub async fn signed_in(state: &web::Data<AppState>, req: &HttpRequest) -> Result<Auth, ApiError> {
    let token = session_token(req)?;
    crate::auth::check_credential(state, token, crate::auth::reads(req)).await
}

fn session_token(req: &HttpRequest) -> Result<String, ApiError> {
    let token = req
        .cookie(SESSION)
        .map(|c| c.value().to_owned())
        .ok_or_else(|| ApiError::Unauthorized("not signed in".into()))?;
    if token.starts_with(crate::auth::TOKEN_PREFIX) {
        return Err(ApiError::Unauthorized("not a session".into()));
    }
    Ok(token)
}

/// The CSRF token of a session: unguessable without the session's (HttpOnly) cookie, the same
/// for every form of the session, so no server state is kept.
fn csrf_of(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"helpline console csrf\0");
    h.update(token.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// The CSRF token forms of this signed-in request must carry.
pub fn csrf(req: &HttpRequest) -> String {
    session_token(req).map(|t| csrf_of(&t)).unwrap_or_default()
}

fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A posted form with its CSRF token.
#[derive(serde::Deserialize)]
struct Posted<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    value: T,
}

/// A form posted by a signed-in caller: the session checked, then the form's CSRF token, then
/// its fields. Every console form that changes something goes through here.
pub async fn form<T: DeserializeOwned>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Auth, T), ApiError> {
    let auth = signed_in(state, req).await?;
    let posted: Posted<T> = serde_urlencoded::from_bytes(body)
        .map_err(|e| ApiError::BadRequest(format!("form: {e}")))?;
    if !same(&posted.csrf, &csrf(req)) {
        return Err(ApiError::Forbidden(
            "the form's CSRF token is missing or wrong".into(),
        ));
    }
    Ok((auth, posted.value))
}

/// A form's fields turned into the API's request body and parsed by the API's own types, so
/// the console refuses exactly what the API refuses, in the same words.
fn as_api<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, ApiError> {
    let bytes = serde_json::to_vec(&v).map_err(|e| ApiError::Internal(e.to_string()))?;
    crate::extract::parse_json(&bytes)
}

/// The sign-in form, posted before any session: its token must match the cookie set with it.
fn pre_session_form<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
    let posted: Posted<T> = serde_urlencoded::from_bytes(body)
        .map_err(|e| ApiError::BadRequest(format!("form: {e}")))?;
    let cookie = req
        .cookie(PRE_CSRF)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if !same(&posted.csrf, &cookie) {
        return Err(ApiError::Forbidden("the form had expired".into()));
    }
    Ok(posted.value)
}

fn cookie<'a>(req: &HttpRequest, name: &'a str, value: String, max_age_s: i64) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(req.connection_info().scheme() == "https")
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_s))
        .finish()
}

/// The cookie that keeps the chosen language in this browser (not `HttpOnly`: it holds no
/// secret).
fn lang_cookie(req: &HttpRequest, lang: Lang) -> Cookie<'static> {
    let mut c = cookie(req, LANG, lang.code().to_owned(), 365 * 86_400);
    c.set_http_only(false);
    c
}

/// An HTML answer with the console's security headers.
fn html(status: StatusCode, body: String) -> HttpResponse {
    let mut r = HttpResponse::build(status);
    secure(&mut r);
    r.content_type("text/html; charset=utf-8").body(body)
}

/// A 303 to `to` with the console's security headers.
fn see_other(to: &str) -> actix_web::HttpResponseBuilder {
    let mut r = HttpResponse::SeeOther();
    secure(&mut r);
    r.insert_header((actix_web::http::header::LOCATION, to.to_owned()));
    r
}

fn secure(r: &mut actix_web::HttpResponseBuilder) {
    r.insert_header(("Content-Security-Policy", CSP))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("Cache-Control", "no-store"));
}

/// How a failure shows in the console: not signed in (or the session gone) goes back to the
/// sign-in page; anything else is a page that says what happened in the reader's language,
/// with the same status the API would answer.
fn failure(req: &HttpRequest, e: ApiError) -> HttpResponse {
    let status = e.status_code();
    if status == StatusCode::UNAUTHORIZED {
        let mut r = see_other("/sign-in");
        if req.cookie(SESSION).is_some() {
            r.cookie(cookie(req, SESSION, String::new(), 0));
        }
        return r.finish();
    }
    let t = lang_of(req).texts();
    let message = match status {
        StatusCode::NOT_FOUND => t.not_found,
        StatusCode::FORBIDDEN => t.forbidden,
        StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => t.conflict,
        _ => t.failed,
    };
    if status.is_server_error() {
        tracing::error!(error = %e, "console page failed");
    }
    // What was wrong with the reader's own input is said back to them (escaped by the page),
    // each field by the label the form gave it.
    let detail = match &e {
        ApiError::Validation { errors, .. } if !errors.is_empty() => Some(
            errors
                .iter()
                .map(|f| format!("{}: {}", label(t, &f.field), f.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => matches!(
            status,
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT
        )
        .then(|| e.to_string()),
    };
    pages::error_page(req, status, message, detail)
}

/// The label a form gives the field an API error names (`beneficiary.emails[0]` is the
/// address field of the first-contact form), in the reader's language; the name itself for a
/// field no form shows.
fn label<'a>(t: &'static Texts, field: &'a str) -> &'a str {
    let base = field.split('[').next().unwrap_or(field);
    match base {
        "beneficiary.name" | "name" => t.name,
        "beneficiary.emails" | "emails" | "email" => t.email,
        "beneficiary.audience" | "audience" => t.audience,
        "summary" => t.summary,
        "description" => t.text,
        "body" => t.text,
        "subject" => t.subject,
        "note" => t.handoff_note,
        "to" => t.hand_to,
        "armored" => t.certificates,
        "value" => t.value,
        "kind" => t.action_kind,
        "title" => t.title,
        "code" => t.code,
        "tags" => t.tags,
        "urgency" => t.urgency,
        "impact" => t.impact,
        "service_type" => t.service,
        "case" | "target" | "into" => t.case_number,
        _ => field,
    }
}
