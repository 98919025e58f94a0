//! Mail routes: the helpline's public key, inbound mail from gateways, the quarantine, and
//! beneficiaries' certificates.

use actix_web::{web, HttpRequest, HttpResponse};
use helpline_domain::case::CaseLocator;
use helpline_domain::ids::{BeneficiaryId, InboundMailId};
use helpline_domain::text::Body;
use helpline_store::mail as mailstore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{beneficiary_page, path_id, resource, writable_case_named, Writable};
use crate::allowed::{may, Allowed};
use crate::app::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{ApiJson, PageParams};
use crate::mail::IngestOutcome;
use crate::service::intake::{self, Opened, Readable, Receipt, Threading};
use crate::service::replies;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/pgp/key").route(web::get().to(public_key)))
        .service(resource("/mail/inbound").route(web::post().to(inbound)))
        .service(resource("/mail/quarantine").route(web::get().to(quarantine)))
        .service(resource("/mail/quarantine/{id}").route(web::get().to(quarantined)))
        .service(resource("/mail/quarantine/{id}/raw").route(web::get().to(raw)))
        .service(resource("/mail/quarantine/{id}/retry").route(web::post().to(retry)))
        .service(resource("/mail/quarantine/{id}/assign").route(web::post().to(assign)))
        .service(resource("/cases/{id}/replies").route(web::post().to(reply)))
        .service(resource("/cases/{id}/mail-policy").route(web::put().to(case_policy)))
        .service(
            resource("/beneficiaries/{id}/mail-policy").route(web::put().to(beneficiary_policy)),
        )
        .service(
            resource("/beneficiaries/{id}/certificates")
                .route(beneficiary_page(mailstore::certificate_page))
                .route(web::post().to(add_certificate)),
        );
}

/// The helpline's public certificate(s), armored, for anyone to fetch.
async fn public_key(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let keys = state.mail.keys();
    if keys.is_empty() {
        return Err(ApiError::NotFound("helpline key"));
    }
    let armored = keys
        .public_armored()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/pgp-keys")
        .body(armored))
}

async fn reference_of(
    state: &web::Data<AppState>,
    m: &mailstore::InboundMail,
) -> Result<Option<i64>, ApiError> {
    let Some(case) = m.case_id else {
        return Ok(None);
    };
    let c = state
        .read(move |c| helpline_store::cases::locate(c, CaseLocator::Id(case)))
        .await?;
    Ok(Some(c.reference.get()))
}

/// Opens a raw message off the async workers; a panic in a parser is a quarantine reason, not
/// a crash.
async fn open(state: &web::Data<AppState>, raw: web::Bytes) -> Result<Opened, ApiError> {
    let st = state.clone();
    let opened = web::block(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            st.mail.open(&st.store, &raw).map(Readable::of)
        }))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(match opened {
        Ok(Ok(m)) => Ok(m),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the message could not be read (parser failure)".into()),
    })
}

/// A message from a gateway: stored, opened, threaded or quarantined.
async fn inbound(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Allowed<may::IngestMail>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let ct = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !ct.starts_with("message/rfc822") {
        return Err(ApiError::UnsupportedMediaType(
            "post the raw message as message/rfc822".into(),
        ));
    }
    let body = super::read_limited(&req, payload, state.config.mail.max_message_bytes).await?;
    if body.is_empty() {
        return Err(ApiError::BadRequest("the message is empty".into()));
    }
    let sha_key = hex::encode(Sha256::digest(&body));
    let opened = open(&state, body.clone()).await?;
    let how = Threading::of(&state.mail, &state.policy);
    let sha = sha_key.clone();
    // Whether the bytes were received before is asked inside the write (a re-post, rare, is
    // opened for nothing; every other message saves a round trip).
    let written = state
        .write(&auth, move |tx| {
            intake::receive(tx, &body, &sha, opened, &how)
        })
        .await;
    let Receipt {
        record,
        reference,
        duplicate,
    } = match written {
        Ok(r) => r,
        // The same bytes posted twice at once: the other request stored them.
        Err(ApiError::Conflict(m)) => {
            return match previous(&state, &sha_key).await? {
                Some(done) => Ok(done),
                None => Err(ApiError::Conflict(m)),
            };
        }
        Err(e) => return Err(e),
    };
    let status = match record.state {
        _ if duplicate => actix_web::http::StatusCode::OK,
        mailstore::InboundState::Threaded => actix_web::http::StatusCode::CREATED,
        mailstore::InboundState::Quarantined => actix_web::http::StatusCode::ACCEPTED,
    };
    Ok(HttpResponse::build(status).json(IngestOutcome::from_record(&record, reference, duplicate)))
}

/// The answer for bytes already received: 200, nothing added.
async fn previous(
    state: &web::Data<AppState>,
    sha: &str,
) -> Result<Option<HttpResponse>, ApiError> {
    let sha = sha.to_owned();
    let Some(prev) = state
        .read(move |c| mailstore::inbound_by_sha256(c, &sha))
        .await?
    else {
        return Ok(None);
    };
    let reference = reference_of(state, &prev).await?;
    Ok(Some(
        HttpResponse::Ok().json(IngestOutcome::from_record(&prev, reference, true)),
    ))
}

/// The quarantine, oldest first (leads).
async fn quarantine(
    state: web::Data<AppState>,
    _auth: Allowed<may::ManageQuarantine>,
    page: crate::extract::ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = page.checked()?;
    let p = state
        .read(move |c| mailstore::quarantine(c, cursor.as_ref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

pub(crate) fn inbound_id(id: &str) -> Result<InboundMailId, ApiError> {
    path_id(InboundMailId::parse(id))
}

/// One quarantined (or formerly quarantined) message.
async fn quarantined(
    state: web::Data<AppState>,
    _auth: Allowed<may::ManageQuarantine>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = inbound_id(&id)?;
    let m = state.read(move |c| mailstore::inbound(c, id)).await?;
    Ok(HttpResponse::Ok().json(m))
}

/// The raw bytes of a received message, exactly as the gateway posted them.
async fn raw(
    state: web::Data<AppState>,
    _auth: Allowed<may::ManageQuarantine>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = inbound_id(&id)?;
    let bytes = state
        .read(move |c| {
            let m = mailstore::inbound(c, id)?;
            mailstore::blob(c, &m.sha256)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("message/rfc822")
        .body(bytes))
}

async fn load_quarantined(
    state: &web::Data<AppState>,
    id: InboundMailId,
) -> Result<(mailstore::InboundMail, Vec<u8>), ApiError> {
    let (m, raw) = state
        .read(move |c| {
            let m = mailstore::inbound(c, id)?;
            let raw = mailstore::blob(c, &m.sha256)?;
            Ok((m, raw))
        })
        .await?;
    if m.state != mailstore::InboundState::Quarantined {
        return Err(ApiError::Conflict(
            "this message is no longer in the quarantine".into(),
        ));
    }
    Ok((m, raw))
}

/// Reads a quarantined message again (with the key files read again): threaded if it can now
/// be read, else kept with the new reason.
async fn retry(
    state: web::Data<AppState>,
    auth: Allowed<may::ManageQuarantine>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = inbound_id(&id)?;
    let (record, reference) = retry_quarantined(&state, &auth, id).await?;
    Ok(HttpResponse::Ok().json(IngestOutcome::from_record(&record, reference, false)))
}

/// Reads a quarantined message again (API and console); answers the record and, if it was
/// threaded now, its case's reference.
pub(crate) async fn retry_quarantined(
    state: &web::Data<AppState>,
    auth: &Auth,
    id: InboundMailId,
) -> Result<(mailstore::InboundMail, Option<i64>), ApiError> {
    let (_, raw) = load_quarantined(state, id).await?;
    state
        .mail
        .reload(&state.config)
        .map_err(|e| ApiError::Unavailable(format!("the key files cannot be read: {e}")))?;
    let opened = open(state, web::Bytes::from(raw)).await?;
    let how = Threading::of(&state.mail, &state.policy);
    let record = state
        .write(auth, move |tx| intake::retry(tx, id, opened, &how))
        .await?;
    let reference = reference_of(state, &record).await?;
    Ok((record, reference))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// The case, by id or `#ref`.
    case: String,
}

/// Attaches a quarantined message to a case by hand, readable or not.
async fn assign(
    state: web::Data<AppState>,
    auth: Allowed<may::ManageQuarantine>,
    id: web::Path<String>,
    body: ApiJson<AssignBody>,
) -> Result<HttpResponse, ApiError> {
    let id = inbound_id(&id)?;
    let (record, reference) = assign_quarantined(&state, &auth, id, &body.value.case).await?;
    Ok(HttpResponse::Ok().json(IngestOutcome::from_record(&record, reference, false)))
}

/// Attaches a quarantined message to the case named (id or `#ref`), which the caller must be
/// able to write to (API and console); answers the record and the case's reference.
pub(crate) async fn assign_quarantined(
    state: &web::Data<AppState>,
    auth: &Auth,
    id: InboundMailId,
    case: &str,
) -> Result<(mailstore::InboundMail, Option<i64>), ApiError> {
    let case = writable_case_named(state, auth, "case", case).await?;
    let (m, raw) = load_quarantined(state, id).await?;
    let opened = open(state, web::Bytes::from(raw)).await?;
    let how = Threading::of(&state.mail, &state.policy);
    let reason = m.reason.clone().unwrap_or_default();
    let record = state
        .write(auth, move |tx| {
            intake::assign(tx, id, case.id, opened, &reason, &how)
        })
        .await?;
    let reference = reference_of(state, &record).await?;
    Ok((record, reference))
}

fn beneficiary_id(id: &str) -> Result<BeneficiaryId, ApiError> {
    path_id(BeneficiaryId::parse(id))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertificateBody {
    /// The certificate, ASCII-armored.
    armored: String,
    /// `upload` (default) or `manual` (checked in person or on a call).
    #[serde(default, deserialize_with = "helpline_domain::given")]
    source: Option<helpline_domain::mail::CertificateSource>,
    /// A person confirmed it belongs to the beneficiary (fingerprint compared out of band).
    #[serde(default)]
    confirmed: bool,
    /// Accept it although none of its user IDs is one of the beneficiary's addresses.
    #[serde(default)]
    accept_mismatch: bool,
}

/// Adds a certificate to a beneficiary, then checks again the signatures of their stored
/// messages that named a key Helpline did not hold.
async fn add_certificate(
    state: web::Data<AppState>,
    auth: Allowed<may::WriteBeneficiaries>,
    id: web::Path<String>,
    body: ApiJson<CertificateBody>,
) -> Result<HttpResponse, ApiError> {
    let id = beneficiary_id(&id)?;
    let (v, created) = add_beneficiary_certificate(&state, &auth, id, body.value).await?;
    Ok(HttpResponse::build(if created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    })
    .json(v))
}

/// Adds a certificate to a beneficiary the caller may see (API and console): answers the
/// stored certificate with `reverified_messages`, and whether it is new.
pub(crate) async fn add_beneficiary_certificate(
    state: &web::Data<AppState>,
    auth: &Auth,
    id: BeneficiaryId,
    b: CertificateBody,
) -> Result<(serde_json::Value, bool), ApiError> {
    let source = match b.source {
        None | Some(helpline_domain::mail::CertificateSource::Upload) => {
            helpline_domain::mail::CertificateSource::Upload
        }
        Some(helpline_domain::mail::CertificateSource::Manual) => {
            helpline_domain::mail::CertificateSource::Manual
        }
        Some(other) => {
            return Err(ApiError::from(helpline_domain::DomainError::invalid(
                "source",
                format!("`{other}` is recorded by Helpline itself; send upload or manual"),
            )))
        }
    };
    let cert = helpline_mail::pgp::read_cert(b.armored.as_bytes()).map_err(|e| {
        ApiError::from(helpline_domain::DomainError::invalid(
            "armored",
            e.to_string(),
        ))
    })?;
    // Only the public parts are ever kept.
    let cert = cert.strip_secret_key_material();
    let new = crate::mail::certificate_record(&cert, id, source, b.confirmed)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let who = auth.0.clone();
    let beneficiary = state
        .read(move |c| helpline_store::beneficiaries::get_visible(c, id, &who))
        .await?;
    let addresses: Vec<String> = beneficiary.emails.iter().map(|e| e.normalized()).collect();
    let matches = new
        .emails
        .iter()
        .any(|e| addresses.contains(&e.to_lowercase()));
    if !matches && !b.accept_mismatch {
        return Err(ApiError::from(helpline_domain::DomainError::invalid("armored", format!(
                "none of the certificate's user IDs ({}) is an address of this beneficiary; send accept_mismatch: true to keep it anyway",
                new.user_ids.join(", ")
            ))));
    }
    let (stored, created) = state
        .write(auth, move |tx| mailstore::add_certificate(tx, new))
        .await?;
    let reverified = reverify(state, auth, &addresses).await?;
    let mut v = serde_json::to_value(&stored).map_err(|e| ApiError::Internal(e.to_string()))?;
    v["reverified_messages"] = serde_json::json!(reverified);
    Ok((v, created))
}

/// Checks again the signatures of messages from these addresses that named an unknown key;
/// returns how many changed.
async fn reverify(
    state: &web::Data<AppState>,
    auth: &Auth,
    addresses: &[String],
) -> Result<usize, ApiError> {
    let mut changed = 0;
    for a in addresses {
        let addr = a.clone();
        let msgs = state
            .read(move |c| mailstore::threaded_from_sender(c, &addr))
            .await?;
        for m in msgs
            .into_iter()
            .filter(|m| crate::mail::worth_reverifying(&m.crypto))
        {
            let sha = m.sha256.clone();
            let raw = state.read(move |c| mailstore::blob(c, &sha)).await?;
            let Ok(opened) = open(state, web::Bytes::from(raw)).await? else {
                continue;
            };
            if Some(&opened.crypto) == m.crypto.as_ref() {
                continue;
            }
            let crypto = opened.crypto.clone();
            state
                .write(auth, move |tx| mailstore::update_crypto(tx, &m, &crypto))
                .await?;
            changed += 1;
        }
    }
    Ok(changed)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplyBody {
    /// The text.
    body: Body,
    /// Recipient: one of the beneficiary's addresses (default: the first) or a party's of the case.
    #[serde(default, deserialize_with = "helpline_domain::given")]
    to: Option<helpline_domain::beneficiary::EmailAddress>,
    /// Subject (default: `Re: <case summary>`); the case's tag is added.
    #[serde(default, deserialize_with = "helpline_domain::given")]
    subject: Option<helpline_domain::text::Title>,
}

/// Composes a PGP/MIME reply, records it on the case, and puts it in the outbox.
async fn reply(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::RecordMessage>,
    body: ApiJson<ReplyBody>,
) -> Result<HttpResponse, ApiError> {
    let msg = send_reply(&state, &auth, case, body.value).await?;
    Ok(HttpResponse::Created().json(msg))
}

/// A reply on a case the caller may write to (API and console).
pub(crate) async fn send_reply(
    state: &web::Data<AppState>,
    auth: &Auth,
    case: helpline_domain::case::Case,
    b: ReplyBody,
) -> Result<helpline_domain::log::Message, ApiError> {
    let (actor, now, st) = (auth.actor(), state.now(), state.clone());
    // Reading the recipient, composing (signing, encrypting) and the write block: off the
    // async workers.
    let msg = web::block(move || {
        let draft = replies::Draft {
            to: b.to,
            subject: b.subject,
            body: b.body,
        };
        replies::send(&st, actor, now, &case, draft)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(msg)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MailPolicy {
    /// Refuse replies that cannot be encrypted.
    require_encryption: bool,
}

/// Whether a case's replies must be encrypted.
async fn case_policy(
    state: web::Data<AppState>,
    Writable { case, auth }: Writable<may::UpdateCase>,
    body: ApiJson<MailPolicy>,
) -> Result<HttpResponse, ApiError> {
    let required = body.value.require_encryption;
    state
        .write(&auth, move |tx| {
            mailstore::set_encryption_required(tx, Some(case.id), None, required)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "require_encryption": required })))
}

/// Whether replies to a beneficiary must be encrypted, on every case.
async fn beneficiary_policy(
    state: web::Data<AppState>,
    auth: Allowed<may::WriteBeneficiaries>,
    id: web::Path<String>,
    body: ApiJson<MailPolicy>,
) -> Result<HttpResponse, ApiError> {
    let id = beneficiary_id(&id)?;
    let required = body.value.require_encryption;
    let who = auth.0.clone();
    state
        .write(&auth, move |tx| {
            helpline_store::beneficiaries::ensure_visible(tx.conn, id, &who)?;
            mailstore::set_encryption_required(tx, None, Some(id), required)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "require_encryption": required })))
}
