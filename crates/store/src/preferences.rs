//! What a member of staff chose for the console (today: its language), kept with their
//! account so that it follows them from one browser to another.

use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::UserId;

use crate::convert::to_db;
use crate::schema::console_preferences as prefs;
use crate::{DbConnection, Result, Tx};

/// The console language `user` chose (a code such as `fr`), if any.
pub fn language(conn: &mut DbConnection, user: UserId) -> Result<Option<String>> {
    Ok(prefs::table
        .find(user.to_string())
        .select(prefs::language)
        .first(conn)
        .optional()?)
}

/// Keeps `user`'s console language (audited as a change to the account).
pub fn set_language(tx: &mut Tx<'_>, user: UserId, language: &str) -> Result<()> {
    let id = user.to_string();
    diesel::delete(prefs::table.find(&id)).execute(tx.conn)?;
    diesel::insert_into(prefs::table)
        .values((
            prefs::user_id.eq(&id),
            prefs::language.eq(language),
            prefs::updated_at.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)?;
    tx.audit(
        AuditAction::UserUpdate,
        "user",
        user,
        None,
        serde_json::json!({"console_language": language}),
    );
    Ok(())
}
