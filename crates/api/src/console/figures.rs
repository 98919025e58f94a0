//! The lead's statistics: cases opened per week and per service over twelve weeks, drawn on
//! the server as SVG, and the CSV; the report the API makes, kept a minute per reader.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};
use helpline_domain::access::Permission;
use helpline_domain::ids::UserId;
use helpline_store::stats::{self, Dimension, Period};

use super::kept::Kept;
use super::lead::lead_page;
use super::pages::{when, Chrome};
use super::{failure, signed_in};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;

/// One bar of a chart, laid out for the SVG (coordinates in the viewBox's units).
struct Bar {
    label: String,
    value: usize,
    x: usize,
    y: usize,
    width: usize,
    height: usize,
}

/// Vertical bars for `values`, in a 600 × 200 drawing with room for labels below.
fn columns(values: &[(String, usize)]) -> Vec<Bar> {
    let most = values.iter().map(|v| v.1).max().unwrap_or(0).max(1);
    let slot = 600 / values.len().max(1);
    values
        .iter()
        .enumerate()
        .map(|(i, (label, v))| {
            let height = v * 160 / most;
            Bar {
                label: label.clone(),
                value: *v,
                x: i * slot + slot / 6,
                y: 170 - height,
                width: slot * 2 / 3,
                height,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/statistics.html")]
struct StatisticsPage {
    c: Chrome,
    /// When the figures were made.
    made: String,
    total: usize,
    weeks: Vec<Bar>,
    services: Vec<(String, usize, usize)>,
}

/// The last twelve weeks (or to now): the report the API gives.
fn last_weeks(now: chrono::DateTime<Utc>) -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    (now - Duration::weeks(12), now + Duration::seconds(1))
}

/// A reader's report and when it was made.
type Made = (chrono::DateTime<Utc>, std::sync::Arc<stats::Report>);

/// The console's statistics: a report over the last twelve weeks per reader (each counts the
/// cases they may see), kept a minute and refreshed in the background after that (see
/// [`Kept`]). A report reads every case of the period (a third of a second at 100,000 cases);
/// a dashboard that says when its figures were made need not do that at every look.
pub struct Figures(Kept<UserId, Made>);

impl Default for Figures {
    fn default() -> Self {
        Figures(Kept::new(
            "the console's figures",
            Duration::minutes(1),
            // A reader's figures nobody asked for in this long are forgotten.
            Duration::minutes(10),
        ))
    }
}

impl Figures {
    /// The reader's report, and when it was made.
    async fn for_reader(&self, state: &web::Data<AppState>, auth: &Auth) -> Result<Made, ApiError> {
        let key = auth
            .actor()
            .user_id()
            .ok_or_else(|| ApiError::Forbidden("an integration token has no console".into()))?;
        let auth = auth.clone();
        self.0
            .get(key, state.now(), {
                let state = state.clone();
                move || async move { make(&state, &auth).await }
            })
            .await
    }
}

/// The reader's report over the last twelve weeks, made now.
async fn make(state: &web::Data<AppState>, auth: &Auth) -> Result<Made, ApiError> {
    let now = state.now();
    let who = auth.0.clone();
    let (from, to) = last_weeks(now);
    let report = state
        .read(move |conn| {
            stats::report(
                conn,
                &who,
                from,
                to,
                &[Dimension::ServiceType],
                Some(Period::Week),
                now,
            )
        })
        .await?;
    Ok((now, std::sync::Arc::new(report)))
}

/// Cases opened per week and per service over the last twelve weeks (`GET /api/v1/stats`),
/// drawn on the server as SVG; only the cases the reader may see are counted.
pub(super) async fn statistics(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let run = async {
        let (auth, c, _) = lead_page(&state, &req, Permission::ReadStats).await?;
        let (made, report) = state.figures.for_reader(&state, &auth).await?;
        let (from, to) = last_weeks(made);
        // Every week of the window has its bar, the quiet ones too (the report lists only
        // the weeks with cases).
        let counted: std::collections::HashMap<&str, usize> = report
            .periods
            .iter()
            .flatten()
            .map(|(label, f)| (label.as_str(), f.total))
            .collect();
        let mut weeks: Vec<(String, usize)> = Vec::new();
        let mut day = from;
        while day < to {
            let label = day.format("%G-W%V").to_string();
            if weeks.last().is_none_or(|(l, _)| *l != label) {
                let n = counted.get(label.as_str()).copied().unwrap_or(0);
                weeks.push((label, n));
            }
            day += Duration::days(1);
        }
        let by_service = report
            .all
            .by
            .get("service_type")
            .cloned()
            .unwrap_or_default();
        let most = by_service.values().copied().max().unwrap_or(0).max(1);
        let terms = state.service_types.terms();
        let mut services: Vec<(String, usize, usize)> = by_service
            .into_iter()
            .map(|(k, v)| (terms.get(&k).cloned().unwrap_or(k), v, v * 100 / most))
            .collect();
        services.sort_by_key(|s| std::cmp::Reverse(s.1));
        Ok::<_, ApiError>(super::pages::render(
            StatusCode::OK,
            &StatisticsPage {
                made: when(made),
                total: report.all.total,
                weeks: columns(&weeks),
                services,
                c,
            },
        ))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// The same twelve weeks as CSV, every dimension (the API's CSV).
pub(super) async fn statistics_csv(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let run = async {
        let auth = signed_in(&state, &req).await?;
        auth.require(Permission::ReadStats)?;
        let (now, who) = (state.now(), auth.0.clone());
        let (from, to) = last_weeks(now);
        let report = state
            .read(move |conn| {
                stats::report(
                    conn,
                    &who,
                    from,
                    to,
                    &Dimension::ALL,
                    Some(Period::Week),
                    now,
                )
            })
            .await?;
        Ok::<_, ApiError>(
            HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header(("Cache-Control", "no-store"))
                .insert_header((
                    actix_web::http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"helpline-stats.csv\"",
                ))
                .body(stats::csv(&report)),
        )
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}
