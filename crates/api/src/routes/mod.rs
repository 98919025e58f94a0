//! Every route, in one `configure`: `/healthz`, `/readyz`, `/metrics`, and the API under
//! `/api/v1`, one module per resource.

use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest, HttpResponse, Resource};
use helpline_domain::access::Permission;
use helpline_domain::audit::AuditAction;
use helpline_domain::case::{Case, CaseLocator};
use helpline_domain::ids::{BeneficiaryId, CaseId};
use helpline_domain::{DomainError, Versioned};
use helpline_store::audit::Read;
use helpline_store::{Cursor, DbConnection, Page, StoreError};

use crate::allowed::{may, Allowed, Needs};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiQuery, PageParams};

pub(crate) mod analysis;
pub(crate) mod auth;
mod beneficiaries;
pub(crate) mod case_log;
pub(crate) mod cases;
mod evidence;
mod health;
pub(crate) mod mail;
mod parties;
mod tokens;
mod users;
pub(crate) mod workflow;

/// A resource whose unsupported methods answer 405 as problem+json.
pub(crate) fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let pattern = req.match_pattern().unwrap_or_else(|| req.path().to_owned());
    let allow = ALLOWED.get(&pattern).cloned().unwrap_or_default();
    Err(ApiError::MethodNotAllowed {
        detail: format!("{} is not allowed on {pattern}", req.method()),
        allow,
    })
}

/// The methods each path takes, read from `openapi.yaml` (the openapi test holds every route
/// the code mounts to the methods the spec gives it, so the two cannot drift): actix knows a
/// resource's methods only as guards it cannot list.
static ALLOWED: std::sync::LazyLock<std::collections::HashMap<String, String>> =
    std::sync::LazyLock::new(|| methods_by_path(include_str!("../../../../openapi.yaml")));

/// `path → "GET, POST"` from the `paths:` section of an OpenAPI document in block style.
fn methods_by_path(spec: &str) -> std::collections::HashMap<String, String> {
    let mut out: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut in_paths = false;
    let mut path: Option<&str> = None;
    for line in spec.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line.trim_end() == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line
            .strip_prefix("  /")
            .and_then(|l| l.trim_end().strip_suffix(':'))
        {
            path = Some(&line[2..3 + p.len()]);
            continue;
        }
        let method = line
            .strip_prefix("    ")
            .filter(|l| !l.starts_with(' '))
            .and_then(|l| l.trim_end().strip_suffix(':'));
        if let (Some(p), Some(m)) = (path, method) {
            if ["get", "put", "post", "patch", "delete"].contains(&m) {
                let all = out.entry(p.to_owned()).or_default();
                if !all.is_empty() {
                    all.push_str(", ");
                }
                all.push_str(&m.to_ascii_uppercase());
            }
        }
    }
    out
}

/// Mounts every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    cfg.service(
        web::scope("/api/v1")
            .configure(auth::configure)
            .configure(cases::configure)
            .configure(case_log::configure)
            .configure(beneficiaries::configure)
            .configure(parties::configure)
            .configure(users::configure)
            .configure(tokens::configure)
            .configure(mail::configure)
            .configure(analysis::configure)
            .configure(evidence::configure)
            .configure(workflow::configure)
            .service(resource("/taxonomies").route(web::get().to(taxonomies))),
    );
}

/// The configured audience types and service types, for clients to offer.
async fn taxonomies(state: web::Data<AppState>, _auth: Auth) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "audience": state.audiences.terms(),
        "service_type": state.service_types.terms(),
    }))
}

/// An id from the path, or a 404 saying what an id looks like: a path whose id cannot be one
/// names no resource, as one whose id is unknown.
pub(crate) fn path_id<T>(r: Result<T, DomainError>) -> Result<T, ApiError> {
    r.map_err(|e| ApiError::NoSuchPath(e.to_string()))
}

/// The case named by `{id}` in the path (UUID or reference) and its caller, who holds `P` and
/// may see the case: a case they may not see is not found (404), as one that does not exist.
/// With `WRITABLE`, the case must also still be able to change (a merged one answers 409).
pub(crate) struct CaseAccess<P, const WRITABLE: bool> {
    /// The case.
    pub case: Case,
    /// The caller.
    pub auth: Allowed<P>,
}

/// A case the caller may see, as a handler's argument.
pub(crate) type Visible<P> = CaseAccess<P, false>;

/// A case the caller may see and that can still change, as a handler's argument.
pub(crate) type Writable<P> = CaseAccess<P, true>;

impl<P: Needs + 'static, const WRITABLE: bool> FromRequest for CaseAccess<P, WRITABLE> {
    type Error = ApiError;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let auth = Allowed::<P>::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let id = req.match_info().get("id").map(str::to_owned);
        Box::pin(async move {
            let auth = auth.await?;
            let state = state.ok_or_else(|| ApiError::Internal("no app state".into()))?;
            let id = id.ok_or_else(|| ApiError::Internal("no {id} in this route".into()))?;
            // `Allowed::<P>` checked the route's permission: an integration scoped to analysis
            // or exports reaches a case's indicators or export without reading the case.
            let case = if WRITABLE {
                writable_case(&state, &auth, &id).await?
            } else {
                case_in_path(&state, &auth, &id).await?
            };
            Ok(CaseAccess { case, auth })
        })
    }
}

/// The case named in the path (UUID or reference), if the caller may read cases and see it.
pub(crate) async fn visible_case(
    state: &web::Data<AppState>,
    auth: &Auth,
    id: &str,
) -> Result<Case, ApiError> {
    auth.require(helpline_domain::access::Permission::ReadCases)?;
    case_in_path(state, auth, id).await
}

/// The case named (UUID or reference), if the caller may see it; the route has checked what
/// the caller may do with it. Every read of a confidential case passes here.
pub(crate) async fn case_in_path(
    state: &web::Data<AppState>,
    auth: &Auth,
    id: &str,
) -> Result<Case, ApiError> {
    let at = path_id(CaseLocator::parse(id))?;
    let who = auth.0.clone();
    let now = state.now();
    let mut case = state
        .read(move |c| helpline_store::cases::get_visible(c, at, &who))
        .await?;
    case.assess(now);
    if case.confidential {
        log_reads(state, auth, AuditAction::CaseRead, vec![case.id]).await?;
    }
    Ok(case)
}

/// Writes a `GET` of a confidential case (or of its beneficiary's record) to the access log
/// before it is answered: every read of a case passes through [`case_in_path`], every read of
/// a person through [`log_beneficiary_read`]. Writes are in the audit trail instead.
async fn log_reads(
    state: &web::Data<AppState>,
    auth: &Auth,
    action: AuditAction,
    cases: Vec<CaseId>,
) -> Result<(), ApiError> {
    let Some(what) = auth.1.read.clone() else {
        return Ok(());
    };
    if cases.is_empty() {
        return Ok(());
    }
    let via = auth.1.credential.clone();
    let reads = cases
        .into_iter()
        .map(|case| Read {
            case,
            action,
            what: what.clone(),
            via: via.clone(),
        })
        .collect();
    state
        .write(auth, move |tx| {
            helpline_store::audit::record_reads(tx, reads)
        })
        .await
}

/// Writes a read of a person's record to the access log of each of their confidential cases.
pub(crate) async fn log_beneficiary_read(
    state: &web::Data<AppState>,
    auth: &Auth,
    id: BeneficiaryId,
) -> Result<(), ApiError> {
    if auth.1.read.is_none() {
        return Ok(());
    }
    let cases = state
        .read(move |c| helpline_store::beneficiaries::confidential_cases(c, id))
        .await?;
    log_person_read(state, auth, cases).await
}

/// Writes a read of a person's record to the access logs of the given confidential cases of
/// theirs (a page that read them with the rest of what it shows).
pub(crate) async fn log_person_read(
    state: &web::Data<AppState>,
    auth: &Auth,
    cases: Vec<CaseId>,
) -> Result<(), ApiError> {
    log_reads(state, auth, AuditAction::BeneficiaryRead, cases).await
}

/// The case named in the path, if the caller may see it and it can still change: a case merged
/// into another refuses new work with 409, naming where its log went.
pub(crate) async fn writable_case(
    state: &web::Data<AppState>,
    auth: &Auth,
    id: &str,
) -> Result<Case, ApiError> {
    let case = visible_case(state, auth, id).await?;
    if let Some(into) = case.merged_into {
        return Err(ApiError::Conflict(format!(
            "case #{} was merged into case {into}; work on that one (or unmerge it)",
            case.reference.get()
        )));
    }
    Ok(case)
}

/// The case a request body names in `field` (its id or `#ref`), if the caller may see it and it
/// can still change. Unlike a case in the path, one that cannot be found is the body's fault:
/// 422 on that field, in the same words whether it does not exist or is hidden.
pub(crate) async fn writable_case_named(
    state: &web::Data<AppState>,
    auth: &Auth,
    field: &'static str,
    named: &str,
) -> Result<Case, ApiError> {
    writable_case(state, auth, named)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) | ApiError::NoSuchPath(_) | ApiError::BadRequest(_) => {
                ApiError::from(DomainError::invalid(
                    field,
                    "no such case (give its id or its reference such as #1042)",
                ))
            }
            e => e,
        })
}

/// `GET` of one versioned record by the id in the path: the permission checked, the id parsed,
/// the record read and answered with its ETag. The directory resources (beneficiaries,
/// parties, users) differ only in these three.
pub(crate) fn get_versioned<Id, T>(
    permission: Permission,
    parse: fn(&str) -> Result<Id, DomainError>,
    read: fn(&mut DbConnection, Id) -> Result<T, StoreError>,
) -> actix_web::Route
where
    Id: Send + 'static,
    T: serde::Serialize + Versioned + Send + 'static,
{
    web::get().to(
        move |state: web::Data<AppState>, auth: Auth, id: web::Path<String>| async move {
            auth.require(permission)?;
            let id = path_id(parse(&id))?;
            let record = state.read(move |c| read(c, id)).await?;
            Ok::<_, ApiError>(json_with_etag(&record, record.version()))
        },
    )
}

/// How a list under a case reads one page of its items.
pub(crate) type PageFetch<T> =
    fn(&mut DbConnection, CaseId, Option<&Cursor>, i64) -> Result<Page<T>, StoreError>;

/// `GET` of one page of a list under a case (its messages, comments, evidence, ...), for a
/// caller who may see the case.
pub(crate) fn case_page<T: serde::Serialize + Send + 'static>(
    fetch: PageFetch<T>,
) -> actix_web::Route {
    case_page_for::<may::ReadCases, T>(fetch)
}

/// [`case_page`] for a list that needs a permission of its own besides seeing the case.
pub(crate) fn case_page_for<P, T>(fetch: PageFetch<T>) -> actix_web::Route
where
    P: Needs + 'static,
    T: serde::Serialize + Send + 'static,
{
    web::get().to(
        move |state: web::Data<AppState>,
              auth: Allowed<P>,
              id: web::Path<String>,
              q: ApiQuery<PageParams>| async move {
            let case = visible_case(&state, &auth, &id).await?;
            let (limit, cursor) = q.checked()?;
            let page = state
                .read(move |c| fetch(c, case.id, cursor.as_ref(), limit))
                .await?;
            Ok::<_, ApiError>(HttpResponse::Ok().json(page))
        },
    )
}

/// How a list under a beneficiary reads one page of its items.
pub(crate) type BeneficiaryFetch<T> =
    fn(&mut DbConnection, BeneficiaryId, Option<&Cursor>, i64) -> Result<Page<T>, StoreError>;

/// `GET` of one page of a list under a beneficiary (vetting history, certificates).
pub(crate) fn beneficiary_page<T: serde::Serialize + Send + 'static>(
    fetch: BeneficiaryFetch<T>,
) -> actix_web::Route {
    web::get().to(
        move |state: web::Data<AppState>,
              auth: Allowed<may::ReadBeneficiaries>,
              id: web::Path<String>,
              q: ApiQuery<PageParams>| async move {
            let id = path_id(BeneficiaryId::parse(&id))?;
            let (limit, cursor) = q.checked()?;
            let who = auth.0.clone();
            let page = state
                .read(move |c| {
                    helpline_store::beneficiaries::ensure_visible(c, id, &who)?;
                    fetch(c, id, cursor.as_ref(), limit)
                })
                .await?;
            log_beneficiary_read(&state, &auth, id).await?;
            Ok::<_, ApiError>(HttpResponse::Ok().json(page))
        },
    )
}

/// 200 with a JSON body and, for versioned entities, its ETag.
pub(crate) fn json_with_etag<T: serde::Serialize>(value: &T, version: i64) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::ETAG, crate::extract::etag(version)))
        .json(value)
}

/// The request body, refused with 413 as soon as it passes `max` bytes (never buffered whole).
/// A body whose length is announced gets its buffer at once: growing by doubling would hold
/// the old and the new copy together, half again the message at its peak.
pub(crate) async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    max: usize,
) -> Result<web::Bytes, ApiError> {
    use futures_util::StreamExt;
    let announced = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > max) {
        return Err(ApiError::PayloadTooLarge(format!(
            "the body is larger than {max} bytes, the most accepted"
        )));
    }
    let mut buf = web::BytesMut::with_capacity(announced.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("reading the body: {e}")))?;
        if buf.len() + chunk.len() > max {
            return Err(ApiError::PayloadTooLarge(format!(
                "the body is larger than {max} bytes, the most accepted"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_paths_methods_from_the_spec() {
        let spec = "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      summary: x\n    post:\n      \
                    summary: y\n  /a/{id}:\n    parameters: []\n    delete:\n      x: 1\n\
                    components:\n  schemas:\n    get:\n";
        let m = methods_by_path(spec);
        assert_eq!(m.get("/a").map(String::as_str), Some("GET, POST"));
        assert_eq!(m.get("/a/{id}").map(String::as_str), Some("DELETE"));
        assert_eq!(m.len(), 2);
        assert_eq!(
            ALLOWED.get("/api/v1/cases/{id}").map(String::as_str),
            Some("GET, PATCH")
        );
    }
}
