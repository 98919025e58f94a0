//! How cases relate: links made by hand, the correlation that finds related cases through
//! shared indicators and links, and merging a case into another (and back).

use actix_web::{web, HttpResponse};
use helpline_domain::ids::CaseId;
use helpline_domain::indicator::LinkKind;
use helpline_domain::text::Note;
use helpline_store::analysis::{self, CaseBrief, Walk};
use serde::{Deserialize, Serialize};

use super::super::{resource, visible_case, writable_case_named, Visible, Writable};
use crate::allowed::{may, Allowed};
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{list_of, ApiJson, ApiQuery, PageParams};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/cases/{id}/links")
            .route(web::get().to(links))
            .route(web::post().to(link)),
    )
    .service(resource("/cases/{id}/links/{target}").route(web::delete().to(unlink)))
    .service(resource("/cases/{id}/related").route(web::get().to(related)))
    .service(resource("/cases/{id}/merge").route(web::post().to(merge)))
    .service(resource("/cases/{id}/unmerge").route(web::post().to(unmerge)));
}

#[derive(Serialize)]
pub(crate) struct LinkShown {
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
pub(crate) struct LinkBody {
    target: String,
    kind: LinkKind,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    note: Option<Note>,
}

/// Links two cases; the other sees the inverse.
async fn link(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::LinkCases>,
    body: ApiJson<LinkBody>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(link_cases(&state, &auth, &case, body.value).await?))
}

/// Links a case the caller may write to with the one the body names (API and console).
pub(crate) async fn link_cases(
    state: &web::Data<AppState>,
    auth: &crate::auth::Auth,
    case: &helpline_domain::case::Case,
    b: LinkBody,
) -> Result<LinkShown, ApiError> {
    let kind = b.kind;
    let target = writable_case_named(state, auth, "target", &b.target).await?;
    let note = b.note.unwrap_or_else(Note::empty);
    let brief = CaseBrief::of(&target);
    let case_id = case.id;
    let link = state
        .write(auth, move |tx| {
            analysis::link(tx, case_id, target.id, kind, note)
        })
        .await?;
    Ok(LinkShown {
        link,
        target: brief,
    })
}

/// Removes a link, whichever side made it.
async fn unlink(
    state: web::Data<AppState>,
    auth: Allowed<may::LinkCases>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, target) = path.into_inner();
    unlink_cases(&state, &auth, &id, &target).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes the link between two cases the caller may see (API and console).
pub(crate) async fn unlink_cases(
    state: &web::Data<AppState>,
    auth: &crate::auth::Auth,
    id: &str,
    target: &str,
) -> Result<(), ApiError> {
    let case = visible_case(state, auth, id).await?;
    let target = visible_case(state, auth, target).await?;
    let target: CaseId = target.id;
    state
        .write(auth, move |tx| analysis::unlink(tx, case.id, target))
        .await?;
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RelatedQuery {
    pub(crate) depth: Option<usize>,
    pub(crate) via: Option<String>,
    pub(crate) limit: Option<usize>,
}

impl RelatedQuery {
    /// What the walk follows: `via=links,indicators` (both when absent).
    fn via(&self) -> Result<(bool, bool), ApiError> {
        if self.via.is_none() {
            return Ok((true, true));
        }
        let via = list_of("via", &self.via, |v| match v {
            "links" | "indicators" => Ok(v == "links"),
            other => Err(format!("`{other}` is not links or indicators")),
        })?;
        Ok((via.contains(&true), via.contains(&false)))
    }
}

/// The strongest related cases answered by default, and at most: the walk is bounded by depth
/// and fan-out, the answer by this cap (`total` says how many were reached).
const RELATED_DEFAULT: usize = 100;
const RELATED_MAX: usize = 500;

/// Every case reachable through links and shared indicators, with the path that explains it.
async fn related(
    state: web::Data<AppState>,
    Visible { case, auth }: Visible<may::ReadIndicators>,
    q: ApiQuery<RelatedQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(related_cases(&state, &auth, &case, q.into_inner()).await?))
}

/// The cases related to one, with their paths: the API's answer.
#[derive(Serialize)]
pub(crate) struct RelatedAnswer {
    case: serde_json::Value,
    depth: usize,
    fan_out_limit: i64,
    pub(crate) total: usize,
    pub(crate) related: Vec<analysis::Related>,
    pub(crate) not_followed: Vec<analysis::NotFollowed>,
}

/// The cases related to a case the caller may see (API and console), walked as `q` says.
pub(crate) async fn related_cases(
    state: &web::Data<AppState>,
    auth: &crate::auth::Auth,
    case: &helpline_domain::case::Case,
    q: RelatedQuery,
) -> Result<RelatedAnswer, ApiError> {
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
    let (links, indicators) = q.via()?;
    let start = CaseBrief::of(case);
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
                limit,
                descriptions: &st.descriptions,
                holders: &st.holders,
            };
            analysis::related(c, &start, &who, &walk)
        })
        .await?;
    // Serialised straight from the structs: an answer can list hundreds of cases with their
    // paths, and building a JSON value tree first doubled the work.
    Ok(RelatedAnswer {
        case: serde_json::json!({"id": case.id, "ref": case.reference.get()}),
        depth,
        fan_out_limit: fan_out,
        total: answer.total,
        related: answer.related,
        not_followed: answer.not_followed,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    into: String,
}

/// Merges the case into another: its log moves there, and it keeps a pointer.
async fn merge(
    state: web::Data<AppState>,
    Visible { case, auth }: Visible<may::MergeCases>,
    body: ApiJson<MergeBody>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(merge_case(&state, &auth, &case, &body.value.into).await?))
}

/// Merges a case the caller may see into the one named `into` (API and console).
pub(crate) async fn merge_case(
    state: &web::Data<AppState>,
    auth: &crate::auth::Auth,
    case: &helpline_domain::case::Case,
    into: &str,
) -> Result<helpline_store::merge::MergeReport, ApiError> {
    let target = writable_case_named(state, auth, "into", into).await?;
    let id = case.id;
    state
        .write(auth, move |tx| {
            helpline_store::merge::merge(tx, id, target.id)
        })
        .await
}

/// Undoes the case's merge: what came from it goes back.
async fn unmerge(
    state: web::Data<AppState>,
    Visible { case, auth }: Visible<may::MergeCases>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(unmerge_case(&state, &auth, &case).await?))
}

/// Undoes the merge of a case the caller may see (API and console).
pub(crate) async fn unmerge_case(
    state: &web::Data<AppState>,
    auth: &crate::auth::Auth,
    case: &helpline_domain::case::Case,
) -> Result<helpline_store::merge::MergeReport, ApiError> {
    let id = case.id;
    state
        .write(auth, move |tx| helpline_store::merge::unmerge(tx, id))
        .await
}
