//! Logging in and out, and who am I.

use actix_web::{web, HttpRequest, HttpResponse};
use helpline_domain::user::{Actor, Password, User};
use serde::{Deserialize, Serialize};

use super::resource;
use crate::app::AppState;
use crate::auth::{dummy_hash, hash_password, verify_password, Auth};
use crate::error::ApiError;
use crate::extract::ApiJson;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/auth/login").route(web::post().to(login)))
        .service(resource("/auth/logout").route(web::post().to(logout)))
        .service(resource("/auth/password").route(web::post().to(change_password)))
        .service(resource("/me").route(web::get().to(me)));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct LoginResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

/// Exchanges a username and password for an access token.
async fn login(
    state: web::Data<AppState>,
    body: ApiJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { username, password } = body.value;
    if username.len() > 64 || password.len() > 1024 {
        return Err(ApiError::Unauthorized(
            "invalid username or password".into(),
        ));
    }
    let account = username.to_ascii_lowercase();
    state.logins.check(&account, state.now())?;
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
            state.logins.failed(&account, state.now());
            return Err(ApiError::Unauthorized(
                "invalid username or password".into(),
            ));
        }
    };
    state.logins.succeeded(&account);
    let (access_token, expires_in) = state.jwt.issue(user.id, state.now())?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(LoginResponse {
            access_token,
            token_type: "Bearer",
            expires_in,
        }))
}

#[derive(Serialize)]
struct Me {
    actor: Actor,
    role: helpline_domain::user::Role,
    scopes: Vec<helpline_domain::user::Scope>,
    permissions: Vec<helpline_domain::access::Permission>,
    user: Option<User>,
}

/// The caller: account, role, and what they may do.
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
    let Some(me) = auth.actor().user_id() else {
        return Err(ApiError::Forbidden(
            "an integration token has no password".into(),
        ));
    };
    let PasswordChange {
        current_password,
        new_password,
    } = body.value;
    let user = state
        .read(move |c| helpline_store::users::get(c, me))
        .await?;
    let account = user.username.as_str().to_owned();
    state.logins.check(&account, state.now())?;
    let name = account.clone();
    let (_, hash) = state
        .read(move |c| helpline_store::users::find_for_login(c, &name))
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let ok = current_password.len() <= 1024
        && web::block(move || verify_password(&current_password, &hash)).await?;
    if !ok {
        state.logins.failed(&account, state.now());
        return Err(ApiError::field("current_password", "is not right"));
    }
    state.logins.succeeded(&account);
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
    if auth.actor().user_id().is_none() {
        return Err(ApiError::Forbidden(
            "an integration token is revoked by an admin (DELETE /api/v1/tokens/{id})".into(),
        ));
    }
    // The extractor has checked this very header; read the session it names.
    let session = state.jwt.check(&crate::auth::bearer(&req)?)?;
    let jti = session.jti.clone();
    state
        .write(&auth, move |tx| {
            helpline_store::sessions::revoke(tx, &session.jti, session.user, session.expires_at)
        })
        .await?;
    state.principals.put_revoked(&jti, true);
    Ok(HttpResponse::NoContent().finish())
}

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
        .filter(|p| auth.0.may(*p))
        .collect();
    Ok(HttpResponse::Ok().json(Me {
        actor: auth.actor(),
        role: auth.0.role,
        scopes: auth.0.scopes.clone(),
        permissions,
        user,
    }))
}
