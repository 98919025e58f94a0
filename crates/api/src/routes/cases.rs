//! Cases: list with filters, open, read, update with optimistic concurrency, access grants,
//! audit trail.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use helpline_domain::access::Permission;
use helpline_domain::case::{CaseStatus, Impact, Priority, Tag, Urgency};
use helpline_domain::ids::{BeneficiaryId, UserId};
use helpline_domain::log::Channel;
use helpline_domain::search::Query;
use helpline_domain::text::{Description, Summary};
use helpline_domain::user::Actor;
use helpline_domain::workflow::Vetting;
use helpline_store::cases::{self as store_cases, AssigneeFilter, CaseFilter, CaseSort, NewCase};
use helpline_store::search;
use helpline_store::StoreError;
use serde::Deserialize;

use super::beneficiaries::BeneficiaryBody;
use super::{case_page_for, json_with_etag, path_id, resource, visible_case, Visible, Writable};
use crate::allowed::{may, Allowed};
use crate::app::{AppState, Creation};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{
    idempotency, list_of, nullable, page, query_param, ApiJson, ApiQuery, IfMatch, PageParams,
};
use crate::service;
use crate::service::cases::{FirstContact, Requester};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/cases")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/cases/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update)),
    )
    .service(resource("/cases/{id}/audit").route(web::get().to(audit)))
    .service(resource("/cases/{id}/reads").route(web::get().to(reads)))
    .service(
        resource("/cases/{id}/access")
            .route(case_page_for::<may::ManageConfidentiality, _>(
                helpline_store::grants::grant_page,
            ))
            .route(web::post().to(grant_access)),
    )
    .service(resource("/cases/{id}/access/{user_id}").route(web::delete().to(revoke_access)));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    urgency: Option<String>,
    priority: Option<String>,
    assignee: Option<String>,
    service_type: Option<String>,
    audience: Option<String>,
    tag: Option<String>,
    beneficiary: Option<String>,
    confidential: Option<bool>,
    created_from: Option<DateTime<Utc>>,
    created_to: Option<DateTime<Utc>>,
    updated_from: Option<DateTime<Utc>>,
    updated_to: Option<DateTime<Utc>>,
    vetting: Option<Vetting>,
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

impl ListQuery {
    /// The filters, in the domain's terms (`assignee=me` needs a user, not a token).
    fn filter(&self, caller: Actor) -> Result<CaseFilter, ApiError> {
        let assignee = match self.assignee.as_deref() {
            None => None,
            Some("none") => Some(AssigneeFilter::Unassigned),
            Some("me") => match caller.user_id() {
                Some(me) => Some(AssigneeFilter::User(me)),
                None => {
                    return Err(ApiError::field(
                        "assignee",
                        "`me` needs a user, not an API token",
                    ))
                }
            },
            Some(id) => Some(AssigneeFilter::User(
                UserId::parse(id).map_err(|e| ApiError::field("assignee", e.to_string()))?,
            )),
        };
        Ok(CaseFilter {
            status: list_of("status", &self.status, CaseStatus::parse)?,
            urgency: list_of("urgency", &self.urgency, Urgency::parse)?,
            priority: list_of("priority", &self.priority, Priority::parse)?,
            assignee,
            service_type: self.service_type.clone(),
            audience: self.audience.clone(),
            tag: query_param("tag", self.tag.as_deref(), Tag::parse)?,
            beneficiary: query_param(
                "beneficiary",
                self.beneficiary.as_deref(),
                BeneficiaryId::parse,
            )?,
            confidential: self.confidential,
            created_from: self.created_from,
            created_to: self.created_to,
            updated_from: self.updated_from,
            updated_to: self.updated_to,
            vetting: self.vetting,
        })
    }

    /// The order asked for; a search is ranked, so it takes none.
    fn sort(&self) -> Result<CaseSort, ApiError> {
        if self.q.is_some() && self.sort.is_some() {
            return Err(ApiError::field(
                "sort",
                "search results come best first; drop sort or q",
            ));
        }
        match self.sort.as_deref() {
            None | Some("-created") => Ok(CaseSort::CreatedDesc),
            Some("created") => Ok(CaseSort::CreatedAsc),
            Some("-updated") => Ok(CaseSort::UpdatedDesc),
            Some("updated") => Ok(CaseSort::UpdatedAsc),
            Some(_) => Err(ApiError::field(
                "sort",
                "must be one of created, -created, updated, -updated",
            )),
        }
    }
}

/// Cases the caller may see, filtered, sorted and paginated; with `q`, found by their words.
async fn list(
    state: web::Data<AppState>,
    auth: Allowed<may::ReadCases>,
    q: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let (limit, cursor) = page(q.cursor.as_deref(), q.limit)?;
    let filter = q.filter(auth.actor())?;
    let sort = q.sort()?;
    let who = auth.0.clone();
    let now = state.now();
    if let Some(text) = q.q.as_deref() {
        let query = Query::parse(text).map_err(ApiError::from)?;
        // A search sees every committed change: documents still queued are rebuilt first (off
        // the async workers, and only when there are any).
        if state.read(search::pending).await? {
            let st = state.clone();
            web::block(move || search::catch_up(&st.store))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))??;
        }
        let mut page = state
            .read(move |c| search::search(c, &who, &filter, &query, cursor.as_ref(), limit))
            .await?;
        page.items.iter_mut().for_each(|h| h.case.assess(now));
        return Ok(HttpResponse::Ok().json(page));
    }
    let mut page = state
        .read(move |c| store_cases::list(c, &who, &filter, sort, cursor.as_ref(), limit))
        .await?;
    page.items.iter_mut().for_each(|c| c.assess(now));
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateCase {
    #[serde(default, deserialize_with = "helpline_domain::given")]
    beneficiary_id: Option<BeneficiaryId>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    beneficiary: Option<BeneficiaryBody>,
    summary: Summary,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    description: Option<Description>,
    urgency: Urgency,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    impact: Option<Impact>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    priority: Option<Priority>,
    service_type: String,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    assignee_id: Option<UserId>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    confidential: bool,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    channel: Option<Channel>,
}

/// Opens a case, for an existing beneficiary or one described inline.
async fn create(
    state: web::Data<AppState>,
    auth: Allowed<may::CreateCase>,
    body: ApiJson<CreateCase>,
) -> Result<HttpResponse, ApiError> {
    let idem = idempotency(&auth, body.retry);
    let (requester, new) = first_contact_request(&state, &auth, body.value)?;
    let policy = state.policy.clone();
    let caller = auth.0.clone();
    state
        .create_or_accept(&auth, idem, Some("/api/v1/cases".into()), move |tx| {
            Ok(
                match service::cases::first_contact(tx, &caller, requester, new, &policy)? {
                    FirstContact::Opened(case) => Creation::Created(*case),
                    FirstContact::Referred => Creation::Accepted(referred()),
                },
            )
        })
        .await
}

/// A first contact as the API and the console take it: what the caller may set checked, the
/// service type read from the taxonomy, and who it is for.
pub(crate) fn first_contact_request(
    state: &AppState,
    auth: &Auth,
    b: CreateCase,
) -> Result<
    (
        Requester,
        impl FnOnce(BeneficiaryId) -> NewCase + Send + 'static,
    ),
    ApiError,
> {
    let service_type = state.service_types.term(&b.service_type)?;
    if b.priority.is_some() {
        auth.require(Permission::OverridePriority)?;
    }
    if b.assignee_id.is_some() {
        auth.require(Permission::AssignCase)?;
    }
    let requester = match (b.beneficiary_id, b.beneficiary) {
        (Some(id), None) => Requester::Existing(id),
        (None, Some(inline)) => {
            auth.require(Permission::WriteBeneficiaries)?;
            Requester::New(inline.into_new(state)?)
        }
        _ => {
            return Err(ApiError::field(
                "beneficiary",
                "give either beneficiary_id (an existing beneficiary) or beneficiary (a new one), not both",
            ))
        }
    };
    let new = move |beneficiary_id| NewCase {
        beneficiary_id,
        urgency: b.urgency,
        impact: b.impact.unwrap_or(Impact::Medium),
        priority_override: b.priority,
        summary: b.summary,
        description: b.description.unwrap_or_else(Description::empty),
        service_type,
        assignee_id: b.assignee_id,
        tags: b.tags,
        confidential: b.confidential,
        channel: b.channel,
    };
    Ok((requester, new))
}

/// The answer to a request passed to the leads: it names nothing (no case, no person).
pub(crate) fn referred() -> serde_json::Value {
    serde_json::json!({
        "referred": true,
        "detail": "Recorded and passed to a lead, who will follow up: the address belongs to someone whose cases you may not see.",
    })
}

/// One case, with its ETag.
async fn get(Visible { case, auth: _ }: Visible<may::ReadCases>) -> Result<HttpResponse, ApiError> {
    Ok(json_with_etag(&case, case.version))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchCase {
    #[serde(default, deserialize_with = "helpline_domain::given")]
    summary: Option<Summary>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    description: Option<Description>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    status: Option<CaseStatus>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    urgency: Option<Urgency>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    impact: Option<Impact>,
    #[serde(default, deserialize_with = "nullable")]
    priority: Option<Option<Priority>>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    service_type: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    assignee_id: Option<Option<UserId>>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    tags: Option<Vec<Tag>>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    confidential: Option<bool>,
}

/// Updates a case if `If-Match` names its current version; otherwise 412.
async fn update(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::ReadCases>,
    IfMatch(expected): IfMatch,
    body: ApiJson<PatchCase>,
) -> Result<HttpResponse, ApiError> {
    let updated = change_case(&state, &auth, &case, expected, body.value).await?;
    Ok(json_with_etag(&updated, updated.version))
}

/// A change to a case as the API and the console take it: what the caller may change checked
/// field by field, then the change made if `expected` is still the case's version.
pub(crate) async fn change_case(
    state: &web::Data<AppState>,
    auth: &Auth,
    case: &helpline_domain::case::Case,
    expected: i64,
    p: PatchCase,
) -> Result<helpline_domain::case::Case, ApiError> {
    let touches_case = p.summary.is_some()
        || p.description.is_some()
        || p.status.is_some()
        || p.urgency.is_some()
        || p.impact.is_some()
        || p.service_type.is_some()
        || p.tags.is_some()
        || p.confidential == Some(true);
    if touches_case {
        auth.require(Permission::UpdateCase)?;
    }
    if p.priority.is_some() {
        auth.require(Permission::OverridePriority)?;
    }
    if p.assignee_id.is_some() {
        auth.require(Permission::AssignCase)?;
    }
    if p.confidential == Some(false) && case.confidential {
        auth.require(Permission::ManageConfidentiality)?;
    }
    let service_type = p
        .service_type
        .as_deref()
        .map(|s| state.service_types.term(s))
        .transpose()?;
    let caller = auth.0.clone();
    let case_id = case.id;
    let policy = state.policy.clone();
    state
        .write(auth, move |tx| {
            let updated = service::cases::change(tx, case_id, expected, &policy, |c, now| {
                if let Some(s) = p.status {
                    c.change_status(s, now)?;
                }
                if p.urgency.is_some() || p.impact.is_some() {
                    c.set_severity(p.urgency.unwrap_or(c.urgency), p.impact.unwrap_or(c.impact));
                }
                if let Some(pr) = p.priority {
                    c.override_priority(pr);
                }
                if let Some(v) = p.summary {
                    c.summary = v;
                }
                if let Some(v) = p.description {
                    c.description = v;
                }
                if let Some(v) = service_type {
                    c.service_type = v;
                }
                if let Some(v) = p.assignee_id {
                    c.assignee_id = v;
                }
                if let Some(v) = p.tags {
                    c.tags = v;
                }
                if let Some(v) = p.confidential {
                    c.confidential = v;
                }
                Ok::<(), StoreError>(())
            })?;
            service::cases::keep_sight(tx, &updated, &caller)?;
            Ok(updated)
        })
        .await
}

/// The audit trail of a case.
async fn audit(
    state: web::Data<AppState>,
    Visible { case, auth: _ }: Visible<may::ReadAudit>,
    page: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = page.checked()?;
    let events = state
        .read(move |c| helpline_store::audit::for_case(c, case.id, cursor.as_ref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(events))
}

/// Who read a case while it was confidential (the access log), a page at a time.
async fn reads(
    state: web::Data<AppState>,
    Visible { case, auth: _ }: Visible<may::Oversee>,
    page: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = page.checked()?;
    let events = state
        .read(move |c| helpline_store::audit::reads_of_case(c, case.id, cursor.as_ref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(events))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    user_id: UserId,
}

/// Grants a user access to a (confidential) case.
async fn grant_access(
    state: web::Data<AppState>,
    Visible { case, auth }: Visible<may::ManageConfidentiality>,
    body: ApiJson<GrantBody>,
) -> Result<HttpResponse, ApiError> {
    let user = body.value.user_id;
    let grant = state
        .write(&auth, move |tx| {
            helpline_store::grants::grant(tx, case.id, user)
        })
        .await?;
    Ok(HttpResponse::Created().json(grant))
}

/// Withdraws a user's access.
async fn revoke_access(
    state: web::Data<AppState>,
    auth: Allowed<may::ManageConfidentiality>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, user) = path.into_inner();
    let user = path_id(UserId::parse(&user))?;
    let case = visible_case(&state, &auth, &id).await?;
    state
        .write(&auth, move |tx| {
            helpline_store::grants::revoke(tx, case.id, user)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
