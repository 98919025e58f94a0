//! Evidence on a case: upload, list, download (recorded in the chain of custody), the chain
//! itself, and verification of the stored bytes.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use helpline_domain::case::Case;
use helpline_domain::ids::EvidenceId;
use helpline_domain::indicator::Tlp;
use helpline_store::evidence::{self, EvidenceSource, NewEvidence};
use serde::Deserialize;

use super::{case_page, path_id, resource, visible_case, Writable};
use crate::allowed::{may, Allowed};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiQuery, PageParams};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/cases/{id}/evidence")
            .route(case_page(evidence::page_of_case))
            .route(web::post().to(upload)),
    )
    .service(resource("/cases/{id}/evidence/{eid}/content").route(web::get().to(content)))
    .service(resource("/cases/{id}/evidence/{eid}/custody").route(web::get().to(custody)))
    .service(resource("/cases/{id}/evidence/{eid}/verify").route(web::post().to(verify)));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    filename: Option<String>,
    description: Option<String>,
    source: Option<String>,
    tlp: Option<String>,
    collected_at: Option<DateTime<Utc>>,
}

/// The file's media type, from Content-Type (`type/subtype`, parameters dropped, lower case).
fn media_type(req: &HttpRequest) -> Result<String, ApiError> {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|v| {
            v.split_once('/').is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && v.bytes().all(|c| {
                        c.is_ascii_alphanumeric() || matches!(c, b'/' | b'.' | b'+' | b'-' | b'_')
                    })
            })
        })
        .ok_or_else(|| {
            ApiError::UnsupportedMediaType(
                "give the file's media type in Content-Type (application/octet-stream if unknown)"
                    .into(),
            )
        })
}

/// Keeps the request body as an evidence item; metadata in the query string, the media type
/// in Content-Type.
async fn upload(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::ManageEvidence>,
    req: HttpRequest,
    q: ApiQuery<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let media_type = media_type(&req)?;
    let source = match q.source.as_deref() {
        None => EvidenceSource::Upload,
        Some(s) => EvidenceSource::parse(s)
            .ok()
            .filter(|s| *s != EvidenceSource::MessageAttachment)
            .ok_or_else(|| ApiError::field("source", "expected upload or capture"))?,
    };
    let tlp = match q.tlp.as_deref() {
        None => state.default_tlp,
        Some(t) => Tlp::parse(t).map_err(|e| ApiError::field("tlp", e.to_string()))?,
    };
    if let Some(f) = &q.filename {
        if f.is_empty()
            || f.chars().count() > 255
            || f.contains(['/', '\\'])
            || f.chars().any(char::is_control)
        {
            return Err(ApiError::field(
                "filename",
                "a file name of 1 to 255 characters, without a path",
            ));
        }
    }
    let description = q.description.unwrap_or_default();
    // It travels in the query string: 2,000 characters stay under every server's and proxy's
    // request-line limit even at 12 bytes each once percent-encoded.
    if description.chars().count() > 2_000 {
        return Err(ApiError::field(
            "description",
            "longer than 2,000 characters",
        ));
    }
    if q.collected_at.is_some_and(|at| at > state.now()) {
        return Err(ApiError::field("collected_at", "is in the future"));
    }
    let body = super::read_limited(&req, payload, state.config.analysis.max_evidence_bytes).await?;
    if body.is_empty() {
        return Err(ApiError::BadRequest("the file is empty".into()));
    }
    let item = state
        .write(&auth, move |tx| {
            evidence::collect(
                tx,
                case.id,
                NewEvidence {
                    data: &body,
                    filename: q.filename,
                    media_type,
                    source,
                    message_id: None,
                    description,
                    tlp,
                    collected_at: q.collected_at,
                },
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(item))
}

/// The case (if the caller may see it) and the evidence item named in the path.
async fn item_of_case(
    state: &web::Data<AppState>,
    auth: &Auth,
    path: web::Path<(String, String)>,
) -> Result<(Case, EvidenceId), ApiError> {
    let (id, eid) = path.into_inner();
    let case = visible_case(state, auth, &id).await?;
    Ok((case, path_id(EvidenceId::parse(&eid))?))
}

/// The original bytes of an item, with their SHA-256; the view is recorded in its chain.
async fn content(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (case, eid) = item_of_case(&state, &auth, path).await?;
    let (item, bytes) = state
        .write(&auth, move |tx| evidence::view(tx, case.id, eid))
        .await?;
    // Never the type the file claims: a browser must not render evidence (an HTML page, an SVG
    // with a script). The declared type stays in the record's `media_type`.
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(("X-Content-SHA256", item.sha256.clone()))
        .insert_header((actix_web::http::header::CONTENT_DISPOSITION, "attachment"))
        .body(bytes))
}

/// An item's chain of custody, a page at a time, with the item itself.
async fn custody(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
    page: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (case, eid) = item_of_case(&state, &auth, path).await?;
    let (limit, cursor) = page.checked()?;
    let (item, chain) = state
        .read(move |c| {
            let item = evidence::item(c, case.id, eid)?;
            Ok((item, evidence::custody(c, eid, cursor.as_ref(), limit)?))
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "evidence": item,
        "items": chain.items,
        "next_cursor": chain.next_cursor,
    })))
}

/// Hashes the stored bytes again and records whether they are intact.
async fn verify(
    state: web::Data<AppState>,
    auth: Allowed<may::ManageEvidence>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (case, eid) = item_of_case(&state, &auth, path).await?;
    let v = state
        .write(&auth, move |tx| evidence::verify(tx, case.id, eid))
        .await?;
    Ok(HttpResponse::Ok().json(v))
}
