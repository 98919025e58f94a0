//! Analysts' routes: indicators on cases, indicator lookup, extraction from messages, links
//! between cases, and the correlation across both.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use helpline_domain::ids::{CaseId, IndicatorId, MessageId};
use helpline_domain::indicator::{
    extract, Indicator, IndicatorKind, IndicatorState, LinkKind, Tlp,
};
use helpline_domain::text::Note;
use helpline_store::analysis::{self, CaseBrief, CaseIndicator, IndicatorContext, Walk};
use serde::{Deserialize, Serialize};

use super::{path_id, resource, visible_case, writable_case, Visible, Writable};
use crate::allowed::{may, Allowed};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, PageParams};
use crate::sharing::ShareFormat;

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
    .service(
        resource("/cases/{id}/links")
            .route(web::get().to(links))
            .route(web::post().to(link)),
    )
    .service(resource("/cases/{id}/links/{target}").route(web::delete().to(unlink)))
    .service(resource("/cases/{id}/related").route(web::get().to(related)))
    .service(resource("/cases/{id}/merge").route(web::post().to(merge)))
    .service(resource("/cases/{id}/unmerge").route(web::post().to(unmerge)))
    .service(resource("/cases/{id}/export").route(web::get().to(export)))
    .service(resource("/cases/{id}/import").route(web::post().to(import)));
}

/// An indicator on a case as the API shows it: its context, the warning list naming it, and
/// how many cases hold it.
#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    on_case: CaseIndicator,
    warning: Option<String>,
    cases: i64,
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
    Visible { case, auth: _ }: Visible<may::ReadCases>,
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
struct AttachBody {
    kind: String,
    value: String,
    state: Option<String>,
    tlp: Option<String>,
    note: Option<Note>,
    source_message_id: Option<MessageId>,
    first_seen: Option<DateTime<Utc>>,
    last_seen: Option<DateTime<Utc>>,
}

/// Puts an indicator on a case (201), or updates its context there (200).
async fn attach(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::ManageIndicators>,
    body: ApiJson<AttachBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let kind = IndicatorKind::parse(&b.kind).map_err(ApiError::from)?;
    let indicator = Indicator::parse(kind, &b.value).map_err(ApiError::from)?;
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
        .write(&auth, move |tx| {
            if let Some(m) = ctx.source_message_id {
                analysis::message_text(tx.conn, case.id, m)?;
            }
            analysis::attach(tx, case.id, &indicator, ctx)
        })
        .await?;
    let ids = vec![one.indicator.id];
    let counts = state.read(move |c| analysis::case_counts(c, &ids)).await?;
    let body = shown(&state, vec![one], &counts);
    Ok(if new {
        HttpResponse::Created().json(&body[0])
    } else {
        HttpResponse::Ok().json(&body[0])
    })
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
    auth: Allowed<may::ReadCases>,
    q: ApiQuery<LookupQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let kind = IndicatorKind::parse(&q.kind).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let indicator =
        Indicator::parse(kind, &q.value).map_err(|e| ApiError::BadRequest(e.to_string()))?;
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
    auth: Allowed<may::ReadCases>,
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
    let case = writable_case(&state, &auth, &id).await?;
    let message = path_id(MessageId::parse(&message))?;
    let (_, body) = state
        .read(move |c| analysis::message_text(c, case.id, message))
        .await?;
    let found = extract(&body);
    let indicators: Vec<Indicator> = found.iter().map(|f| f.indicator.clone()).collect();
    let tlp = state.default_tlp;
    let added = state
        .write(&auth, move |tx| {
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
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "added": added })))
}

#[derive(Serialize)]
struct LinkShown {
    #[serde(flatten)]
    link: analysis::CaseLink,
    target: CaseBrief,
}

/// A case's links, each read from it, a page at a time.
async fn links(
    state: web::Data<AppState>,
    Visible { case, auth }: Visible<may::ReadCases>,
    page: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = page.checked()?;
    let who = auth.0.clone();
    let page = state
        .read(move |c| analysis::links(c, case.id, &who, cursor.as_ref(), limit))
        .await?;
    let items: Vec<LinkShown> = page
        .items
        .into_iter()
        .map(|(link, target)| LinkShown { link, target })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": items,
        "next_cursor": page.next_cursor,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    target: String,
    kind: String,
    note: Option<Note>,
}

/// Links two cases; the other sees the inverse.
async fn link(
    state: web::Data<AppState>,
    auth: Allowed<may::LinkCases>,
    id: web::Path<String>,
    body: ApiJson<LinkBody>,
) -> Result<HttpResponse, ApiError> {
    let case = writable_case(&state, &auth, &id).await?;
    let b = body.value;
    let kind = LinkKind::parse(&b.kind).map_err(ApiError::from)?;
    let target = writable_case(&state, &auth, &b.target)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) | ApiError::BadRequest(_) => {
                ApiError::from(helpline_domain::DomainError::invalid(
                    "target",
                    "no such case (give its id or its reference such as #1042)",
                ))
            }
            e => e,
        })?;
    let note = b.note.unwrap_or_else(Note::empty);
    let brief = CaseBrief {
        id: target.id,
        reference: target.reference.get(),
        summary: target.summary.as_str().to_owned(),
        status: target.status.as_str().to_owned(),
    };
    let link = state
        .write(&auth, move |tx| {
            analysis::link(tx, case.id, target.id, kind, note)
        })
        .await?;
    Ok(HttpResponse::Created().json(LinkShown {
        link,
        target: brief,
    }))
}

/// Removes a link, whichever side made it.
async fn unlink(
    state: web::Data<AppState>,
    auth: Allowed<may::LinkCases>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, target) = path.into_inner();
    let case = visible_case(&state, &auth, &id).await?;
    let target = visible_case(&state, &auth, &target).await?;
    let target: CaseId = target.id;
    state
        .write(&auth, move |tx| analysis::unlink(tx, case.id, target))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RelatedQuery {
    depth: Option<usize>,
    via: Option<String>,
    limit: Option<usize>,
}

/// The strongest related cases answered by default, and at most: the walk is bounded by depth
/// and fan-out, the answer by this cap (`total` says how many were reached).
const RELATED_DEFAULT: usize = 100;
const RELATED_MAX: usize = 500;

/// Every case reachable through links and shared indicators, with the path that explains it.
async fn related(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    q: ApiQuery<RelatedQuery>,
) -> Result<HttpResponse, ApiError> {
    let case = visible_case(&state, &auth, &id).await?;
    let q = q.into_inner();
    let max = state.config.analysis.max_depth;
    let depth = q.depth.unwrap_or(2);
    if depth == 0 || depth > max {
        return Err(ApiError::BadRequest(format!("depth must be 1 to {max}")));
    }
    let limit = q.limit.unwrap_or(RELATED_DEFAULT);
    if limit == 0 || limit > RELATED_MAX {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {RELATED_MAX}"
        )));
    }
    let (mut links, mut indicators) = (q.via.is_none(), q.via.is_none());
    for v in q
        .via
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|v| !v.is_empty())
    {
        match v.trim() {
            "links" => links = true,
            "indicators" => indicators = true,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "via: `{other}` is not links or indicators"
                )))
            }
        }
    }
    let start = CaseBrief {
        id: case.id,
        reference: case.reference.get(),
        summary: case.summary.as_str().to_owned(),
        status: case.status.as_str().to_owned(),
    };
    let who = auth.0.clone();
    let fan_out = state.config.analysis.fan_out_limit;
    let st = state.clone();
    let answer = state
        .read(move |c| {
            let walk = Walk {
                depth,
                links,
                indicators,
                fan_out,
                warnings: &st.warnings,
            };
            analysis::related(c, &start, &who, &walk)
        })
        .await?;
    // Serialised straight from the structs: an answer can list hundreds of cases with their
    // paths, and building a JSON value tree first doubled the work.
    #[derive(Serialize)]
    struct Answer {
        case: serde_json::Value,
        depth: usize,
        fan_out_limit: i64,
        total: usize,
        related: Vec<analysis::Related>,
        not_followed: Vec<analysis::NotFollowed>,
    }
    let mut related = answer.related;
    let total = related.len();
    related.truncate(limit);
    Ok(HttpResponse::Ok().json(Answer {
        case: serde_json::json!({"id": case.id, "ref": case.reference.get()}),
        depth,
        fan_out_limit: fan_out,
        total,
        related,
        not_followed: answer.not_followed,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    into: String,
}

/// Merges the case into another: its log moves there, and it keeps a pointer.
async fn merge(
    state: web::Data<AppState>,
    auth: Allowed<may::MergeCases>,
    id: web::Path<String>,
    body: ApiJson<MergeBody>,
) -> Result<HttpResponse, ApiError> {
    let case = visible_case(&state, &auth, &id).await?;
    let target = writable_case(&state, &auth, &body.value.into)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) | ApiError::BadRequest(_) => {
                ApiError::from(helpline_domain::DomainError::invalid(
                    "into",
                    "no such case (give its id or its reference such as #1042)",
                ))
            }
            e => e,
        })?;
    let report = state
        .write(&auth, move |tx| {
            helpline_store::merge::merge(tx, case.id, target.id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Undoes the case's merge: what came from it goes back.
async fn unmerge(
    state: web::Data<AppState>,
    Visible { case, auth }: Visible<may::MergeCases>,
) -> Result<HttpResponse, ApiError> {
    let report = state
        .write(&auth, move |tx| helpline_store::merge::unmerge(tx, case.id))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    format: ShareFormat,
    tlp: Option<Tlp>,
}

/// The case's confirmed indicators and evidence hashes as a MISP event or a STIX 2.1 bundle,
/// without anything at TLP:RED or above `tlp` (default amber); evidence shared is recorded as
/// exported in its chain of custody.
async fn export(
    state: web::Data<AppState>,
    Visible { case, auth }: Visible<may::ShareIntel>,
    q: ApiQuery<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let level = q.tlp.unwrap_or(Tlp::Amber);
    let organisation = state.config.analysis.organisation.clone();
    let now = state.now();
    let format = q.format;
    let (body, withheld, unexpressed) = state
        .write(&auth, move |tx| {
            let indicators = analysis::of_case(tx.conn, case.id)?;
            let items = helpline_store::evidence::of_case(tx.conn, case.id)?;
            let shared =
                crate::sharing::select(&case, &indicators, &items, level, &organisation, now);
            let (body, unexpressed) = match format {
                ShareFormat::Misp => (crate::sharing::misp(&shared), 0),
                ShareFormat::Stix => crate::sharing::stix(&shared),
            };
            for e in &shared.evidence {
                helpline_store::evidence::record(
                    tx,
                    e,
                    helpline_store::evidence::CustodyEvent::Exported,
                    serde_json::json!({"format": format, "tlp": level.as_str()}),
                )?;
            }
            tx.audit(
                "case.export",
                "case",
                case.id,
                Some(case.id),
                serde_json::json!({
                    "format": format,
                    "tlp": level.as_str(),
                    "indicators": shared.indicators.len(),
                    "evidence": shared.evidence.len(),
                    "withheld": shared.withheld,
                }),
            );
            Ok((body, shared.withheld, unexpressed))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Withheld-Items", withheld.to_string()))
        .insert_header(("X-Not-Expressible-Items", unexpressed.to_string()))
        .json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    format: ShareFormat,
}

/// Takes a MISP event's attributes as indicators on the case: `to_ids` ones confirmed, the
/// others candidates; TLP from the attribute's tag, else the event's, else the default.
async fn import(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::ManageIndicators>,
    req: actix_web::HttpRequest,
    q: ApiQuery<ImportQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if q.into_inner().format != ShareFormat::Misp {
        return Err(ApiError::BadRequest(
            "format must be misp: STIX bundles are exported, not imported".into(),
        ));
    }
    let bytes = super::read_limited(&req, payload, 16 * 1024 * 1024).await?;
    let event: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("not JSON: {e}")))?;
    let (attributes, event_tlp) =
        crate::sharing::misp_attributes(&event).map_err(ApiError::BadRequest)?;
    let default_tlp = state.default_tlp;
    let mut skipped = Vec::new();
    let mut take = Vec::new();
    for a in attributes {
        match a.indicator {
            Ok(i) => take.push((
                i,
                IndicatorContext {
                    state: if a.to_ids {
                        IndicatorState::Confirmed
                    } else {
                        IndicatorState::Candidate
                    },
                    tlp: a.tlp.or(event_tlp).unwrap_or(default_tlp),
                    note: Note::parse(a.comment.chars().take(2000).collect::<String>())
                        .unwrap_or_else(|_| Note::empty()),
                    source_message_id: None,
                    first_seen: None,
                    last_seen: None,
                },
            )),
            Err(why) => skipped.push(serde_json::json!({
                "type": a.source.0, "value": a.source.1, "reason": why,
            })),
        }
    }
    let (added, updated) = state
        .write(&auth, move |tx| {
            let (mut added, mut updated) = (0, 0);
            for (i, mut ctx) in take {
                // An analyst's verdict on this case (confirmed, false positive) outranks a
                // community's attribute that is not meant for detection.
                if let Some(s) = analysis::find(tx.conn, &i)? {
                    if let Ok(held) = analysis::on_case(tx.conn, case.id, s.id) {
                        if ctx.state == IndicatorState::Candidate {
                            ctx.state = held.state;
                        }
                    }
                }
                if analysis::attach(tx, case.id, &i, ctx)?.1 {
                    added += 1;
                } else {
                    updated += 1;
                }
            }
            Ok((added, updated))
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "added": added,
        "updated": updated,
        "skipped": skipped,
    })))
}
