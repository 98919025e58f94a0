//! The queue: the handler's views of the cases, and search.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use helpline_domain::access::Permission;
use helpline_domain::case::{Case, CaseStatus, Urgency};
use helpline_store::cases::{AssigneeFilter, CaseFilter, CaseSort};
use helpline_store::search;
use serde::Deserialize;

use super::pages::{render, staff_names, Chrome, PAGE};
use super::{failure, form, signed_in, Texts};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::page;

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
pub(super) struct QueueQuery {
    view: Option<String>,
    cursor: Option<String>,
}

/// The handler's queue: one of the views, a page at a time.
pub(super) async fn queue(
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
pub(super) async fn search_cases(
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
    let mut c = Chrome::staff(req, &names, auth);
    // A view refreshes itself as cases come and go; search results (a POST) stay as found.
    if query.is_empty() && next.is_none() && req.method() == actix_web::http::Method::GET {
        c.live = Some("self".into());
    }
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
                due: super::pages::when(due),
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
