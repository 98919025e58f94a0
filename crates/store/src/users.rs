//! Staff accounts.

use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::UserId;
use helpline_domain::text::Name;
use helpline_domain::user::{Role, User, Username};
use serde_json::json;

use crate::convert::{from_db, stored, to_db};
use crate::page::{paginate, Cursor};
use crate::schema::users;
use crate::{DbConnection, Page, Result, StoreError, Tx};

#[derive(Queryable, Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
struct Row {
    id: String,
    username: String,
    display_name: String,
    role: String,
    password_hash: String,
    active: bool,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    version: i64,
}

impl Row {
    fn into_user(self) -> Result<(User, String)> {
        Ok((
            User {
                id: stored(UserId::parse(&self.id))?,
                username: stored(Username::parse(&self.username))?,
                display_name: stored(Name::parse(self.display_name))?,
                role: stored(Role::parse(&self.role))?,
                active: self.active,
                created_at: from_db(self.created_at),
                updated_at: from_db(self.updated_at),
                version: self.version,
            },
            self.password_hash,
        ))
    }
}

/// A new account; the password arrives already hashed (argon2id, by the API).
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: Username,
    /// Shown name.
    pub display_name: Name,
    /// Role.
    pub role: Role,
    /// PHC string of the password hash.
    pub password_hash: String,
}

/// Creates an account; a taken username is a conflict.
pub fn create(tx: &mut Tx<'_>, new: NewUser) -> Result<User> {
    let id = UserId::new();
    let now = to_db(tx.now);
    let row = Row {
        id: id.to_string(),
        username: new.username.as_str().to_owned(),
        display_name: new.display_name.as_str().to_owned(),
        role: new.role.as_str().to_owned(),
        password_hash: new.password_hash,
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    diesel::insert_into(users::table)
        .values(&row)
        .execute(tx.conn)
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Conflict(format!("username `{}` is taken", new.username))
            } else {
                e.into()
            }
        })?;
    let (user, _) = row.into_user()?;
    tx.audit(
        AuditAction::UserCreate,
        "user",
        id,
        None,
        json!({"username": user.username, "role": user.role, "display_name": user.display_name}),
    );
    Ok(user)
}

/// One account.
pub fn get(conn: &mut DbConnection, id: UserId) -> Result<User> {
    users::table
        .find(id.to_string())
        .get_result::<Row>(conn)
        .optional()?
        .ok_or(StoreError::not_found("user"))?
        .into_user()
        .map(|(u, _)| u)
}

/// An account and its password hash, by login name (for logging in).
pub fn find_for_login(conn: &mut DbConnection, username: &str) -> Result<Option<(User, String)>> {
    users::table
        .filter(users::username.eq(username.to_ascii_lowercase()))
        .get_result::<Row>(conn)
        .optional()?
        .map(Row::into_user)
        .transpose()
}

/// All accounts, by login name.
pub fn list(conn: &mut DbConnection, cursor: Option<&Cursor>, limit: i64) -> Result<Page<User>> {
    let mut q = users::table
        .order(users::username.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(c) = cursor {
        // By name: the page goes on after the last account's name (names are unique).
        let after: String = users::table
            .find(c.id.clone())
            .select(users::username)
            .get_result(conn)
            .optional()?
            .ok_or_else(|| {
                StoreError::Domain(helpline_domain::DomainError::invalid(
                    "cursor",
                    "not a cursor this server handed out",
                ))
            })?;
        q = q.filter(users::username.gt(after));
    }
    let items = q
        .load::<Row>(conn)?
        .into_iter()
        .map(|r| r.into_user().map(|(u, _)| u))
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |u| crate::page::after_id(u.id)))
}

/// How many accounts exist.
pub fn count(conn: &mut DbConnection) -> Result<i64> {
    Ok(users::table.count().get_result(conn)?)
}

/// Changes to an account.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New shown name.
    pub display_name: Option<Name>,
    /// New role.
    pub role: Option<Role>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// New password hash.
    pub password_hash: Option<String>,
}

/// Applies a patch if the account is still at `expected_version`.
pub fn update(
    tx: &mut Tx<'_>,
    id: UserId,
    expected_version: i64,
    patch: UserPatch,
) -> Result<User> {
    let row = users::table
        .find(id.to_string())
        .get_result::<Row>(tx.conn)
        .optional()?
        .ok_or(StoreError::not_found("user"))?;
    crate::error::check_version("user", row.version, expected_version)?;
    let (mut user, mut hash) = row.into_user()?;
    let before = serde_json::to_value(&user).unwrap_or_default();
    if let Some(n) = patch.display_name {
        user.display_name = n;
    }
    if let Some(r) = patch.role {
        user.role = r;
    }
    if let Some(a) = patch.active {
        user.active = a;
    }
    let password_changed = patch.password_hash.is_some();
    if let Some(h) = patch.password_hash {
        hash = h;
    }
    user.version += 1;
    user.updated_at = tx.now;
    let n = diesel::update(
        users::table
            .find(id.to_string())
            .filter(users::version.eq(expected_version)),
    )
    .set((
        users::display_name.eq(user.display_name.as_str()),
        users::role.eq(user.role.as_str()),
        users::active.eq(user.active),
        users::password_hash.eq(&hash),
        users::updated_at.eq(to_db(tx.now)),
        users::version.eq(user.version),
    ))
    .execute(tx.conn)?;
    crate::error::written("user", n, expected_version)?;
    let mut changes = crate::cases::diff(&before, &serde_json::to_value(&user).unwrap_or_default());
    if password_changed {
        // Never the hash itself: only that it changed.
        changes["password"] = json!("changed");
    }
    tx.audit(AuditAction::UserUpdate, "user", id, None, changes);
    Ok(user)
}
