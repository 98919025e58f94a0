//! Signing in and out of the console.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::pages::{render, Chrome};
use super::{failure, form, lang_of, pre_session_form, see_other, Lang};
use crate::app::AppState;
use crate::error::ApiError;

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    c: Chrome,
    error: Option<&'static str>,
    username: String,
}

/// The sign-in form, with a fresh double-submit CSRF token.
pub(super) async fn sign_in_page(req: HttpRequest) -> HttpResponse {
    sign_in_form(&req, StatusCode::OK, None, String::new())
}

fn sign_in_form(
    req: &HttpRequest,
    status: StatusCode,
    error: Option<&'static str>,
    username: String,
) -> HttpResponse {
    let token = hex::encode(rand::random::<[u8; 16]>());
    let mut c = Chrome::new(req, None);
    c.csrf = token.clone();
    let page = SignInPage { c, error, username };
    let mut r = render(status, &page);
    let _ = r.add_cookie(&super::cookie(req, super::PRE_CSRF, token, 3600));
    r
}

#[derive(Deserialize)]
struct SignInForm {
    username: String,
    password: String,
    #[serde(default)]
    code: String,
}

/// Signs in through the same use case as `POST /api/v1/auth/login`; the session's token goes
/// into the `HttpOnly` cookie, never into the page.
pub(super) async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let t = lang_of(&req).texts();
    let f: SignInForm = match pre_session_form(&req, &body) {
        Ok(f) => f,
        Err(_) => {
            return sign_in_form(
                &req,
                StatusCode::FORBIDDEN,
                Some(t.expired_form),
                String::new(),
            )
        }
    };
    let username = f.username.clone();
    let code = Some(f.code.trim().to_owned()).filter(|c| !c.is_empty());
    let address = crate::throttle::client_address(&req, &state.config.trusted_proxies);
    match crate::sign_in::sign_in(&state, f.username, f.password, code, address).await {
        // An account that must have a second factor and has none: its session is good for
        // setting one up, on the page that does it, and nothing else.
        Ok(s) if s.enrolment_only => {
            let ttl = i64::try_from(s.expires_in).unwrap_or(3600);
            see_other("/second-factor")
                .cookie(super::cookie(&req, super::SESSION, s.access_token, ttl))
                .cookie(super::cookie(&req, super::PRE_CSRF, String::new(), 0))
                .finish()
        }
        Ok(s) => {
            let ttl = i64::try_from(s.expires_in).unwrap_or(3600);
            let user = s.user;
            // The language the person chose before, in whatever browser, comes with them.
            let chosen = match state
                .read(move |c| helpline_store::preferences::language(c, user))
                .await
            {
                Ok(l) => l.as_deref().and_then(Lang::parse),
                Err(e) => return failure(&req, e),
            };
            let mut r = see_other("/");
            r.cookie(super::cookie(&req, super::SESSION, s.access_token, ttl))
                .cookie(super::cookie(&req, super::PRE_CSRF, String::new(), 0));
            if let Some(lang) = chosen {
                r.cookie(super::lang_cookie(&req, lang));
            }
            r.finish()
        }
        Err(ApiError::TooManyRequests { .. }) => sign_in_form(
            &req,
            StatusCode::TOO_MANY_REQUESTS,
            Some(t.paused),
            username,
        ),
        Err(ApiError::Unauthorized(_)) => {
            sign_in_form(&req, StatusCode::UNAUTHORIZED, Some(t.wrong), username)
        }
        Err(e) => failure(&req, e),
    }
}

/// Gives the session up (as `POST /api/v1/auth/logout`) and forgets the cookie.
pub(super) async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let run = async {
        let (auth, super::pages::NoFields {}) = form(&state, &req, &body).await?;
        crate::sign_in::sign_out(&state, &auth, &super::session_token(&req)?).await
    };
    match run.await {
        Ok(()) => see_other("/sign-in")
            .cookie(super::cookie(&req, super::SESSION, String::new(), 0))
            .finish(),
        Err(e) => failure(&req, e),
    }
}
