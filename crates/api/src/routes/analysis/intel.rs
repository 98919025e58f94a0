//! Intelligence shared out of a case (a MISP event or a STIX 2.1 bundle, TLP-filtered) and in
//! (a MISP event's attributes as indicators).

use actix_web::{web, HttpResponse};
use helpline_domain::audit::AuditAction;
use helpline_domain::indicator::{IndicatorState, Tlp};
use helpline_domain::text::Note;
use helpline_store::analysis::{self, IndicatorContext};
use serde::Deserialize;

use super::super::{resource, Visible, Writable};
use crate::allowed::may;
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::sharing::ShareFormat;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/cases/{id}/export").route(web::get().to(export)))
        .service(resource("/cases/{id}/import").route(web::post().to(import)));
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
    let (body, withheld, unexpressed) = export_case(&state, &auth, case, q.format, q.tlp).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Withheld-Items", withheld.to_string()))
        .insert_header(("X-Not-Expressible-Items", unexpressed.to_string()))
        .json(body))
}

/// A case the caller may share, exported (API and console): the document, how many items were
/// withheld by their TLP, and how many the format cannot express.
pub(crate) async fn export_case(
    state: &web::Data<AppState>,
    auth: &crate::auth::Auth,
    case: helpline_domain::case::Case,
    format: ShareFormat,
    tlp: Option<Tlp>,
) -> Result<(serde_json::Value, usize, usize), ApiError> {
    let level = tlp.unwrap_or(Tlp::Amber);
    let organisation = state.config.analysis.organisation.clone();
    let now = state.now();
    state
        .write(auth, move |tx| {
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
                AuditAction::CaseExport,
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
        .await
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
    let bytes = super::super::read_limited(&req, payload, 16 * 1024 * 1024).await?;
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
