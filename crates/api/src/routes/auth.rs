//! Logging in and out, and who am I.

use actix_web::{web, HttpRequest, HttpResponse};
use helpline_domain::ids::UserId;
use helpline_domain::user::{Actor, Password, User};
use serde::{Deserialize, Serialize};

use super::resource;
use crate::app::AppState;
use crate::auth::{hash_password, verify_password, Auth};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::second_factor;
use crate::sign_in;
use crate::throttle::{Attempt, LoginThrottle};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/auth/login").route(web::post().to(login)))
        .service(resource("/auth/second-factor").route(web::post().to(begin_second_factor)))
        .service(
            resource("/auth/second-factor/confirm").route(web::post().to(confirm_second_factor)),
        )
        .service(resource("/auth/second-factor/remove").route(web::post().to(remove_second_factor)))
        .service(resource("/auth/logout").route(web::post().to(logout)))
        .service(resource("/auth/password").route(web::post().to(change_password)))
        .service(resource("/me").route(web::get().to(me)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
    /// The authenticator's current code, or a recovery code.
    #[serde(default)]
    code: Option<String>,
}

#[derive(Serialize)]
struct LoginResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    enrolment_only: bool,
}

/// Exchanges a username, password and (when the account has one) second factor for an access
/// token. An account that must have a second factor and has none gets a token good only for
/// setting one up. Every wrong answer counts towards the account's login pause.
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest {
        username,
        password,
        code,
    } = body.value;
    let address = crate::throttle::client_address(&req, &state.config.trusted_proxies);
    let signed = sign_in::sign_in(&state, username, password, code, address).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(LoginResponse {
            access_token: signed.access_token,
            token_type: "Bearer",
            expires_in: signed.expires_in,
            enrolment_only: signed.enrolment_only,
        }))
}

#[derive(Serialize)]
struct Enrolment {
    secret: String,
    otpauth_uri: String,
}

/// Begins setting up a second factor: a new secret, shown this once (as text and as the
/// `otpauth://` URI a QR code carries). It counts only once confirmed with a first code.
async fn begin_second_factor(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, ApiError> {
    let (secret, otpauth_uri) = begin_enrolment(&state, &auth).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(Enrolment {
            secret,
            otpauth_uri,
        }))
}

/// A new second-factor secret for the caller (API and console): the secret and its
/// `otpauth://` URI, to be shown once.
pub(crate) async fn begin_enrolment(
    state: &web::Data<AppState>,
    auth: &Auth,
) -> Result<(String, String), ApiError> {
    let me = staff_member(auth)?;
    let user = state
        .read(move |c| helpline_store::users::get(c, me))
        .await?;
    let secret = second_factor::new_secret();
    let otpauth_uri = second_factor::otpauth_uri(&secret, user.username.as_str())?;
    let kept = state.seal.seal(&secret)?;
    state
        .write(auth, move |tx| {
            helpline_store::second_factors::begin(tx, me, &kept)
        })
        .await?;
    Ok((secret, otpauth_uri))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirmation {
    code: String,
}

#[derive(Serialize)]
struct RecoveryCodes {
    recovery_codes: Vec<String>,
}

/// Finishes setting up a second factor with the authenticator's first code; answers the
/// recovery codes, shown this once (kept hashed). Wrong codes count towards the login pause.
async fn confirm_second_factor(
    state: web::Data<AppState>,
    auth: Auth,
    body: ApiJson<Confirmation>,
) -> Result<HttpResponse, ApiError> {
    let codes = confirm_enrolment(&state, &auth, body.value.code).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(RecoveryCodes {
            recovery_codes: codes,
        }))
}

/// Confirms the caller's new second factor with its first code (API and console); answers
/// the recovery codes, to be shown once. Wrong codes count towards the login pause.
pub(crate) async fn confirm_enrolment(
    state: &web::Data<AppState>,
    auth: &Auth,
    code: String,
) -> Result<Vec<String>, ApiError> {
    let me = staff_member(auth)?;
    let (user, factor) = state
        .read(move |c| {
            Ok((
                helpline_store::users::get(c, me)?,
                helpline_store::second_factors::get(c, me)?,
            ))
        })
        .await?;
    let attempt = Attempt::account(user.username.as_str());
    LoginThrottle::check(state, &attempt).await?;
    let factor = factor.filter(|f| !f.confirmed()).ok_or_else(|| {
        ApiError::Conflict(
            "no second factor is being set up: begin with POST /api/v1/auth/second-factor".into(),
        )
    })?;
    let secret = state.seal.open(&factor.secret)?;
    let Some(step) = (code.len() <= 64)
        .then(|| second_factor::step_of(&secret, &code, state.now().timestamp()))
        .transpose()?
        .flatten()
    else {
        LoginThrottle::failed(state, &attempt).await?;
        return Err(ApiError::field(
            "code",
            "is not the authenticator's current code",
        ));
    };
    LoginThrottle::succeeded(state, &attempt).await?;
    let codes = second_factor::new_recovery_codes();
    let hashes = codes
        .iter()
        .map(|c| second_factor::hash_recovery_code(c))
        .collect();
    state
        .write(auth, move |tx| {
            helpline_store::second_factors::confirm(tx, me, step, hashes)
        })
        .await?;
    Ok(codes)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Removal {
    current_password: String,
}

/// Removes one's second factor, saying the password again. Where the configuration requires
/// one, the next login can only set up a new one.
async fn remove_second_factor(
    state: web::Data<AppState>,
    auth: Auth,
    body: ApiJson<Removal>,
) -> Result<HttpResponse, ApiError> {
    let me = staff_member(&auth)?;
    reauthenticate(&state, me, body.value.current_password).await?;
    state
        .write(&auth, move |tx| {
            helpline_store::second_factors::remove(tx, me)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The member of staff calling (an integration token has no login to protect).
fn staff_member(auth: &Auth) -> Result<UserId, ApiError> {
    auth.actor()
        .user_id()
        .ok_or_else(|| ApiError::Forbidden("an integration token has no login".into()))
}

/// Checks the caller's password again (throttled like a login): 422 on `current_password`
/// when it is wrong.
async fn reauthenticate(
    state: &web::Data<AppState>,
    me: UserId,
    current_password: String,
) -> Result<(), ApiError> {
    let user = state
        .read(move |c| helpline_store::users::get(c, me))
        .await?;
    let attempt = Attempt::account(user.username.as_str());
    LoginThrottle::check(state, &attempt).await?;
    let name = user.username.as_str().to_owned();
    let (_, hash) = state
        .read(move |c| helpline_store::users::find_for_login(c, &name))
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let ok = current_password.len() <= 1024
        && web::block(move || verify_password(&current_password, &hash)).await?;
    if !ok {
        LoginThrottle::failed(state, &attempt).await?;
        return Err(ApiError::field("current_password", "is not right"));
    }
    LoginThrottle::succeeded(state, &attempt).await?;
    Ok(())
}

#[derive(Serialize)]
struct Me {
    actor: Actor,
    role: helpline_domain::user::Role,
    scopes: Vec<helpline_domain::user::Scope>,
    permissions: Vec<helpline_domain::access::Permission>,
    user: Option<User>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: Password,
}

/// A user changes their own password, saying the current one again: a stolen session alone
/// cannot lock its owner out. Wrong answers count towards the login pause of the account.
async fn change_password(
    state: web::Data<AppState>,
    auth: Auth,
    body: ApiJson<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let me = staff_member(&auth)?;
    let PasswordChange {
        current_password,
        new_password,
    } = body.value;
    reauthenticate(&state, me, current_password).await?;
    let new_hash = web::block(move || hash_password(new_password.expose())).await??;
    state
        .write(&auth, move |tx| {
            let version = helpline_store::users::get(tx.conn, me)?.version;
            let patch = helpline_store::users::UserPatch {
                password_hash: Some(new_hash),
                ..Default::default()
            };
            helpline_store::users::update(tx, me, version, patch)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Gives up the access token the request carries: refused from now on, on every node sharing
/// the database (the deny list, read at most a second late elsewhere). An integration token is
/// revoked by an admin instead (DELETE /api/v1/tokens/{id}).
async fn logout(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // The extractor has checked this very header.
    sign_in::sign_out(&state, &auth, &crate::auth::bearer(&req)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller: account, role, and what they may do.
async fn me(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let user = match auth.actor().user_id() {
        Some(id) => Some(
            state
                .read(move |c| helpline_store::users::get(c, id))
                .await?,
        ),
        None => None,
    };
    let permissions = helpline_domain::access::Permission::ALL
        .iter()
        .copied()
        .filter(|p| !auth.1.enrolment_only && auth.0.may(*p))
        .collect();
    Ok(HttpResponse::Ok().json(Me {
        actor: auth.actor(),
        role: auth.0.role,
        scopes: auth.0.scopes.clone(),
        permissions,
        user,
    }))
}
