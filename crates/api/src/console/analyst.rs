//! The analyst's view of a case: the cases related to it through links and shared
//! indicators, each with the path that explains it, listed and drawn as a small graph (SVG
//! made on the server). Read through the API's walk, which only reaches cases the reader may
//! see.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use helpline_domain::access::Permission;

use super::compose::posted_on_case;
use super::pages::{render, staff_names, when, Chrome, NoFields};
use super::{failure, signed_in};
use crate::app::AppState;
use crate::error::ApiError;

/// A related case as the page lists it.
struct Row {
    reference: i64,
    summary: String,
    score: String,
    explanation: String,
}

/// A node of the graph: a case, placed on its ring (depth) around the case asked about.
struct Node {
    reference: i64,
    x: i64,
    y: i64,
}

/// An edge of the graph: a step of a path, from one case to the next.
struct Edge {
    x1: i64,
    y1: i64,
    x2: i64,
    y2: i64,
}

#[derive(Template)]
#[template(path = "console/related.html")]
struct RelatedPage {
    c: Chrome,
    reference: i64,
    summary: String,
    rows: Vec<Row>,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    total: usize,
    /// How many steps out the walk went (1 or 2).
    depth: usize,
}

/// Places the case at the centre and each related case on the ring of its depth; the edges
/// follow each case's strongest path.
fn layout(start: i64, related: &[helpline_store::analysis::Related]) -> (Vec<Node>, Vec<Edge>) {
    use std::collections::HashMap;
    let (cx, cy) = (300.0_f64, 170.0_f64);
    let mut at: HashMap<i64, (i64, i64)> = HashMap::from([(start, (cx as i64, cy as i64))]);
    let mut nodes = vec![Node {
        reference: start,
        x: cx as i64,
        y: cy as i64,
    }];
    let max_depth = related.iter().map(|r| r.depth).max().unwrap_or(1);
    for depth in 1..=max_depth {
        let ring: Vec<_> = related.iter().filter(|r| r.depth == depth).collect();
        let radius = 140.0 * depth as f64 / max_depth as f64;
        for (i, r) in ring.iter().enumerate() {
            let angle = std::f64::consts::TAU * i as f64 / ring.len() as f64 + depth as f64 * 0.4;
            let (x, y) = (
                (cx + radius * angle.cos() * 1.8) as i64,
                (cy + radius * angle.sin()) as i64,
            );
            at.insert(r.case.reference, (x, y));
            nodes.push(Node {
                reference: r.case.reference,
                x,
                y,
            });
        }
    }
    let mut edges = Vec::new();
    for r in related {
        for step in &r.path {
            let (from, to) = step.ends();
            if let (Some(a), Some(b)) = (at.get(&from), at.get(&to)) {
                edges.push(Edge {
                    x1: a.0,
                    y1: a.1,
                    x2: b.0,
                    y2: b.1,
                });
            }
        }
    }
    (nodes, edges)
}

#[derive(serde::Deserialize)]
pub(super) struct DepthQuery {
    depth: Option<String>,
}

/// The cases related to one (`GET /api/v1/cases/{id}/related`): one step away (a link or a
/// shared indicator), or two when asked — the walk two steps out reads far more of the
/// graph, so it is a second look, not the first.
pub(super) async fn related(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    q: web::Query<DepthQuery>,
) -> HttpResponse {
    let run = async {
        let auth = signed_in(&state, &req).await?;
        auth.require(Permission::ReadIndicators)?;
        let case = crate::routes::visible_case(&state, &auth, &reference).await?;
        let depth = if q.depth.as_deref() == Some("2") {
            2
        } else {
            1
        };
        let walk = crate::routes::analysis::relations::RelatedQuery {
            depth: Some(depth),
            ..Default::default()
        };
        let answer =
            crate::routes::analysis::relations::related_cases(&state, &auth, &case, walk).await?;
        let names = staff_names(&state).await?;
        let start = case.reference.get();
        let shown = &answer.related[..answer.related.len().min(30)];
        let (nodes, edges) = layout(start, shown);
        Ok::<_, ApiError>(render(
            StatusCode::OK,
            &RelatedPage {
                c: Chrome::staff(&req, &names, &auth),
                reference: start,
                summary: case.summary.as_str().to_owned(),
                rows: answer
                    .related
                    .iter()
                    .map(|r| Row {
                        reference: r.case.reference,
                        summary: r.case.summary.clone(),
                        score: format!("{:.2}", r.score),
                        explanation: r.explanation.clone(),
                    })
                    .collect(),
                nodes,
                edges,
                total: answer.total,
                depth,
            },
        ))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// An indicator as the analysis page lists it.
struct IndicatorRow {
    kind: &'static str,
    value: String,
    state: String,
    tlp: &'static str,
    cases: i64,
    warning: Option<String>,
    candidate: bool,
}

/// An evidence item with its chain of custody.
struct Item {
    name: String,
    sha256: String,
    size: i64,
    media_type: String,
    tlp: &'static str,
    collected: String,
    /// (event, who, when, detail)
    custody: Vec<(&'static str, String, String, String)>,
}

/// A link to another case.
struct LinkRow {
    kind: String,
    reference: i64,
    summary: String,
    note: String,
}

#[derive(Template)]
#[template(path = "console/analysis.html")]
struct AnalysisPage {
    c: Chrome,
    reference: i64,
    summary: String,
    indicators: Vec<IndicatorRow>,
    evidence: Vec<Item>,
    links: Vec<LinkRow>,
    merged_into: Option<i64>,
    may_analyse: bool,
    may_link: bool,
    may_merge: bool,
    may_share: bool,
    indicator_kinds: Vec<&'static str>,
    tlps: Vec<(&'static str, bool)>,
    link_kinds: Vec<(&'static str, String)>,
}

/// A case's analysis (`/cases/{ref}/analysis`): indicators with state and TLP (candidates to
/// confirm or reject), evidence with hashes and custody, links, merging, exports.
pub(super) async fn analysis(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
) -> HttpResponse {
    use helpline_domain::indicator::{IndicatorKind, IndicatorState, Tlp};
    use helpline_domain::link::LinkKind;
    use helpline_store::{analysis as an, evidence as ev};
    let run = async {
        let auth = signed_in(&state, &req).await?;
        auth.require(Permission::ReadIndicators)?;
        let case = crate::routes::visible_case(&state, &auth, &reference).await?;
        let names = staff_names(&state).await?;
        let (id, who) = (case.id, auth.0.clone());
        let merged_into = case.merged_into;
        let (indicators, counts, items, links, merged_ref) = state
            .read(move |c| {
                let page = an::page_of_case(c, id, None, 200)?;
                let ids: Vec<_> = page.items.iter().map(|i| i.indicator.id).collect();
                let counts = an::case_counts(c, &ids)?;
                let mut items = Vec::new();
                for e in ev::of_case(c, id)? {
                    let chain = ev::custody(c, e.id, None, 50)?;
                    items.push((e, chain.items));
                }
                let links = an::links(c, id, &who, None, 200)?;
                let merged_ref = match merged_into {
                    Some(m) => Some(
                        helpline_store::cases::locate(
                            c,
                            helpline_domain::case::CaseLocator::Id(m),
                        )?
                        .reference
                        .get(),
                    ),
                    None => None,
                };
                Ok((page.items, counts, items, links.items, merged_ref))
            })
            .await?;
        let c = Chrome::staff(&req, &names, &auth);
        Ok::<_, ApiError>(render(
            StatusCode::OK,
            &AnalysisPage {
                reference: case.reference.get(),
                summary: case.summary.as_str().to_owned(),
                indicators: indicators
                    .into_iter()
                    .map(|i| IndicatorRow {
                        kind: i.indicator.kind.as_str(),
                        warning: state
                            .warnings
                            .warns(&i.indicator.indicator())
                            .map(str::to_owned),
                        cases: counts.get(&i.indicator.id).copied().unwrap_or(0),
                        value: i.indicator.value,
                        state: i.state.as_str().replace('_', " "),
                        tlp: i.tlp.as_str(),
                        candidate: i.state == IndicatorState::Candidate,
                    })
                    .collect(),
                evidence: items
                    .into_iter()
                    .map(|(e, chain)| Item {
                        name: e.filename.clone().unwrap_or_else(|| e.id.to_string()),
                        sha256: e.sha256,
                        size: e.size,
                        media_type: e.media_type,
                        tlp: e.tlp.as_str(),
                        collected: when(e.collected_at),
                        custody: chain
                            .into_iter()
                            .map(|k| {
                                (
                                    k.event.as_str(),
                                    super::case::actor_name(&names, &k.actor),
                                    when(k.at),
                                    if k.detail.is_null() {
                                        String::new()
                                    } else {
                                        k.detail.to_string()
                                    },
                                )
                            })
                            .collect(),
                    })
                    .collect(),
                links: links
                    .into_iter()
                    .map(|(l, target)| LinkRow {
                        kind: l.kind.as_str().replace('_', " "),
                        reference: target.reference,
                        summary: target.summary,
                        note: l.note.as_str().to_owned(),
                    })
                    .collect(),
                merged_into: merged_ref,
                may_analyse: auth.0.may(Permission::ManageIndicators) && merged_into.is_none(),
                may_link: auth.0.may(Permission::LinkCases) && merged_into.is_none(),
                may_merge: auth.0.may(Permission::MergeCases),
                may_share: auth.0.may(Permission::ShareIntel),
                indicator_kinds: IndicatorKind::ALL.iter().map(|k| k.as_str()).collect(),
                tlps: Tlp::ALL
                    .iter()
                    .map(|t| (t.as_str(), *t == state.default_tlp))
                    .collect(),
                link_kinds: LinkKind::ALL
                    .iter()
                    .map(|k| (k.as_str(), k.as_str().replace('_', " ")))
                    .collect(),
                c,
            },
        ))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

#[derive(serde::Deserialize)]
pub(super) struct LinkForm {
    target: String,
    kind: String,
}

/// Links the case with another (by number).
pub(super) async fn link(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let st = state.clone();
    posted_on_case(
        &state,
        &req,
        &reference,
        &body,
        Permission::LinkCases,
        true,
        "/analysis",
        |auth, case, f: LinkForm| async move {
            let b = super::as_api(serde_json::json!({
                "target": f.target.trim().trim_start_matches('#'),
                "kind": f.kind,
            }))?;
            crate::routes::analysis::relations::link_cases(&st, &auth, &case, b)
                .await
                .map(drop)
        },
    )
    .await
}

/// Removes a link.
pub(super) async fn unlink(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (reference, target) = path.into_inner();
    let st = state.clone();
    posted_on_case(
        &state,
        &req,
        &reference,
        &body,
        Permission::LinkCases,
        false,
        "/analysis",
        |auth, case, NoFields {}| async move {
            let id = case.id.to_string();
            crate::routes::analysis::relations::unlink_cases(&st, &auth, &id, &target).await
        },
    )
    .await
}

#[derive(serde::Deserialize)]
pub(super) struct MergeForm {
    into: String,
}

/// Merges the case into another; then to that one.
pub(super) async fn merge(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let run = async {
        let (auth, f): (crate::auth::Auth, MergeForm) = super::form(&state, &req, &body).await?;
        auth.require(Permission::MergeCases)?;
        let case = crate::routes::visible_case(&state, &auth, &reference).await?;
        let into = f.into.trim().trim_start_matches('#').to_owned();
        crate::routes::analysis::relations::merge_case(&state, &auth, &case, &into).await?;
        Ok::<_, ApiError>(super::see_other(&format!("/cases/{into}")).finish())
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// Undoes the case's merge.
pub(super) async fn unmerge(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let st = state.clone();
    posted_on_case(
        &state,
        &req,
        &reference,
        &body,
        Permission::MergeCases,
        false,
        "/analysis",
        |auth, case, NoFields {}| async move {
            crate::routes::analysis::relations::unmerge_case(&st, &auth, &case)
                .await
                .map(drop)
        },
    )
    .await
}

#[derive(serde::Deserialize)]
pub(super) struct ExportForm {
    format: String,
}

/// The case's intelligence as a MISP event or a STIX bundle, to download (posted: an export
/// is recorded in the audit trail and in the custody of the evidence it shares).
pub(super) async fn export(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let run = async {
        let (auth, f): (crate::auth::Auth, ExportForm) = super::form(&state, &req, &body).await?;
        auth.require(Permission::ShareIntel)?;
        let case = crate::routes::visible_case(&state, &auth, &reference).await?;
        let format: crate::sharing::ShareFormat = super::as_api(serde_json::json!(f.format))?;
        let name = format!(
            "helpline-{}-{}.json",
            case.reference.get(),
            f.format.to_ascii_lowercase()
        );
        let (doc, _, _) =
            crate::routes::analysis::intel::export_case(&state, &auth, case, format, None).await?;
        Ok::<_, ApiError>(
            HttpResponse::Ok()
                .content_type("application/json")
                .insert_header(("Cache-Control", "no-store"))
                .insert_header((
                    actix_web::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ))
                .json(doc),
        )
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}

/// Finds the indicators in one of the case's messages (new ones become candidates).
pub(super) async fn extract(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (reference, message) = path.into_inner();
    let st = state.clone();
    posted_on_case(
        &state,
        &req,
        &reference,
        &body,
        Permission::ManageIndicators,
        true,
        "/analysis",
        |auth, case, NoFields {}| async move {
            let id = case.id.to_string();
            crate::routes::analysis::extract_candidates(&st, &auth, &id, &message)
                .await
                .map(drop)
        },
    )
    .await
}
