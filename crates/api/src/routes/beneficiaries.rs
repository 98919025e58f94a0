//! Beneficiaries: the directory of people helped, their vetting, their cases.

use actix_web::{web, HttpResponse};
use helpline_domain::access::Permission;
use helpline_domain::beneficiary::{
    ContactChannel, CountryCode, EmailAddress, LanguageTag, VerificationMethod,
    VerificationRequest, VerificationStatus,
};
use helpline_domain::ids::BeneficiaryId;
use helpline_domain::text::{Name, Note};
use helpline_store::beneficiaries::{
    self as store_b, BeneficiaryFilter, BeneficiaryPatch, NewBeneficiary,
};
use helpline_store::cases::{CaseFilter, CaseSort};
use serde::Deserialize;

use super::{beneficiary_page, json_with_etag, log_beneficiary_read, path_id, resource};
use crate::allowed::{may, Allowed};
use crate::app::{AppState, Creation};
use crate::error::ApiError;
use crate::extract::{
    idempotency, nullable, page, query_param, ApiJson, ApiQuery, IfMatch, PageParams,
};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/beneficiaries")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/beneficiaries/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update)),
    )
    .service(
        resource("/beneficiaries/{id}/verification")
            .route(beneficiary_page(store_b::verification_page))
            .route(web::post().to(verify)),
    )
    .service(resource("/beneficiaries/{id}/cases").route(web::get().to(cases)));
}

/// A beneficiary as described in a request (also inline when opening a case).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BeneficiaryBody {
    name: Name,
    #[serde(default)]
    emails: Vec<EmailAddress>,
    #[serde(default)]
    channels: Vec<ContactChannel>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    preferred_language: Option<LanguageTag>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    organisation: Option<Name>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    country: Option<CountryCode>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    audience: Option<String>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    notes: Option<Note>,
}

impl BeneficiaryBody {
    /// Checks the audience against the taxonomy.
    pub(crate) fn into_new(self, state: &AppState) -> Result<NewBeneficiary, ApiError> {
        Ok(NewBeneficiary {
            name: self.name,
            emails: self.emails,
            channels: self.channels,
            preferred_language: self.preferred_language,
            organisation: self.organisation,
            country: self.country,
            audience: self
                .audience
                .as_deref()
                .map(|a| state.audiences.term(a))
                .transpose()?,
            notes: self.notes.unwrap_or_else(Note::empty),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    email: Option<String>,
    audience: Option<String>,
    verification: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// A beneficiary the caller may see (a person is as hidden as their cases), with its ETag.
async fn get(
    state: web::Data<AppState>,
    auth: Allowed<may::ReadBeneficiaries>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(BeneficiaryId::parse(&id))?;
    let who = auth.0.clone();
    let x = state
        .read(move |c| store_b::get_visible(c, id, &who))
        .await?;
    log_beneficiary_read(&state, &auth, id).await?;
    Ok(json_with_etag(&x, x.version))
}

async fn list(
    state: web::Data<AppState>,
    auth: Allowed<may::ReadBeneficiaries>,
    q: ApiQuery<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let (limit, cursor) = page(q.cursor.as_deref(), q.limit)?;
    let filter = BeneficiaryFilter {
        email: query_param("email", q.email.as_deref(), EmailAddress::parse)?,
        audience: q.audience,
        verification: query_param(
            "verification",
            q.verification.as_deref(),
            VerificationStatus::parse,
        )?,
    };
    let who = auth.0.clone();
    let page = state
        .read(move |c| store_b::list(c, &who, &filter, cursor.as_ref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn create(
    state: web::Data<AppState>,
    auth: Allowed<may::WriteBeneficiaries>,
    body: ApiJson<BeneficiaryBody>,
) -> Result<HttpResponse, ApiError> {
    let idem = idempotency(&auth, body.retry);
    let new = body.value.into_new(&state)?;
    let caller = auth.0.clone();
    state
        .create_or_accept(
            &auth,
            idem,
            Some("/api/v1/beneficiaries".into()),
            move |tx| {
                // A hidden person's address is neither confirmed (a 409 would) nor taken.
                if store_b::hidden_owner(tx.conn, &new.emails, &caller)?.is_some() {
                    return Ok(Creation::Accepted(serde_json::json!({
                        "referred": false,
                        "detail": "Not recorded: the address belongs to someone whose cases you may not see. Open a case with it (POST /api/v1/cases) and it reaches a lead.",
                    })));
                }
                store_b::create(tx, new).map(Creation::Created)
            },
        )
        .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "helpline_domain::given")]
    name: Option<Name>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    emails: Option<Vec<EmailAddress>>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    channels: Option<Vec<ContactChannel>>,
    #[serde(default, deserialize_with = "nullable")]
    preferred_language: Option<Option<LanguageTag>>,
    #[serde(default, deserialize_with = "nullable")]
    organisation: Option<Option<Name>>,
    #[serde(default, deserialize_with = "nullable")]
    country: Option<Option<CountryCode>>,
    #[serde(default, deserialize_with = "nullable")]
    audience: Option<Option<String>>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    notes: Option<Note>,
}

async fn update(
    state: web::Data<AppState>,
    auth: Allowed<may::WriteBeneficiaries>,
    IfMatch(expected): IfMatch,
    id: web::Path<String>,
    body: ApiJson<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(BeneficiaryId::parse(&id))?;
    let b = body.value;
    let audience = match b.audience {
        None => None,
        Some(None) => Some(None),
        Some(Some(a)) => Some(Some(state.audiences.term(&a)?)),
    };
    let patch = BeneficiaryPatch {
        name: b.name,
        emails: b.emails,
        channels: b.channels,
        preferred_language: b.preferred_language,
        organisation: b.organisation,
        country: b.country,
        audience,
        notes: b.notes,
    };
    let who = auth.0.clone();
    let x = state
        .write(&auth, move |tx| {
            store_b::ensure_visible(tx.conn, id, &who)?;
            // The uniqueness conflict would name the owner: for one hidden from the caller it
            // says only that a lead can settle it.
            if let Some(emails) = &patch.emails {
                if store_b::hidden_owner(tx.conn, emails, &who)?.is_some() {
                    return Err(helpline_store::StoreError::Conflict(
                        "an address given belongs to someone whose cases you may not see; a lead can settle it".into(),
                    ));
                }
            }
            store_b::update(tx, id, expected, patch)
        })
        .await?;
    Ok(json_with_etag(&x, x.version))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    status: VerificationStatus,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    method: Option<VerificationMethod>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    vouched_by: Option<Name>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    note: Option<Note>,
}

/// Records a vetting decision; the history keeps every decision.
async fn verify(
    state: web::Data<AppState>,
    auth: Allowed<may::VerifyBeneficiary>,
    id: web::Path<String>,
    body: ApiJson<VerifyBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(BeneficiaryId::parse(&id))?;
    let b = body.value;
    let req = VerificationRequest {
        status: b.status,
        method: b.method,
        vouched_by: b.vouched_by,
        note: b.note.unwrap_or_else(Note::empty),
    };
    let role = auth.0.role;
    let who = auth.0.clone();
    let (beneficiary, verification) = state
        .write(&auth, move |tx| {
            store_b::ensure_visible(tx.conn, id, &who)?;
            store_b::verify(tx, id, req, role)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::ETAG,
            crate::extract::etag(beneficiary.version),
        ))
        .json(serde_json::json!({ "beneficiary": beneficiary, "verification": verification })))
}

/// The beneficiary's cases that the caller may see.
async fn cases(
    state: web::Data<AppState>,
    auth: Allowed<may::ReadBeneficiaries>,
    id: web::Path<String>,
    q: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Permission::ReadCases)?;
    let id = path_id(BeneficiaryId::parse(&id))?;
    let (limit, cursor) = q.checked()?;
    let who = auth.0.clone();
    let page = state
        .read(move |c| {
            store_b::ensure_visible(c, id, &who)?;
            let filter = CaseFilter {
                beneficiary: Some(id),
                ..CaseFilter::default()
            };
            helpline_store::cases::list(
                c,
                &who,
                &filter,
                CaseSort::CreatedDesc,
                cursor.as_ref(),
                limit,
            )
        })
        .await?;
    log_beneficiary_read(&state, &auth, id).await?;
    Ok(HttpResponse::Ok().json(page))
}
