//! The team's routines: the duty roster and auto-assignment, hand-offs, caseloads, the leads'
//! queue (escalations, legal holds), statistics, the data-protection export, webhook
//! deliveries.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use helpline_domain::access::Permission;
use helpline_domain::audit::AuditAction;
use helpline_domain::case::Case;
use helpline_domain::ids::{BeneficiaryId, UserId};
use helpline_domain::text::Note;
use helpline_store::stats::{self, Dimension, Period};
use helpline_store::workflow as wf;
use helpline_store::{StoreError, Tx};
use serde::Deserialize;
use serde_json::json;

use super::{case_page, json_with_etag, path_id, resource, visible_case, Writable};
use crate::allowed::{may, Allowed};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IfMatch};
use crate::service;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/roster").route(web::get().to(roster)))
        .service(resource("/roster/settings").route(web::put().to(settings)))
        .service(resource("/roster/shifts").route(web::post().to(add_shift)))
        .service(resource("/roster/rotation").route(web::post().to(rotation)))
        .service(resource("/roster/shifts/{id}").route(removal(wf::remove_shift)))
        .service(resource("/roster/absences").route(web::post().to(add_absence)))
        .service(resource("/roster/absences/{id}").route(removal(wf::remove_absence)))
        .service(resource("/cases/{id}/handoff").route(web::post().to(hand_off)))
        .service(resource("/cases/{id}/handoffs").route(case_page(wf::handoff_page)))
        .service(resource("/cases/{id}/escalation/acknowledge").route(web::post().to(acknowledge)))
        .service(
            resource("/cases/{id}/legal-hold")
                .route(web::put().to(hold))
                .route(web::delete().to(release)),
        )
        .service(resource("/workload").route(web::get().to(workload)))
        .service(resource("/escalations").route(web::get().to(escalations)))
        .service(resource("/stats").route(web::get().to(statistics)))
        .service(resource("/beneficiaries/{id}/export").route(web::get().to(export)))
        .service(resource("/webhooks/deliveries").route(web::get().to(deliveries)));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RosterQuery {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

/// Who is on duty now, the shifts and absences of a period (default: this week and the
/// next), and whether auto-assignment is on.
async fn roster(
    state: web::Data<AppState>,
    _auth: Allowed<may::ReadRoster>,
    q: ApiQuery<RosterQuery>,
) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    let q = q.into_inner();
    let from = q.from.unwrap_or(now - Duration::days(7));
    let to = q.to.unwrap_or(now + Duration::days(14));
    helpline_domain::workflow::check_period(from, to)?;
    let body = state
        .read(move |c| {
            Ok(json!({
                "auto_assign": wf::auto_assign(c)?,
                "on_duty": wf::on_duty(c, now)?,
                "shifts": wf::shifts(c, from, to)?,
                "absences": wf::absences(c, from, to)?,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    auto_assign: bool,
}

/// Turns auto-assignment on or off.
async fn settings(
    state: web::Data<AppState>,
    auth: Allowed<may::ManageRoster>,
    body: ApiJson<SettingsBody>,
) -> Result<HttpResponse, ApiError> {
    let on = body.value.auto_assign;
    let on = state
        .write(&auth, move |tx| wf::set_auto_assign(tx, on))
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "auto_assign": on })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodBody {
    user_id: UserId,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

/// Puts someone on duty for a period.
async fn add_shift(
    state: web::Data<AppState>,
    auth: Allowed<may::ManageRoster>,
    body: ApiJson<PeriodBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    state
        .create(
            &auth,
            None,
            Some("/api/v1/roster/shifts".into()),
            move |tx| wf::add_shift(tx, b.user_id, b.starts_at, b.ends_at),
        )
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotationBody {
    /// Who rotates, in order.
    user_ids: Vec<UserId>,
    /// The first period starts here.
    starts_at: DateTime<Utc>,
    /// `week` or `day`, or a shift length in hours.
    period: String,
    /// How many periods to plan.
    #[serde(deserialize_with = "helpline_domain::whole")]
    periods: u32,
    /// How many people are on duty in each period.
    #[serde(deserialize_with = "helpline_domain::whole")]
    per_period: usize,
}

/// Plans a rotation: period after period, the next `per_period` people of the list are on
/// duty, wrapping around.
async fn rotation(
    state: web::Data<AppState>,
    auth: Allowed<may::ManageRoster>,
    body: ApiJson<RotationBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    let length = match b.period.as_str() {
        "week" => Duration::days(7),
        "day" => Duration::days(1),
        // Digits only, no sign or leading zero: the spelling the spec's pattern states.
        h => match h
            .strip_suffix('h')
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && !n.starts_with('0'))
            .and_then(|n| n.parse::<i64>().ok())
        {
            Some(n) if (1..=168).contains(&n) => Duration::hours(n),
            _ => {
                return Err(ApiError::field(
                    "period",
                    "must be week, day, or a shift length such as 8h",
                ))
            }
        },
    };
    if b.user_ids.is_empty() || b.user_ids.len() > 200 {
        return Err(ApiError::field("user_ids", "give 1 to 200 people"));
    }
    if b.per_period == 0 || b.per_period > b.user_ids.len() {
        return Err(ApiError::field(
            "per_period",
            "must be between 1 and the number of people",
        ));
    }
    if b.periods == 0 || b.periods > 366 {
        return Err(ApiError::field("periods", "must be 1 to 366"));
    }
    let shifts = state
        .write(&auth, move |tx| {
            let mut out = Vec::new();
            let mut next = 0;
            for p in 0..b.periods {
                let starts = b.starts_at + length * i32::try_from(p).unwrap_or(0);
                for _ in 0..b.per_period {
                    let who = b.user_ids[next % b.user_ids.len()];
                    next += 1;
                    out.push(wf::add_shift(tx, who, starts, starts + length)?);
                }
            }
            Ok(out)
        })
        .await?;
    Ok(HttpResponse::Created().json(json!({ "items": shifts })))
}

/// `DELETE` of a period off the roster (a shift, an absence) by its id.
fn removal(remove: fn(&mut Tx<'_>, uuid::Uuid) -> Result<(), StoreError>) -> actix_web::Route {
    web::delete().to(
        move |state: web::Data<AppState>,
              auth: Allowed<may::ManageRoster>,
              id: web::Path<String>| async move {
            let id = uuid_path(&id)?;
            state.write(&auth, move |tx| remove(tx, id)).await?;
            Ok::<_, ApiError>(HttpResponse::NoContent().finish())
        },
    )
}

fn uuid_path(s: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::try_parse(s).map_err(|_| ApiError::BadRequest("path: expected a UUID".into()))
}

/// Records an absence; anyone may record their own, leads anyone's.
async fn add_absence(
    state: web::Data<AppState>,
    auth: Auth,
    body: ApiJson<PeriodBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.value;
    if auth.actor().user_id() != Some(b.user_id) {
        auth.require(Permission::ManageRoster)?;
    } else {
        auth.require(Permission::ReadRoster)?;
    }
    state
        .create(
            &auth,
            None,
            Some("/api/v1/roster/absences".into()),
            move |tx| wf::add_absence(tx, b.user_id, b.starts_at, b.ends_at),
        )
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HandoffBody {
    to: UserId,
    note: Note,
}

/// Hands a case to the next handler with a note; `If-Match` names the version.
async fn hand_off(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::AssignCase>,
    IfMatch(expected): IfMatch,
    body: ApiJson<HandoffBody>,
) -> Result<HttpResponse, ApiError> {
    let (case, handoff) = hand_off_case(&state, &auth, &case, expected, body.value).await?;
    Ok(json_with_etag(
        &json!({ "case": case, "handoff": handoff }),
        case.version,
    ))
}

/// Hands a case the caller may write to on, from the version the caller saw (API and
/// console): a hand-off without a note is refused.
pub(crate) async fn hand_off_case(
    state: &web::Data<AppState>,
    auth: &Auth,
    case: &Case,
    expected: i64,
    b: HandoffBody,
) -> Result<(Case, helpline_domain::workflow::Handoff), ApiError> {
    if b.note.as_str().trim().is_empty() {
        return Err(ApiError::field(
            "note",
            "a hand-off tells the next handler where things stand",
        ));
    }
    let policy = state.policy.clone();
    let id = case.id;
    state
        .write(auth, move |tx| {
            service::cases::hand_off(tx, id, expected, b.to, b.note, &policy)
        })
        .await
}

/// What a lead does to a case: the change, given the case and the version the lead saw.
pub(crate) type LeadChange = dyn FnOnce(
        &mut helpline_store::Tx<'_>,
        helpline_domain::ids::CaseId,
        i64,
    ) -> Result<Case, StoreError>
    + Send;

/// A lead's change to a case it may see, made from the version `If-Match` named; answers the
/// case.
async fn lead_change(
    state: &web::Data<AppState>,
    auth: &Auth,
    expected: i64,
    id: &str,
    change: Box<LeadChange>,
) -> Result<HttpResponse, ApiError> {
    let case = lead_change_case(state, auth, expected, id, change).await?;
    Ok(json_with_etag(&case, case.version))
}

/// A lead's change to a case it may see, from the version it saw (API and console).
pub(crate) async fn lead_change_case(
    state: &web::Data<AppState>,
    auth: &Auth,
    expected: i64,
    id: &str,
    change: Box<LeadChange>,
) -> Result<Case, ApiError> {
    let case = visible_case(state, auth, id).await?;
    state
        .write(auth, move |tx| change(tx, case.id, expected))
        .await
}

/// A lead takes an escalated case in hand.
async fn acknowledge(
    state: web::Data<AppState>,
    auth: Allowed<may::LeadCases>,
    IfMatch(expected): IfMatch,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    lead_change(
        &state,
        &auth,
        expected,
        &id,
        Box::new(service::cases::acknowledge),
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldBody {
    reason: Note,
}

/// Puts a case under legal hold: retention never touches it.
async fn hold(
    state: web::Data<AppState>,
    auth: Allowed<may::LeadCases>,
    IfMatch(expected): IfMatch,
    id: web::Path<String>,
    body: ApiJson<HoldBody>,
) -> Result<HttpResponse, ApiError> {
    let reason = body.value.reason;
    lead_change(
        &state,
        &auth,
        expected,
        &id,
        Box::new(move |tx, case, expected| {
            if reason.as_str().trim().is_empty() {
                return Err(StoreError::Domain(helpline_domain::DomainError::invalid(
                    "reason",
                    "a legal hold needs its reason",
                )));
            }
            service::cases::set_legal_hold(tx, case, expected, Some(reason))
        }),
    )
    .await
}

/// Lifts a legal hold.
async fn release(
    state: web::Data<AppState>,
    auth: Allowed<may::LeadCases>,
    IfMatch(expected): IfMatch,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    lead_change(
        &state,
        &auth,
        expected,
        &id,
        Box::new(|tx, case, expected| service::cases::set_legal_hold(tx, case, expected, None)),
    )
    .await
}

/// Open cases per person by urgency and age.
async fn workload(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    auth.require(Permission::Oversee)?;
    let now = state.now();
    let weights = state.policy.weights;
    let items = state.read(move |c| wf::workload(c, now, &weights)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items, "weights": weights })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitQuery {
    limit: Option<usize>,
}

impl LimitQuery {
    /// 1 to 500, default 100.
    fn checked(self) -> Result<usize, ApiError> {
        let limit = self.limit.unwrap_or(100);
        if (1..=500).contains(&limit) {
            Ok(limit)
        } else {
            Err(ApiError::field("limit", "must be 1 to 500"))
        }
    }
}

/// What needs a lead now: the cases, and the messages waiting in the quarantine.
async fn escalations(
    state: web::Data<AppState>,
    auth: Allowed<may::Oversee>,
    q: ApiQuery<LimitQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.into_inner().checked()?;
    let now = state.now();
    let who = auth.0.clone();
    let ((items, total), quarantine) = state
        .read(move |c| {
            Ok((
                wf::escalations(c, &who, now, limit)?,
                helpline_store::mail::quarantine_waiting(c)?,
            ))
        })
        .await?;
    Ok(
        HttpResponse::Ok()
            .json(json!({ "items": items, "total": total, "quarantine": quarantine })),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsQuery {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group_by: Option<String>,
    format: Option<String>,
}

/// The numbers of a period, as JSON or CSV.
async fn statistics(
    state: web::Data<AppState>,
    auth: Allowed<may::ReadStats>,
    q: ApiQuery<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let who = auth.0.clone();
    if q.to <= q.from {
        return Err(ApiError::field("to", "must be after from"));
    }
    if q.to - q.from > Duration::days(366 * 10) {
        return Err(ApiError::field("to", "a report covers at most ten years"));
    }
    let mut dims = Vec::new();
    let mut period = None;
    match q.group_by.as_deref() {
        None => dims.extend(Dimension::ALL),
        Some(list) => {
            for g in list.split(',').map(|g| g.trim_matches(' ')) {
                match (g, Dimension::parse(g)) {
                    (_, Some(d)) => dims.push(d),
                    ("week", None) => period = Some(Period::Week),
                    ("month", None) => period = Some(Period::Month),
                    _ => {
                        return Err(ApiError::field(
                            "group_by",
                            format!(
                                "`{}` is not one of status, service_type, audience, urgency, \
                                 priority, channel, country, week, month",
                                g.chars().take(40).collect::<String>()
                            ),
                        ))
                    }
                }
            }
        }
    }
    dims.sort();
    dims.dedup();
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::field("format", "must be json or csv")),
    };
    let now = state.now();
    let (from, to) = (q.from, q.to);
    let report = state
        .read(move |c| stats::report(c, &who, from, to, &dims, period, now))
        .await?;
    if csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                actix_web::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"helpline-stats.csv\"",
            ))
            .body(stats::csv(&report)));
    }
    Ok(HttpResponse::Ok().json(report))
}

/// Everything held about a beneficiary (data-protection request); the export is audited.
async fn export(
    state: web::Data<AppState>,
    auth: Allowed<may::ExportBeneficiary>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = path_id(BeneficiaryId::parse(&id))?;
    let caller = auth.0.clone();
    let doc = state
        .write(&auth, move |tx| {
            helpline_store::beneficiaries::ensure_visible(tx.conn, who, &caller)?;
            let doc = helpline_store::retention::export(tx.conn, who)?;
            tx.audit(
                AuditAction::BeneficiaryExport,
                "beneficiary",
                who,
                None,
                json!({"cases": doc["cases"].as_array().map_or(0, Vec::len)}),
            );
            Ok(doc)
        })
        .await?;
    super::log_beneficiary_read(&state, &auth, who).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"beneficiary-export.json\"",
        ))
        .json(doc))
}

/// The latest webhook calls and how they went.
async fn deliveries(
    state: web::Data<AppState>,
    _auth: Allowed<may::ManageTokens>,
    page: ApiQuery<crate::extract::PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = page.checked()?;
    let page = state
        .read(move |c| wf::deliveries(c, cursor.as_ref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
