//! What every console page shares (the frame around it, rendering, the error page, the static
//! files, the language switch) and the routes. Each handler, in its own module, parses,
//! authorises, calls the store or a use case, and renders a template.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use helpline_domain::ids::UserId;

use super::{csrf, html, lang_of, see_other, Lang, Texts};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;

/// Cases per queue page, entries per timeline page.
pub(super) const PAGE: i64 = 50;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(super::queue::queue)))
        .service(web::resource("/search").route(web::post().to(super::queue::search_cases)))
        .service(
            web::resource("/cases/new")
                .route(web::get().to(super::first_contact::new_case_page))
                .route(web::post().to(super::first_contact::open_case)),
        )
        .service(web::resource("/cases/{reference}").route(web::get().to(super::case::case_page)))
        .service(
            web::resource("/cases/{reference}/status")
                .route(web::post().to(super::case::change_status)),
        )
        .service(
            web::resource("/sign-in")
                .route(web::get().to(super::sign_in::sign_in_page))
                .route(web::post().to(super::sign_in::sign_in)),
        )
        .service(web::resource("/sign-out").route(web::post().to(super::sign_in::sign_out)))
        .service(web::resource("/language/{code}").route(web::get().to(language)))
        .service(web::resource("/static/console.css").route(web::get().to(stylesheet)))
        .service(web::resource("/favicon.ico").route(web::get().to(icon)))
        .service(web::resource("/static/favicon.svg").route(web::get().to(icon)));
}

/// What every page shows around its content.
pub(super) struct Chrome {
    pub(super) lang: Lang,
    pub(super) t: &'static Texts,
    /// The signed-in person's name; `None` on the sign-in page.
    pub(super) me: Option<String>,
    pub(super) csrf: String,
}

impl Chrome {
    pub(super) fn new(req: &HttpRequest, me: Option<String>) -> Chrome {
        let lang = lang_of(req);
        Chrome {
            lang,
            t: lang.texts(),
            me,
            csrf: csrf(req),
        }
    }

    pub(super) fn langs(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL
            .iter()
            .map(|l| (l.code(), l.name(), *l == self.lang))
            .collect()
    }
}

pub(super) fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    c: Chrome,
    message: &'static str,
    /// The case a failed change was made on (`/cases/1042`), to go back to it.
    case: Option<String>,
}

pub(super) fn error_page(
    req: &HttpRequest,
    status: StatusCode,
    message: &'static str,
) -> HttpResponse {
    // A change refused on a case leads back to it (read again: what changed shows).
    let case = req
        .path()
        .strip_prefix("/cases/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(r, _)| r.bytes().all(|b| b.is_ascii_digit()))
        .map(|(r, _)| format!("/cases/{r}"));
    render(
        status,
        &ErrorPage {
            c: Chrome::new(req, None),
            message,
            case,
        },
    )
}

/// Remembers the chosen language (a cookie; nothing else changes) and goes back to the queue.
async fn language(req: HttpRequest, code: web::Path<String>) -> HttpResponse {
    let lang = Lang::parse(&code).unwrap_or(Lang::En);
    let mut c = super::cookie(&req, super::LANG, lang.code().to_owned(), 365 * 86_400);
    c.set_http_only(false);
    see_other("/").cookie(c).finish()
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(include_str!("../../static/console.css"))
}

/// The browser's tab icon (asked for at /favicon.ico whatever the page says).
async fn icon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(include_str!("../../static/favicon.svg"))
}

/// Staff members' names by id (a helpline has tens of them).
pub(super) async fn staff_names(
    state: &web::Data<AppState>,
) -> Result<HashMap<UserId, String>, ApiError> {
    let users = state
        .read(|c| helpline_store::users::list(c, None, 1000))
        .await?;
    Ok(users
        .items
        .into_iter()
        .map(|u| (u.id, u.display_name.as_str().to_owned()))
        .collect())
}

pub(super) fn me(names: &HashMap<UserId, String>, auth: &Auth) -> Option<String> {
    Some(
        auth.actor()
            .user_id()
            .and_then(|u| names.get(&u).cloned())
            .unwrap_or_default(),
    )
}
