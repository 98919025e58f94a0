//! Extractors and request helpers: JSON bodies with field-level errors, `If-Match`,
//! `Idempotency-Key`, pagination parameters.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use helpline_store::idempotency::IdempotencyKey;
use helpline_store::Cursor;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;

/// A JSON request body, parsed into `T` with the path of any offending field, plus what makes
/// the request safe to repeat if the client sent `Idempotency-Key`.
#[derive(Debug)]
pub struct ApiJson<T> {
    /// The parsed body.
    pub value: T,
    /// The client's key and the hash of the request it came with.
    pub retry: Option<Retry>,
}

/// The client's `Idempotency-Key` and the SHA-256 of the method, path and body it came with: a
/// repeat with the same key and another request is refused, not answered with the first.
#[derive(Debug)]
pub struct Retry {
    key: String,
    request_hash: String,
}

/// The idempotency identity of a POST for this caller (keys are per caller), if the client
/// sent `Idempotency-Key`.
pub fn idempotency(auth: &Auth, retry: Option<Retry>) -> Option<IdempotencyKey> {
    retry.map(|r| IdempotencyKey {
        principal: auth.actor().to_string(),
        key: r.key,
        request_hash: r.request_hash,
    })
}

/// The `Idempotency-Key` header, checked, if there is one.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| {
            ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into())
        })
}

/// Parses JSON bytes into `T`, naming the offending field on failure.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "the request body is empty; expected a JSON object".into(),
        ));
    }
    // serde would accept an array for a struct; the API speaks objects only.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::field(
            "body",
            "expected a JSON object, not an array",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => {
                ApiError::BadRequest(format!("malformed JSON: {inner}"))
            }
            serde_json::error::Category::Data => {
                let field = if path == "." { "body".to_owned() } else { path };
                // serde appends " at line L column C"; the field path says more.
                let msg = inner.to_string();
                let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
                ApiError::field(field, msg)
            }
        }
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.max_body_bytes)
            .unwrap_or(1 << 20);
        let ctype = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| {
                s.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let key = idempotency_key(req);
        let request = format!("{} {}\n", req.method(), req.path());
        let mut payload = payload.take();
        Box::pin(async move {
            let key = key?;
            match ctype.as_deref() {
                Some("application/json") => {}
                Some(t) if t.starts_with("application/") && t.ends_with("+json") => {}
                Some(other) => {
                    return Err(ApiError::UnsupportedMediaType(format!(
                        "expected Content-Type: application/json, got {other}"
                    )))
                }
                None => {
                    return Err(ApiError::UnsupportedMediaType(
                        "expected Content-Type: application/json".into(),
                    ))
                }
            }
            let too_large =
                || ApiError::PayloadTooLarge(format!("the request body exceeds {limit} bytes"));
            if declared_len.is_some_and(|n| n > limit) {
                return Err(too_large());
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|e| ApiError::BadRequest(format!("could not read the body: {e}")))?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            let retry = key.map(|key| {
                let mut h = Sha256::new();
                h.update(request.as_bytes());
                h.update(Sha256::digest(&body));
                Retry {
                    key,
                    request_hash: hex::encode(h.finalize()),
                }
            });
            Ok(ApiJson {
                value: parse_json(&body)?,
                retry,
            })
        })
    }
}

/// The version named by `If-Match`, as a handler's argument: a PATCH without it is refused
/// (428) before its body is read.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub i64);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(if_match(req).map(IfMatch))
    }
}

/// The version named by `If-Match` (`"3"` or `W/"3"`); required on every PATCH.
fn if_match(req: &HttpRequest) -> Result<i64, ApiError> {
    let v = req
        .headers()
        .get(header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?
        .to_str()
        .map_err(|_| ApiError::BadRequest("unreadable If-Match header".into()))?
        .trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or_else(|| {
            ApiError::BadRequest("If-Match must be the ETag you received, such as \"3\"".into())
        })
}

/// The `ETag` value for a version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// A query string parsed into `T`, errors naming the offending parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T> ApiQuery<T> {
    /// The parsed parameters.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for ApiQuery<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            req.query_string().as_bytes(),
        ));
        std::future::ready(
            serde_path_to_error::deserialize(de)
                .map(ApiQuery)
                .map_err(|e| {
                    let path = e.path().to_string();
                    let inner = e.into_inner().to_string();
                    if path == "." || path.is_empty() {
                        ApiError::BadRequest(format!("query string: {inner}"))
                    } else {
                        ApiError::BadRequest(format!("query parameter `{path}`: {inner}"))
                    }
                }),
        )
    }
}

/// `limit` and `cursor` of a list request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PageParams {
    /// Opaque cursor from the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

impl PageParams {
    /// The checked limit and decoded cursor.
    pub fn checked(&self) -> Result<(i64, Option<Cursor>), ApiError> {
        page(self.cursor.as_deref(), self.limit)
    }
}

/// The checked limit and decoded cursor of a list whose query carries other filters too.
pub fn page(cursor: Option<&str>, limit: Option<i64>) -> Result<(i64, Option<Cursor>), ApiError> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 200"));
    }
    // `cursor=` (a form that always sends every field) is the first page, as no cursor is.
    let cursor = cursor
        .filter(|c| !c.is_empty())
        .map(Cursor::decode)
        .transpose()?;
    Ok((limit, cursor))
}

/// An optional query parameter parsed into its domain type, or a 400 naming the parameter.
pub fn query_param<T, E: std::fmt::Display>(
    name: &'static str,
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, ApiError> {
    value
        .map(parse)
        .transpose()
        .map_err(|e| ApiError::field(name, e.to_string()))
}

/// `a,b,c` (spaces allowed around items) parsed item by item, errors naming the query parameter.
pub fn list_of<T, E: std::fmt::Display>(
    param: &str,
    v: &Option<String>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, ApiError> {
    v.as_deref()
        .map(|s| {
            s.split(',')
                .map(|x| {
                    parse(x.trim_matches(' ')).map_err(|e| ApiError::field(param, e.to_string()))
                })
                .collect()
        })
        .unwrap_or_else(|| Ok(Vec::new()))
}

pub use helpline_domain::nullable;
