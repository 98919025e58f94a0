//! The analyst's view of a case: the cases related to it through links and shared
//! indicators, each with the path that explains it, listed and drawn as a small graph (SVG
//! made on the server). Read through the API's walk, which only reaches cases the reader may
//! see.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use helpline_domain::access::Permission;

use super::pages::{render, staff_names, Chrome};
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

/// The cases related to one (`GET /api/v1/cases/{id}/related`, two steps away at most).
pub(super) async fn related(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
) -> HttpResponse {
    let run = async {
        let auth = signed_in(&state, &req).await?;
        auth.require(Permission::ReadIndicators)?;
        let case = crate::routes::visible_case(&state, &auth, &reference).await?;
        let answer = crate::routes::analysis::relations::related_cases(
            &state,
            &auth,
            &case,
            Default::default(),
        )
        .await?;
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
            },
        ))
    };
    run.await.unwrap_or_else(|e| failure(&req, e))
}
