//! What every console page shares (the frame around it, rendering, the error page, the static
//! files, the language switch) and the routes. Each handler, in its own module, parses,
//! authorises, calls the store or a use case, and renders a template.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use helpline_domain::access::Permission;
use helpline_domain::ids::UserId;

use super::kept::Kept;
use super::{compose, csrf, html, lang_of, lead, see_other, Lang, Texts};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;

/// A form that carries nothing but its CSRF token (a button: sign out, retry, unmerge …).
#[derive(serde::Deserialize)]
pub(super) struct NoFields {}

/// An instant as every page shows it (UTC, to the minute).
pub(super) fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

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
                .route(web::post().to(compose::change_status)),
        )
        .service(web::resource("/cases/{reference}/edit").route(web::post().to(compose::edit)))
        .service(web::resource("/cases/{reference}/reply").route(web::post().to(compose::reply)))
        .service(
            web::resource("/cases/{reference}/messages")
                .route(web::post().to(compose::record_message)),
        )
        .service(
            web::resource("/cases/{reference}/comments").route(web::post().to(compose::comment)),
        )
        .service(web::resource("/cases/{reference}/actions").route(web::post().to(compose::action)))
        .service(
            web::resource("/cases/{reference}/next-steps")
                .route(web::post().to(compose::next_step)),
        )
        .service(
            web::resource("/cases/{reference}/handoff").route(web::post().to(compose::hand_off)),
        )
        .service(
            web::resource("/cases/{reference}/certificates")
                .route(web::post().to(compose::certificate)),
        )
        .service(
            web::resource("/cases/{reference}/indicators")
                .route(web::post().to(compose::indicator)),
        )
        .service(
            web::resource("/cases/{reference}/acknowledge")
                .route(web::post().to(compose::acknowledge)),
        )
        .service(
            web::resource("/cases/{reference}/related")
                .route(web::get().to(super::analyst::related)),
        )
        .service(
            web::resource("/cases/{reference}/analysis")
                .route(web::get().to(super::analyst::analysis)),
        )
        .service(
            web::resource("/cases/{reference}/links").route(web::post().to(super::analyst::link)),
        )
        .service(
            web::resource("/cases/{reference}/links/{target}/remove")
                .route(web::post().to(super::analyst::unlink)),
        )
        .service(
            web::resource("/cases/{reference}/merge").route(web::post().to(super::analyst::merge)),
        )
        .service(
            web::resource("/cases/{reference}/unmerge")
                .route(web::post().to(super::analyst::unmerge)),
        )
        .service(
            web::resource("/cases/{reference}/export")
                .route(web::post().to(super::analyst::export)),
        )
        .service(
            web::resource("/cases/{reference}/messages/{message}/extract")
                .route(web::post().to(super::analyst::extract)),
        )
        .service(web::resource("/cases/{reference}/reads").route(web::get().to(lead::reads)))
        .service(web::resource("/escalations").route(web::get().to(lead::escalations)))
        .service(web::resource("/quarantine").route(web::get().to(lead::quarantine)))
        .service(web::resource("/quarantine/{id}").route(web::get().to(lead::quarantined)))
        .service(web::resource("/quarantine/{id}/assign").route(web::post().to(lead::assign)))
        .service(web::resource("/quarantine/{id}/retry").route(web::post().to(lead::retry)))
        .service(web::resource("/workload").route(web::get().to(lead::workload)))
        .service(web::resource("/statistics").route(web::get().to(super::figures::statistics)))
        .service(
            web::resource("/statistics.csv").route(web::get().to(super::figures::statistics_csv)),
        )
        .service(
            web::resource("/second-factor")
                .route(web::get().to(super::two_factor::page))
                .route(web::post().to(super::two_factor::begin)),
        )
        .service(
            web::resource("/second-factor/confirm")
                .route(web::post().to(super::two_factor::confirm)),
        )
        .service(
            web::resource("/sign-in")
                .route(web::get().to(super::sign_in::sign_in_page))
                .route(web::post().to(super::sign_in::sign_in)),
        )
        .service(web::resource("/sign-out").route(web::post().to(super::sign_in::sign_out)))
        .service(web::resource("/language/{code}").route(web::get().to(language)))
        .service(web::resource("/static/console.css").route(web::get().to(stylesheet)))
        .service(web::resource("/static/console.js").route(web::get().to(script)))
        .service(web::resource("/live/cases/{reference}").route(web::get().to(live_case)))
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
    /// The pages the reader's role opens, besides the queue: (address, label).
    pub(super) nav: Vec<(&'static str, &'static str)>,
    /// What the page polls to show changes without a reload (`self`: the page itself).
    pub(super) live: Option<String>,
}

impl Chrome {
    pub(super) fn new(req: &HttpRequest, me: Option<String>) -> Chrome {
        let lang = lang_of(req);
        Chrome {
            lang,
            t: lang.texts(),
            me,
            csrf: csrf(req),
            nav: Vec::new(),
            live: None,
        }
    }

    /// The frame of a signed-in page: the reader's name, and the pages their role opens.
    pub(super) fn staff(req: &HttpRequest, names: &HashMap<UserId, String>, auth: &Auth) -> Chrome {
        let mut c = Chrome::new(req, me(names, auth));
        let t = c.t;
        if auth.1.enrolment_only {
            c.nav = vec![("/second-factor", t.nav_security)];
            return c;
        }
        c.nav = [
            (Permission::Oversee, "/escalations", t.nav_escalations),
            (
                Permission::ManageQuarantine,
                "/quarantine",
                t.nav_quarantine,
            ),
            (Permission::Oversee, "/workload", t.nav_workload),
            (Permission::ReadStats, "/statistics", t.nav_stats),
        ]
        .into_iter()
        .filter(|(p, _, _)| auth.0.may(*p))
        .map(|(_, href, label)| (href, label))
        .chain([("/second-factor", t.nav_security)])
        .collect();
        c
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
    /// What was wrong with what the reader sent (a field and why), when that is the failure.
    detail: Option<String>,
    /// The case a failed change was made on (`/cases/1042`), to go back to it.
    case: Option<String>,
}

pub(super) fn error_page(
    req: &HttpRequest,
    status: StatusCode,
    message: &'static str,
    detail: Option<String>,
) -> HttpResponse {
    // A change refused on a case leads back to it (read again: what changed shows); a case
    // not found (or hidden) is not linked to.
    let refused = matches!(
        status,
        StatusCode::CONFLICT
            | StatusCode::PRECONDITION_FAILED
            | StatusCode::UNPROCESSABLE_ENTITY
            | StatusCode::BAD_REQUEST
    );
    let case = req
        .path()
        .strip_prefix("/cases/")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(r, _)| r.bytes().all(|b| b.is_ascii_digit()))
        .map(|(r, _)| format!("/cases/{r}"))
        .filter(|_| refused);
    render(
        status,
        &ErrorPage {
            c: Chrome::new(req, None),
            message,
            detail,
            case,
        },
    )
}

/// Remembers the chosen language (in this browser, and with the account of whoever is signed
/// in, so it follows them) and goes back to the queue.
async fn language(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> HttpResponse {
    let lang = Lang::parse(&code).unwrap_or(Lang::En);
    if let Ok(auth) = super::signed_in(&state, &req).await {
        if let Some(user) = auth.actor().user_id() {
            let stored = state
                .write(&auth, move |tx| {
                    helpline_store::preferences::set_language(tx, user, lang.code())
                })
                .await;
            if let Err(e) = stored {
                return super::failure(&req, e);
            }
        }
    }
    see_other("/")
        .cookie(super::lang_cookie(&req, lang))
        .finish()
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(include_str!("../../static/console.css"))
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(include_str!("../../static/console.js"))
}

/// What an open case page polls: a mark that moves with every change to the case or its log
/// (its version and the newest audit event about it), nothing of its content. The case is
/// found with the one visibility rule; the mark is not a read, so it is not in the access log.
async fn live_case(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
) -> HttpResponse {
    let run = async {
        let auth = super::signed_in(&state, &req).await?;
        auth.require(Permission::ReadCases)?;
        let at = crate::routes::path_id(helpline_domain::case::CaseLocator::parse(&reference))?;
        let who = auth.0.clone();
        let mark = state
            .read(move |c| {
                let case = helpline_store::cases::get_visible(c, at, &who)?;
                let seq = helpline_store::audit::last_change_of_case(c, case.id)?;
                Ok(format!("{}-{seq}", case.version))
            })
            .await?;
        Ok::<_, ApiError>(
            HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .insert_header(("Cache-Control", "no-store"))
                .body(mark),
        )
    };
    // A poll is answered with a status only: the page's script ignores anything but a mark.
    run.await
        .unwrap_or_else(|e| HttpResponse::build(e.status_code()).finish())
}

/// The browser's tab icon (asked for at /favicon.ico whatever the page says).
async fn icon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(include_str!("../../static/favicon.svg"))
}

/// Staff members' names by id, as every page shows them (who holds a case, who wrote an
/// entry), read again every five seconds (of real time) in the background (see [`Kept`]): a
/// helpline has tens of staff, and a renamed or new colleague shows within that time.
pub struct StaffNames(Kept<(), Names>);

impl Default for StaffNames {
    fn default() -> Self {
        let five_seconds = chrono::Duration::seconds(5);
        StaffNames(Kept::new("the staff's names", five_seconds, five_seconds))
    }
}

/// Staff members' names by id.
type Names = Arc<HashMap<UserId, String>>;

/// Staff members' names by id (a helpline has tens of them).
pub(super) async fn staff_names(state: &web::Data<AppState>) -> Result<Names, ApiError> {
    let reader = state.clone();
    state
        .staff_names
        .0
        .get((), chrono::Utc::now(), move || async move {
            read_staff_names(&reader).await
        })
        .await
}

/// Reads the staff's names.
async fn read_staff_names(state: &web::Data<AppState>) -> Result<Names, ApiError> {
    let users = state
        .read(|c| helpline_store::users::list(c, None, 1000))
        .await?;
    Ok(Arc::new(
        users
            .items
            .into_iter()
            .map(|u| (u.id, u.display_name.as_str().to_owned()))
            .collect(),
    ))
}

pub(super) fn me(names: &HashMap<UserId, String>, auth: &Auth) -> Option<String> {
    Some(
        auth.actor()
            .user_id()
            .and_then(|u| names.get(&u).cloned())
            .unwrap_or_default(),
    )
}
