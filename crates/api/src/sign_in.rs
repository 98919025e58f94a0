//! Signing in and out: one path past the password, the login pause and the second factor, for
//! the API (`/api/v1/auth/login`, `/auth/logout`) and the console alike.

use actix_web::web;
use helpline_domain::ids::UserId;
use helpline_domain::user::Actor;
use helpline_store::second_factors::SecondFactor;

use crate::app::AppState;
use crate::auth::{dummy_hash, verify_password, Auth};
use crate::error::ApiError;
use crate::second_factor;
use crate::throttle::{Attempt, LoginThrottle};

/// A session begun.
#[derive(Debug)]
pub struct SignedIn {
    /// Who signed in.
    pub user: UserId,
    /// The session's access token (a JWT).
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Good only for setting up the second factor the account must have.
    pub enrolment_only: bool,
}

/// Exchanges a username, password and (when the account has one) second factor for a session.
/// An account that must have a second factor and has none gets a session good only for setting
/// one up. Every wrong answer counts towards the account's login pause.
pub async fn sign_in(
    state: &web::Data<AppState>,
    username: String,
    password: String,
    code: Option<String>,
    address: Option<std::net::IpAddr>,
) -> Result<SignedIn, ApiError> {
    if username.len() > 64 || password.len() > 1024 {
        return Err(ApiError::Unauthorized(
            "invalid username or password".into(),
        ));
    }
    let attempt = Attempt::sign_in(&username, address);
    LoginThrottle::check(state, &attempt).await?;
    let found = state
        .read(move |c| helpline_store::users::find_for_login(c, &username))
        .await?;
    // Verify even when the user is unknown, so the answer takes as long either way.
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), h),
        None => (None, dummy_hash().to_owned()),
    };
    let ok = web::block(move || verify_password(&password, &hash)).await?;
    let user = match user {
        Some(u) if ok && u.active => u,
        _ => {
            LoginThrottle::failed(state, &attempt).await?;
            return Err(ApiError::Unauthorized(
                "invalid username or password".into(),
            ));
        }
    };
    let uid = user.id;
    let factor = state
        .read(move |c| helpline_store::second_factors::get(c, uid))
        .await?
        .filter(SecondFactor::confirmed);
    let enrolment_only = match factor {
        Some(factor) => {
            // Not a failure: the client asks for the code after the password, as apps do.
            let Some(code) = code else {
                return Err(ApiError::Unauthorized(
                    "this account has a second factor: send its current code (or a recovery code) as `code`"
                        .into(),
                ));
            };
            if !spend_code(state, uid, &factor, &code).await? {
                LoginThrottle::failed(state, &attempt).await?;
                return Err(ApiError::Unauthorized(
                    "invalid username, password or code".into(),
                ));
            }
            false
        }
        None => state.config.second_factor.requires(user.role),
    };
    LoginThrottle::succeeded(state, &attempt).await?;
    let (access_token, expires_in) = state.jwt.issue(uid, state.now(), enrolment_only)?;
    Ok(SignedIn {
        user: uid,
        access_token,
        expires_in,
        enrolment_only,
    })
}

/// Gives up the session whose access token is `token` (already checked for `auth`): refused
/// from now on, on every node sharing the database (the deny list, read at most a second late
/// elsewhere). An integration token is revoked by an admin instead.
pub async fn sign_out(
    state: &web::Data<AppState>,
    auth: &Auth,
    token: &str,
) -> Result<(), ApiError> {
    if auth.actor().user_id().is_none() {
        return Err(ApiError::Forbidden(
            "an integration token is revoked by an admin (DELETE /api/v1/tokens/{id})".into(),
        ));
    }
    let session = state.jwt.check(token)?;
    let jti = session.jti.clone();
    state
        .write(auth, move |tx| {
            helpline_store::sessions::revoke(tx, &session.jti, session.user, session.expires_at)
        })
        .await?;
    state.principals.revoke(&jti);
    Ok(())
}

/// Accepts `code` for `user` once: the authenticator's code of the current step (a step
/// already used is refused, on every node), or one of the unspent recovery codes.
async fn spend_code(
    state: &web::Data<AppState>,
    user: UserId,
    factor: &SecondFactor,
    code: &str,
) -> Result<bool, ApiError> {
    if code.len() > 64 {
        return Ok(false);
    }
    let who = Actor::User(user);
    let secret = state.seal.open(&factor.secret)?;
    match second_factor::step_of(&secret, code, state.now().timestamp())? {
        Some(step) => {
            state
                .write_as(who, move |tx| {
                    helpline_store::second_factors::spend_step(tx, user, step)
                })
                .await
        }
        None => {
            let hash = second_factor::hash_recovery_code(code);
            state
                .write_as(who, move |tx| {
                    helpline_store::second_factors::spend_recovery_code(tx, user, &hash)
                })
                .await
        }
    }
}
