//! Analysts' routes: indicators on cases, indicator lookup, extraction from messages; how cases
//! relate (`relations`: links, correlation, merges) and intelligence shared out and in
//! (`intel`: MISP / STIX).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use helpline_domain::ids::{IndicatorId, MessageId};
use helpline_domain::indicator::{extract, Indicator, IndicatorKind, IndicatorState, Tlp};
use helpline_domain::text::Note;
use helpline_store::analysis::{self, CaseIndicator, IndicatorContext};
use serde::{Deserialize, Serialize};

use super::{path_id, resource, writable_case, Visible, Writable};
use crate::allowed::{may, Allowed};
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, PageParams};

pub(crate) mod intel;
pub(crate) mod relations;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/cases/{id}/indicators")
            .route(web::get().to(list))
            .route(web::post().to(attach)),
    )
    .service(resource("/cases/{id}/indicators/{indicator_id}").route(web::delete().to(detach)))
    .service(
        resource("/cases/{id}/messages/{message_id}/extract").route(web::post().to(extract_from)),
    )
    .service(resource("/indicators").route(web::get().to(lookup)))
    .service(resource("/indicators/{indicator_id}/cases").route(web::get().to(cases_of)))
    .configure(relations::configure)
    .configure(intel::configure);
}

/// An indicator on a case as the API shows it: its context, the warning list naming it, and
/// how many cases hold it.
#[derive(Serialize)]
pub(crate) struct Shown {
    #[serde(flatten)]
    pub(crate) on_case: CaseIndicator,
    pub(crate) warning: Option<String>,
    pub(crate) cases: i64,
}

fn shown(
    state: &AppState,
    items: Vec<CaseIndicator>,
    counts: &std::collections::HashMap<IndicatorId, i64>,
) -> Vec<Shown> {
    items
        .into_iter()
        .map(|on_case| Shown {
            warning: state
                .warnings
                .warns(&on_case.indicator.indicator())
                .map(str::to_owned),
            cases: counts.get(&on_case.indicator.id).copied().unwrap_or(0),
            on_case,
        })
        .collect()
}

/// The indicators on a case.
async fn list(
    state: web::Data<AppState>,
    Visible { case, auth: _ }: Visible<may::ReadIndicators>,
    page: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = page.checked()?;
    let (page, counts) = state
        .read(move |c| {
            let page = analysis::page_of_case(c, case.id, cursor.as_ref(), limit)?;
            let ids: Vec<IndicatorId> = page.items.iter().map(|i| i.indicator.id).collect();
            let counts = analysis::case_counts(c, &ids)?;
            Ok((page, counts))
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": shown(&state, page.items, &counts),
        "next_cursor": page.next_cursor,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttachBody {
    kind: String,
    value: String,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    state: Option<String>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    tlp: Option<String>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    note: Option<Note>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    source_message_id: Option<MessageId>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    first_seen: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    last_seen: Option<DateTime<Utc>>,
}

/// Puts an indicator on a case (201), or updates its context there (200).
async fn attach(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::ManageIndicators>,
    body: ApiJson<AttachBody>,
) -> Result<HttpResponse, ApiError> {
    let (shown, new) = attach_indicator(&state, &auth, &case, body.value).await?;
    Ok(if new {
        HttpResponse::Created().json(shown)
    } else {
        HttpResponse::Ok().json(shown)
    })
}

/// Puts an indicator on a case the caller may write to (API and console): answers it as
/// shown, and whether it is new there.
pub(crate) async fn attach_indicator(
    state: &web::Data<AppState>,
    auth: &crate::auth::Auth,
    case: &helpline_domain::case::Case,
    b: AttachBody,
) -> Result<(Shown, bool), ApiError> {
    let case_id = case.id;
    let kind = IndicatorKind::parse(&b.kind).map_err(ApiError::from)?;
    let indicator =
        Indicator::parse(kind, &b.value).map_err(|e| ApiError::field("value", e.to_string()))?;
    let ctx = IndicatorContext {
        state: match b.state.as_deref() {
            Some(s) => IndicatorState::parse(s).map_err(ApiError::from)?,
            None => IndicatorState::Confirmed,
        },
        tlp: match b.tlp.as_deref() {
            Some(t) => Tlp::parse(t).map_err(ApiError::from)?,
            None => state.default_tlp,
        },
        note: b.note.unwrap_or_else(Note::empty),
        source_message_id: b.source_message_id,
        first_seen: b.first_seen,
        last_seen: b.last_seen,
    };
    if let (Some(f), Some(l)) = (ctx.first_seen, ctx.last_seen) {
        if l < f {
            return Err(ApiError::from(helpline_domain::DomainError::invalid(
                "last_seen",
                "is before first_seen",
            )));
        }
    }
    let (one, new) = state
        .write(auth, move |tx| {
            if let Some(m) = ctx.source_message_id {
                analysis::message_text(tx.conn, case_id, m)?;
            }
            analysis::attach(tx, case_id, &indicator, ctx)
        })
        .await?;
    let ids = vec![one.indicator.id];
    let counts = state.read(move |c| analysis::case_counts(c, &ids)).await?;
    let shown = shown(state, vec![one], &counts)
        .pop()
        .ok_or_else(|| ApiError::Internal("an attached indicator went missing".into()))?;
    Ok((shown, new))
}

/// Takes an indicator off a case.
async fn detach(
    state: web::Data<AppState>,
    auth: Allowed<may::ManageIndicators>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, indicator) = path.into_inner();
    let case = writable_case(&state, &auth, &id).await?;
    let indicator = path_id(IndicatorId::parse(&indicator))?;
    state
        .write(&auth, move |tx| analysis::detach(tx, case.id, indicator))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupQuery {
    kind: String,
    value: String,
}

/// Finds an indicator by kind and value (normalised as on entry).
async fn lookup(
    state: web::Data<AppState>,
    auth: Allowed<may::ReadIndicators>,
    q: ApiQuery<LookupQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let kind = IndicatorKind::parse(&q.kind).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let indicator =
        Indicator::parse(kind, &q.value).map_err(|e| ApiError::field("value", e.to_string()))?;
    let who = auth.0.clone();
    let warning = state.warnings.warns(&indicator).map(str::to_owned);
    let cap = state.config.analysis.fan_out_limit + 1;
    let found = state
        .read(move |c| {
            let Some(s) = analysis::find(c, &indicator)? else {
                return Ok(None);
            };
            let visible = analysis::visible_holders(c, s.id, &who, cap)?;
            Ok(Some((s, visible)))
        })
        .await?;
    let (s, cases) =
        found.ok_or_else(|| ApiError::from(helpline_store::StoreError::not_found("indicator")))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "indicator": s,
        "warning": warning,
        "cases": cases,
        "at_least": cases >= cap,
    })))
}

/// The cases (the caller may see) holding an indicator, with its context on each.
async fn cases_of(
    state: web::Data<AppState>,
    auth: Allowed<may::ReadIndicators>,
    id: web::Path<String>,
    page: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(IndicatorId::parse(&id))?;
    let (limit, cursor) = page.checked()?;
    let who = auth.0.clone();
    let (s, page) = state
        .read(move |c| {
            Ok((
                analysis::indicator(c, id)?,
                analysis::cases_of(c, id, &who, cursor.as_ref(), limit)?,
            ))
        })
        .await?;
    let items: Vec<serde_json::Value> = page
        .items
        .into_iter()
        .map(|(case, ctx)| serde_json::json!({ "case": case, "context": ctx }))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "indicator": s,
        "warning": state.warnings.warns(&s.indicator()),
        "items": items,
        "next_cursor": page.next_cursor,
    })))
}

/// Finds the indicators in a message, adds the new ones to the case as candidates, and shows
/// each with where it was found.
async fn extract_from(
    state: web::Data<AppState>,
    auth: Allowed<may::ManageIndicators>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, message) = path.into_inner();
    let (items, added) = extract_candidates(&state, &auth, &id, &message).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "added": added })))
}

/// Finds the indicators in a message of a case the caller may write to (API and console):
/// each found, with where, and how many were new to the case (added as candidates).
pub(crate) async fn extract_candidates(
    state: &web::Data<AppState>,
    auth: &crate::auth::Auth,
    id: &str,
    message: &str,
) -> Result<(Vec<serde_json::Value>, usize), ApiError> {
    let case = writable_case(state, auth, id).await?;
    let message = path_id(MessageId::parse(message))?;
    let (_, body) = state
        .read(move |c| analysis::message_text(c, case.id, message))
        .await?;
    let found = extract(&body);
    let indicators: Vec<Indicator> = found.iter().map(|f| f.indicator.clone()).collect();
    let tlp = state.default_tlp;
    let added = state
        .write(auth, move |tx| {
            analysis::add_candidates(tx, case.id, &indicators, message, tlp)
        })
        .await?;
    let items: Vec<serde_json::Value> = found
        .iter()
        .map(|f| {
            serde_json::json!({
                "kind": f.indicator.kind(),
                "value": f.indicator.value(),
                "raw": f.raw,
                "start": f.start,
                "end": f.end,
                "warning": state.warnings.warns(&f.indicator),
            })
        })
        .collect();
    Ok((items, added))
}
