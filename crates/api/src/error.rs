//! Errors, in layers, mapped to HTTP in this one place.
//!
//! - `helpline_domain::DomainError`: a value or change the helpline's rules refuse (an invalid
//!   email, an illegal status transition). Never a 500.
//! - `helpline_store::StoreError`: not found, version mismatch, uniqueness conflicts, and real
//!   database failures.
//! - [`ApiError`]: what the HTTP layer answers. Every variant has one status and renders as an
//!   RFC 9457 `application/problem+json` body with `type`, `title`, `status`, `detail` and, for
//!   validation, the offending `errors[]` (field and message).
//!
//! Only unexpected failures become 500; their detail is logged (without request data) and the
//! client gets a generic message. A confidential case someone may not see is a 404, the same as
//! one that does not exist, so the status never reveals it.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use helpline_domain::DomainError;
use helpline_store::StoreError;
use serde::Serialize;

/// One offending field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path to the field (`beneficiary.emails[0]`, `urgency`), or `body` for the whole body.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// What the API answers when a request does not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (bad JSON syntax, bad query string, bad header).
    #[error("{0}")]
    BadRequest(String),
    /// The request is well-formed but some fields are invalid.
    #[error("{detail}")]
    Validation {
        /// Summary.
        detail: String,
        /// The fields.
        errors: Vec<FieldError>,
    },
    /// No valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials, but the role or scope does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// No such resource, or not visible to the caller.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The path names nothing that could exist (an id that is not one), with what an id is.
    #[error("{0}")]
    NoSuchPath(String),
    /// The route exists, but not with this method; `allow` lists the methods it takes.
    #[error("{detail}")]
    MethodNotAllowed {
        /// What was asked.
        detail: String,
        /// The `Allow` header's value.
        allow: String,
    },
    /// The change conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` names a version that is no longer current.
    #[error("{detail}")]
    PreconditionFailed {
        /// Explanation.
        detail: String,
    },
    /// A PATCH without `If-Match`.
    #[error("this update needs an If-Match header carrying the ETag you read, so that no one else's change is overwritten")]
    PreconditionRequired,
    /// Body over the configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many attempts; retry after the given number of seconds.
    #[error("{detail}")]
    TooManyRequests {
        /// Explanation.
        detail: String,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The database cannot be reached now; retry later.
    #[error("{0}")]
    Unavailable(String),
    /// Anything unexpected. The detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A single-field validation error.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        let field = field.into();
        ApiError::Validation {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError { field, message }],
        }
    }

    fn slug_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => ("bad-request", "Bad request"),
            ApiError::Validation { .. } => ("validation", "Invalid request"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::NotFound(_) | ApiError::NoSuchPath(_) => ("not-found", "Not found"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::PreconditionFailed { .. } => ("precondition-failed", "Stale version"),
            ApiError::PreconditionRequired => ("precondition-required", "If-Match required"),
            ApiError::PayloadTooLarge(_) => ("payload-too-large", "Request body too large"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal", "Internal error"),
        }
    }
}

/// The problem+json body.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short title.
    pub title: &'static str,
    /// HTTP status.
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// Offending fields, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::NoSuchPath(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let ApiError::Internal(detail) = self {
            tracing::error!(error = %detail, "internal error");
        }
        let (slug, title) = self.slug_title();
        let body = Problem {
            kind: format!("urn:helpline:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail: self.to_string(),
            errors: match self {
                ApiError::Validation { errors, .. } => errors.clone(),
                _ => Vec::new(),
            },
        };
        let mut resp = HttpResponse::build(status);
        resp.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if matches!(self, ApiError::Unauthorized(_)) {
            resp.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        // RFC 9110 (15.5.6): a 405 says which methods the resource does take.
        if let ApiError::MethodNotAllowed { allow, .. } = self {
            resp.insert_header((header::ALLOW, allow.as_str()));
        }
        if let ApiError::TooManyRequests { retry_after, .. } = self {
            resp.insert_header((header::RETRY_AFTER, retry_after.to_string()));
        }
        if matches!(self, ApiError::Unavailable(_)) {
            resp.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
        }
        resp.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid { what, reason } => ApiError::field(what, reason),
            DomainError::IllegalTransition { .. } | DomainError::Conflict(_) => {
                ApiError::Conflict(e.to_string())
            }
            DomainError::NotAllowed(m) => ApiError::Forbidden(m),
        }
    }
}

impl From<crate::service::replies::ReplyError> for ApiError {
    fn from(e: crate::service::replies::ReplyError) -> Self {
        use crate::service::replies::ReplyError;
        match e {
            ReplyError::NoSigningKey => ApiError::Unavailable(e.to_string()),
            ReplyError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity } => ApiError::NotFound(entity),
            StoreError::VersionMismatch { .. } => ApiError::PreconditionFailed {
                detail: e.to_string(),
            },
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Domain(d) => d.into(),
            StoreError::IdempotencyMismatch => ApiError::field("Idempotency-Key", e.to_string()),
            StoreError::Unavailable(m) => {
                ApiError::Unavailable(format!("database unavailable: {m}"))
            }
            StoreError::Database(ref d) if StoreError::is_unique_violation(d) => {
                ApiError::Conflict("this would duplicate an existing record".into())
            }
            StoreError::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::SerializationFailure,
                _,
            )) => ApiError::Unavailable("concurrent update; retry".into()),
            // Two writers on Postgres that locked the same rows in opposite orders: Postgres
            // aborts one; a retry goes through.
            StoreError::Database(diesel::result::Error::DatabaseError(_, ref info))
                if info.message().contains("deadlock detected") =>
            {
                ApiError::Unavailable("concurrent update; retry".into())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        ApiError::Unavailable("server is shutting down".into())
    }
}
