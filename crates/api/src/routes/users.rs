//! Staff accounts (admins manage them; colleagues can list each other to assign work).

use actix_web::{web, HttpResponse};
use helpline_domain::access::Permission;
use helpline_domain::ids::UserId;
use helpline_domain::text::Name;
use helpline_domain::user::{Actor, Password, Role, Username};
use helpline_store::users::{self as store_u, NewUser, UserPatch};
use serde::Deserialize;

use super::{get_versioned, json_with_etag, path_id, resource};
use crate::allowed::{may, Allowed};
use crate::app::AppState;
use crate::auth::hash_password;
use crate::error::ApiError;
use crate::extract::{idempotency, ApiJson, ApiQuery, IfMatch, PageParams};

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/users")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/users/{id}")
            .route(get_versioned(
                Permission::ReadUsers,
                UserId::parse,
                store_u::get,
            ))
            .route(web::patch().to(update)),
    )
    .service(resource("/users/{id}/reads").route(web::get().to(reads)));
}

/// What a member of staff read of confidential cases (the access log), a page at a time.
async fn reads(
    state: web::Data<AppState>,
    _auth: Allowed<may::Oversee>,
    id: web::Path<String>,
    page: ApiQuery<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let user = path_id(UserId::parse(&id))?;
    let (limit, cursor) = page.checked()?;
    let events = state
        .read(move |c| {
            store_u::get(c, user)?;
            helpline_store::audit::reads_by(c, Actor::User(user), cursor.as_ref(), limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(events))
}

fn staff_role(role: Role) -> Result<Role, ApiError> {
    if role == Role::Integration {
        Err(ApiError::field(
            "role",
            "integrations use API tokens (POST /tokens), not accounts",
        ))
    } else {
        Ok(role)
    }
}

async fn list(
    state: web::Data<AppState>,
    _auth: Allowed<may::ReadUsers>,
    page: crate::extract::ApiQuery<crate::extract::PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (limit, cursor) = page.checked()?;
    let page = state
        .read(move |c| store_u::list(c, cursor.as_ref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    username: Username,
    display_name: Name,
    role: Role,
    password: Password,
}

async fn create(
    state: web::Data<AppState>,
    auth: Allowed<may::ManageUsers>,
    body: ApiJson<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let idem = idempotency(&auth, body.retry);
    let b = body.value;
    let role = staff_role(b.role)?;
    let password = b.password;
    let password_hash = web::block(move || hash_password(password.expose())).await??;
    let new = NewUser {
        username: b.username,
        display_name: b.display_name,
        role,
        password_hash,
    };
    state
        .create(&auth, idem, Some("/api/v1/users".into()), move |tx| {
            store_u::create(tx, new)
        })
        .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "helpline_domain::given")]
    display_name: Option<Name>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    role: Option<Role>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "helpline_domain::given")]
    password: Option<Password>,
    /// `true`: removes the account's second factor (a lost authenticator and recovery codes).
    #[serde(default, deserialize_with = "helpline_domain::given")]
    reset_second_factor: Option<bool>,
}

async fn update(
    state: web::Data<AppState>,
    auth: Allowed<may::ManageUsers>,
    IfMatch(expected): IfMatch,
    id: web::Path<String>,
    body: ApiJson<PatchBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(UserId::parse(&id))?;
    let b = body.value;
    let role = b.role.map(staff_role).transpose()?;
    if auth.actor().user_id() == Some(id)
        && (b.active == Some(false) || role.is_some_and(|r| r != Role::Admin))
    {
        return Err(ApiError::Conflict(
            "an admin cannot deactivate or demote their own account".into(),
        ));
    }
    let password_hash = match b.password {
        Some(p) => Some(web::block(move || hash_password(p.expose())).await??),
        None => None,
    };
    let deactivated = b.active == Some(false);
    let reset = b.reset_second_factor == Some(true);
    let patch = UserPatch {
        display_name: b.display_name,
        role,
        active: b.active,
        password_hash,
    };
    let u = state
        .write(&auth, move |tx| {
            let u = store_u::update(tx, id, expected, patch)?;
            // A deactivated account's tokens stay refused even if it is reactivated later.
            if deactivated {
                helpline_store::sessions::cut_off(tx, id)?;
            }
            if reset && helpline_store::second_factors::get(tx.conn, id)?.is_some() {
                helpline_store::second_factors::remove(tx, id)?;
            }
            Ok(u)
        })
        .await?;
    state
        .principals
        .forget(helpline_domain::user::Actor::User(id));
    Ok(json_with_etag(&u, u.version))
}
