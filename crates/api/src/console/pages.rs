//! The console's pages: each handler parses, authorises, calls the store or a use case, and
//! renders a template.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use helpline_domain::access::Permission;
use helpline_domain::case::{Case, CaseStatus, Impact, Priority, Urgency};
use helpline_domain::ids::UserId;
use helpline_domain::user::Actor;
use helpline_store::cases::{AssigneeFilter, CaseFilter, CaseSort};
use helpline_store::search;
use helpline_store::timeline::{TimelineEntry, TimelineItem};
use serde::Deserialize;

use super::{
    csrf, failure, form, html, lang_of, pre_session_form, see_other, signed_in, Lang, Texts,
};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::page;
use crate::service::cases::FirstContact;

/// Cases per queue page, entries per timeline page.
const PAGE: i64 = 50;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(queue)))
        .service(web::resource("/search").route(web::post().to(search_cases)))
        .service(
            web::resource("/cases/new")
                .route(web::get().to(new_case_page))
                .route(web::post().to(open_case)),
        )
        .service(web::resource("/cases/{reference}").route(web::get().to(case_page)))
        .service(web::resource("/cases/{reference}/status").route(web::post().to(change_status)))
        .service(
            web::resource("/sign-in")
                .route(web::get().to(sign_in_page))
                .route(web::post().to(sign_in)),
        )
        .service(web::resource("/sign-out").route(web::post().to(sign_out)))
        .service(web::resource("/language/{code}").route(web::get().to(language)))
        .service(web::resource("/static/console.css").route(web::get().to(stylesheet)))
        .service(web::resource("/favicon.ico").route(web::get().to(icon)))
        .service(web::resource("/static/favicon.svg").route(web::get().to(icon)));
}

/// What every page shows around its content.
struct Chrome {
    lang: Lang,
    t: &'static Texts,
    /// The signed-in person's name; `None` on the sign-in page.
    me: Option<String>,
    csrf: String,
}

impl Chrome {
    fn new(req: &HttpRequest, me: Option<String>) -> Chrome {
        let lang = lang_of(req);
        Chrome {
            lang,
            t: lang.texts(),
            me,
            csrf: csrf(req),
        }
    }

    fn langs(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL
            .iter()
            .map(|l| (l.code(), l.name(), *l == self.lang))
            .collect()
    }
}

fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
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

// ---- signing in and out ----

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    c: Chrome,
    error: Option<&'static str>,
    username: String,
}

/// The sign-in form, with a fresh double-submit CSRF token.
async fn sign_in_page(req: HttpRequest) -> HttpResponse {
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
async fn sign_in(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
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
        Ok(s) if s.enrolment_only => {
            sign_in_form(&req, StatusCode::FORBIDDEN, Some(t.needs_factor), username)
        }
        Ok(s) => {
            let ttl = i64::try_from(s.expires_in).unwrap_or(3600);
            see_other("/")
                .cookie(super::cookie(&req, super::SESSION, s.access_token, ttl))
                .cookie(super::cookie(&req, super::PRE_CSRF, String::new(), 0))
                .finish()
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

#[derive(Deserialize)]
struct Nothing {}

/// Gives the session up (as `POST /api/v1/auth/logout`) and forgets the cookie.
async fn sign_out(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let run = async {
        let (auth, Nothing {}) = form(&state, &req, &body).await?;
        crate::sign_in::sign_out(&state, &auth, &super::session_token(&req)?).await
    };
    match run.await {
        Ok(()) => see_other("/sign-in")
            .cookie(super::cookie(&req, super::SESSION, String::new(), 0))
            .finish(),
        Err(e) => failure(&req, e),
    }
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

// ---- the queue ----

/// The queue's views: which cases, named for the handler's day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Open,
    Mine,
    Unassigned,
    Waiting,
    Critical,
}

impl View {
    const ALL: [View; 5] = [
        View::Mine,
        View::Unassigned,
        View::Waiting,
        View::Critical,
        View::Open,
    ];

    fn parse(s: Option<&str>) -> View {
        View::ALL
            .into_iter()
            .find(|v| Some(v.slug()) == s)
            .unwrap_or(View::Mine)
    }

    fn slug(self) -> &'static str {
        match self {
            View::Open => "open",
            View::Mine => "mine",
            View::Unassigned => "unassigned",
            View::Waiting => "waiting",
            View::Critical => "critical",
        }
    }

    fn label(self, t: &Texts) -> &'static str {
        match self {
            View::Open => t.view_open,
            View::Mine => t.view_mine,
            View::Unassigned => t.view_unassigned,
            View::Waiting => t.view_waiting,
            View::Critical => t.view_critical,
        }
    }

    fn filter(self, auth: &Auth) -> CaseFilter {
        let active = vec![CaseStatus::New, CaseStatus::Open, CaseStatus::Pending];
        let mut f = CaseFilter {
            status: active,
            ..CaseFilter::default()
        };
        match self {
            View::Open => {}
            View::Mine => {
                f.assignee = auth.actor().user_id().map(AssigneeFilter::User);
            }
            View::Unassigned => f.assignee = Some(AssigneeFilter::Unassigned),
            View::Waiting => f.status = vec![CaseStatus::Pending],
            View::Critical => f.urgency = vec![Urgency::Critical],
        }
        f
    }
}

/// A case as a queue row shows it.
struct Row {
    reference: i64,
    summary: String,
    status: &'static str,
    priority: String,
    assignee: String,
    due: String,
    late: bool,
    confidential: bool,
    critical: bool,
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    c: Chrome,
    views: Vec<(&'static str, &'static str, bool)>,
    view: &'static str,
    rows: Vec<Row>,
    next: Option<String>,
    query: String,
}

#[derive(Deserialize)]
struct QueueQuery {
    view: Option<String>,
    cursor: Option<String>,
}

/// The handler's queue: one of the views, a page at a time.
async fn queue(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<QueueQuery>,
) -> HttpResponse {
    let run = async {
        let auth = signed_in(&state, &req).await?;
        auth.require(Permission::ReadCases)?;
        let view = View::parse(q.view.as_deref());
        let (limit, cursor) = page(q.cursor.as_deref(), Some(PAGE))?;
        let (who, filter, now) = (auth.0.clone(), view.filter(&auth), state.now());
        let found = state
            .read(move |c| {
                helpline_store::cases::list(
                    c,
                    &who,
                    &filter,
                    CaseSort::CreatedDesc,
                    cursor.as_ref(),
                    limit,
                )
            })
            .await?;
        let cases: Vec<Case> = found
            .items
            .into_iter()
            .map(|mut c| {
                c.assess(now);
                c
            })
            .collect();
        queue_page(
            &state,
            &req,
            &auth,
            view,
            cases,
            found.next_cursor,
            String::new(),
        )
        .await
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

#[derive(Deserialize)]
struct SearchForm {
    q: String,
    #[serde(default)]
    view: String,
}

/// Full-text search, as `GET /api/v1/cases?q=`: posted, so that a name searched for never
/// lands in a URL, a history or a proxy's log.
async fn search_cases(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let run = async {
        let (auth, f): (Auth, SearchForm) = form(&state, &req, &body).await?;
        auth.require(Permission::ReadCases)?;
        let view = View::parse(Some(f.view.as_str()));
        let query = helpline_domain::search::Query::parse(&f.q).map_err(ApiError::from)?;
        if state.read(search::pending).await? {
            let st = state.clone();
            web::block(move || search::catch_up(&st.store))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))??;
        }
        let (who, filter, now) = (auth.0.clone(), view.filter(&auth), state.now());
        let found = state
            .read(move |c| search::search(c, &who, &filter, &query, None, PAGE))
            .await?;
        let cases = found
            .items
            .into_iter()
            .map(|h| {
                let mut c = h.case;
                c.assess(now);
                c
            })
            .collect();
        queue_page(&state, &req, &auth, view, cases, None, f.q).await
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

async fn queue_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    auth: &Auth,
    view: View,
    cases: Vec<Case>,
    next: Option<String>,
    query: String,
) -> Result<HttpResponse, ApiError> {
    let names = staff_names(state).await?;
    let c = Chrome::new(req, me(&names, auth));
    let rows = cases
        .into_iter()
        .map(|k| {
            let (due, late) = if k.first_response_at.is_none() {
                (k.first_response_due_at, k.first_response_breached)
            } else {
                (k.resolution_due_at, k.resolution_breached)
            };
            Row {
                reference: k.reference.into(),
                summary: k.summary.as_str().to_owned(),
                status: c.t.status(&k.status),
                priority: k.priority.as_str().to_owned(),
                assignee: k
                    .assignee_id
                    .and_then(|u| names.get(&u).cloned())
                    .unwrap_or_else(|| c.t.nobody.to_owned()),
                due: due.format("%Y-%m-%d %H:%M").to_string(),
                late,
                confidential: k.confidential,
                critical: k.urgency == Urgency::Critical,
            }
        })
        .collect();
    let views = View::ALL
        .iter()
        .map(|v| (v.slug(), v.label(c.t), *v == view))
        .collect();
    Ok(render(
        StatusCode::OK,
        &QueuePage {
            c,
            views,
            view: view.slug(),
            rows,
            next,
            query,
        },
    ))
}

/// Staff members' names by id (a helpline has tens of them).
async fn staff_names(state: &web::Data<AppState>) -> Result<HashMap<UserId, String>, ApiError> {
    let users = state
        .read(|c| helpline_store::users::list(c, None, 1000))
        .await?;
    Ok(users
        .items
        .into_iter()
        .map(|u| (u.id, u.display_name.as_str().to_owned()))
        .collect())
}

fn me(names: &HashMap<UserId, String>, auth: &Auth) -> Option<String> {
    Some(
        auth.actor()
            .user_id()
            .and_then(|u| names.get(&u).cloned())
            .unwrap_or_default(),
    )
}

// ---- a first contact ----

/// The first-contact form as typed (kept to show it again with what is wrong).
#[derive(Deserialize, Default)]
struct FirstContactForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    service_type: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    confidential: Option<String>,
}

type Choices = Vec<(String, String)>;

#[derive(Template)]
#[template(path = "console/new_case.html")]
struct NewCasePage {
    c: Chrome,
    f: FirstContactForm,
    errors: Vec<(String, String)>,
    audiences: Choices,
    services: Choices,
    urgencies: Choices,
    impacts: Choices,
    /// The priority matrix: per urgency (most urgent first), the priority per impact.
    matrix: Vec<(&'static str, Vec<&'static str>)>,
}

fn new_case_form(
    state: &AppState,
    c: Chrome,
    f: FirstContactForm,
    errors: Vec<(String, String)>,
) -> NewCasePage {
    let t = c.t;
    let urgencies: Vec<Urgency> = vec![
        Urgency::Critical,
        Urgency::High,
        Urgency::Medium,
        Urgency::Low,
    ];
    let impacts = [Impact::High, Impact::Medium, Impact::Low];
    let terms = |tax: &helpline_domain::taxonomy::Taxonomy| -> Choices {
        tax.terms()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    NewCasePage {
        f,
        errors,
        audiences: terms(&state.audiences),
        services: terms(&state.service_types),
        urgencies: urgencies
            .iter()
            .map(|u| (u.as_str().to_owned(), t.urgency_name(u).to_owned()))
            .collect(),
        impacts: impacts
            .iter()
            .map(|i| (i.as_str().to_owned(), t.impact_name(i).to_owned()))
            .collect(),
        matrix: urgencies
            .iter()
            .map(|u| {
                (
                    t.urgency_name(u),
                    impacts
                        .iter()
                        .map(|i| Priority::derive(*u, *i).as_str())
                        .collect(),
                )
            })
            .collect(),
        c,
    }
}

/// The first-contact form (urgency medium, impact medium to start with).
async fn new_case_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let run = async {
        let auth = signed_in(&state, &req).await?;
        auth.require(Permission::CreateCase)?;
        let names = staff_names(&state).await?;
        let f = FirstContactForm {
            urgency: "medium".into(),
            impact: "medium".into(),
            ..FirstContactForm::default()
        };
        let page = new_case_form(&state, Chrome::new(&req, me(&names, &auth)), f, Vec::new());
        Ok::<_, ApiError>(render(StatusCode::OK, &page))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// Opens the case through the same request and use case as `POST /api/v1/cases`; what is
/// wrong is shown on the form, next to what was typed.
async fn open_case(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let run = async {
        let (auth, f): (Auth, FirstContactForm) = form(&state, &req, &body).await?;
        auth.require(Permission::CreateCase)?;
        let mut beneficiary = serde_json::json!({"name": f.name.trim()});
        if !f.email.trim().is_empty() {
            beneficiary["emails"] = serde_json::json!([f.email.trim()]);
        }
        if !f.audience.is_empty() {
            beneficiary["audience"] = serde_json::json!(f.audience);
        }
        let mut request = serde_json::json!({
            "beneficiary": beneficiary,
            "summary": f.summary.trim(),
            "service_type": f.service_type,
            "urgency": f.urgency,
            "impact": f.impact,
            "confidential": f.confidential.is_some(),
        });
        if !f.description.trim().is_empty() {
            request["description"] = serde_json::json!(f.description.trim());
        }
        let parsed = serde_json::to_vec(&request)
            .map_err(|e| ApiError::Internal(e.to_string()))
            .and_then(|bytes| {
                crate::extract::parse_json::<crate::routes::cases::CreateCase>(&bytes)
            })
            .and_then(|b| crate::routes::cases::first_contact_request(&state, &auth, b));
        let (requester, new) = match parsed {
            Ok(p) => p,
            Err(e) => return form_errors(&state, &req, &auth, f, e).await,
        };
        let (policy, caller) = (state.policy.clone(), auth.0.clone());
        let outcome = state
            .write(&auth, move |tx| {
                crate::service::cases::first_contact(tx, &caller, requester, new, &policy)
            })
            .await;
        match outcome {
            Ok(FirstContact::Opened(case)) => {
                let case = *case;
                Ok(see_other(&format!("/cases/{}", i64::from(case.reference))).finish())
            }
            Ok(FirstContact::Referred) => {
                let names = staff_names(&state).await?;
                Ok(render(
                    StatusCode::ACCEPTED,
                    &Referred {
                        c: Chrome::new(&req, me(&names, &auth)),
                    },
                ))
            }
            Err(e) => form_errors(&state, &req, &auth, f, e).await,
        }
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

#[derive(Template)]
#[template(path = "console/referred.html")]
struct Referred {
    c: Chrome,
}

/// The form again with what is wrong, or the failure page for anything else.
async fn form_errors(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    auth: &Auth,
    f: FirstContactForm,
    e: ApiError,
) -> Result<HttpResponse, ApiError> {
    let errors: Vec<(String, String)> = match &e {
        ApiError::Validation { errors, .. } => errors
            .iter()
            .map(|x| (x.field.clone(), x.message.clone()))
            .collect(),
        ApiError::BadRequest(m) | ApiError::Conflict(m) => vec![(String::new(), m.clone())],
        _ => return Err(e),
    };
    let names = staff_names(state).await?;
    let page = new_case_form(state, Chrome::new(req, me(&names, auth)), f, errors);
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

// ---- a case ----

/// One line of the timeline as the page shows it.
struct Entry {
    kind: &'static str,
    label: &'static str,
    at: String,
    at_iso: String,
    by: String,
    title: String,
    body: String,
}

#[derive(Template)]
#[template(path = "console/case.html")]
struct CasePage {
    c: Chrome,
    reference: i64,
    summary: String,
    status: &'static str,
    priority: String,
    urgency: &'static str,
    assignee: String,
    service: String,
    opened: String,
    first_response_due: String,
    first_response_late: bool,
    resolution_due: String,
    resolution_late: bool,
    confidential: bool,
    /// The version the page shows, sent back with a change (the API's ETag).
    version: i64,
    /// Where the case may go from here, if the reader may move it.
    next_statuses: Vec<(&'static str, &'static str)>,
    entries: Vec<Entry>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct CaseQuery {
    cursor: Option<String>,
}

/// A case: its record and its timeline, a page at a time. Read through the API's one rule of
/// who may see a case, which also writes the read of a confidential case to the access log.
async fn case_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    q: web::Query<CaseQuery>,
) -> HttpResponse {
    let run = async {
        let auth = signed_in(&state, &req).await?;
        auth.require(Permission::ReadCases)?;
        let case = crate::routes::case_in_path(&state, &auth, &reference).await?;
        let (limit, cursor) = page(q.cursor.as_deref(), Some(PAGE))?;
        let with_audit = auth.0.may(Permission::ReadAudit);
        let id = case.id;
        let timeline = state
            .read(move |c| {
                helpline_store::timeline::timeline(c, id, with_audit, cursor.as_ref(), limit)
            })
            .await?;
        let names = staff_names(&state).await?;
        let c = Chrome::new(&req, me(&names, &auth));
        let entries = timeline
            .items
            .iter()
            .map(|e| entry(c.t, &names, e))
            .collect();
        let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
        Ok::<_, ApiError>(render(
            StatusCode::OK,
            &CasePage {
                reference: case.reference.into(),
                summary: case.summary.as_str().to_owned(),
                status: c.t.status(&case.status),
                priority: case.priority.as_str().to_owned(),
                urgency: c.t.urgency_name(&case.urgency),
                assignee: case
                    .assignee_id
                    .and_then(|u| names.get(&u).cloned())
                    .unwrap_or_else(|| c.t.nobody.to_owned()),
                service: state
                    .service_types
                    .terms()
                    .get(case.service_type.as_str())
                    .cloned()
                    .unwrap_or_else(|| case.service_type.as_str().to_owned()),
                opened: when(case.created_at),
                first_response_due: when(case.first_response_due_at),
                first_response_late: case.first_response_breached,
                resolution_due: when(case.resolution_due_at),
                resolution_late: case.resolution_breached,
                confidential: case.confidential,
                version: case.version,
                next_statuses: if auth.0.may(Permission::UpdateCase) {
                    case.status
                        .allowed_next()
                        .iter()
                        .map(|s| (s.as_str(), c.t.status(s)))
                        .collect()
                } else {
                    Vec::new()
                },
                entries,
                next: timeline.next_cursor,
                c,
            },
        ))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// (Strings only: a form's fields reach serde as text through the CSRF wrapper's flatten.)
#[derive(Deserialize)]
struct StatusForm {
    version: String,
    status: String,
}

/// Moves a case on, through the same change as `PATCH /api/v1/cases/{id}`: refused with the
/// "changed since you opened it" page when someone else changed the case meanwhile.
async fn change_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let run = async {
        let (auth, f): (Auth, StatusForm) = form(&state, &req, &body).await?;
        auth.require(Permission::ReadCases)?;
        let case = crate::routes::writable_case(&state, &auth, &reference).await?;
        let bytes = serde_json::to_vec(&serde_json::json!({"status": f.status}))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let patch = crate::extract::parse_json::<crate::routes::cases::PatchCase>(&bytes)?;
        let version = f
            .version
            .parse()
            .map_err(|_| ApiError::BadRequest("form: version is not a number".into()))?;
        let changed =
            crate::routes::cases::change_case(&state, &auth, &case, version, patch).await?;
        Ok::<_, ApiError>(see_other(&format!("/cases/{}", i64::from(changed.reference))).finish())
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

fn actor_name(names: &HashMap<UserId, String>, a: &Actor) -> String {
    match a {
        Actor::User(u) => names.get(u).cloned().unwrap_or_default(),
        Actor::Token(_) => "integration".into(),
        Actor::System => "Helpline".into(),
    }
}

fn entry(t: &Texts, names: &HashMap<UserId, String>, e: &TimelineEntry) -> Entry {
    let (kind, label, by, title, body) = match &e.item {
        TimelineItem::Message(m) => (
            "message",
            t.kind_message,
            actor_name(names, &m.recorded_by),
            format!(
                "{} · {}{}",
                if m.direction.as_str() == "in" {
                    t.inbound
                } else {
                    t.outbound
                },
                m.channel.as_str(),
                m.subject
                    .as_ref()
                    .map(|s| format!(" · {}", s.as_str()))
                    .unwrap_or_default()
            ),
            m.body.as_str().to_owned(),
        ),
        TimelineItem::Comment(c) => (
            "comment",
            t.kind_comment,
            actor_name(names, &c.author),
            String::new(),
            c.body.as_str().to_owned(),
        ),
        TimelineItem::Action(a) => (
            "action",
            t.kind_action,
            actor_name(names, &a.performed_by),
            a.kind.as_str().replace('_', " "),
            a.description.as_str().to_owned(),
        ),
        TimelineItem::NextStep(s) => (
            "next-step",
            t.kind_next_step,
            actor_name(names, &s.created_by),
            s.title.as_str().to_owned(),
            String::new(),
        ),
        TimelineItem::Party(p) => (
            "party",
            t.kind_party,
            actor_name(names, &p.added_by),
            p.role.as_str().replace('_', " "),
            p.note.as_str().to_owned(),
        ),
        TimelineItem::Handoff(h) => (
            "handoff",
            t.kind_handoff,
            actor_name(names, &h.handed_by),
            String::new(),
            h.note.as_str().to_owned(),
        ),
        TimelineItem::Audit(a) => (
            "audit",
            t.kind_audit,
            actor_name(names, &a.record.actor),
            a.record.action.as_str().replace('_', " "),
            String::new(),
        ),
    };
    Entry {
        kind,
        label,
        at: e.at.format("%Y-%m-%d %H:%M").to_string(),
        at_iso: e.at.to_rfc3339(),
        by,
        title,
        body,
    }
}
