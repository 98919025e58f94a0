//! Deployment settings kept in the database (auto-assignment, one-time markers).

use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use serde_json::json;

use crate::schema::settings;
use crate::{DbConnection, Result, Tx};

/// A setting's value, if set.
pub fn setting(conn: &mut DbConnection, name: &str) -> Result<Option<String>> {
    Ok(settings::table
        .find(name)
        .select(settings::value)
        .get_result(conn)
        .optional()?)
}

/// Sets a setting (not audited: callers audit what it means).
pub(crate) fn put_setting(tx: &mut Tx<'_>, name: &str, value: &str) -> Result<()> {
    let n = diesel::update(settings::table.find(name))
        .set(settings::value.eq(value))
        .execute(tx.conn)?;
    if n == 0 {
        diesel::insert_into(settings::table)
            .values((settings::name.eq(name), settings::value.eq(value)))
            .execute(tx.conn)?;
    }
    Ok(())
}

/// Whether new cases are assigned by the roster.
pub fn auto_assign(conn: &mut DbConnection) -> Result<bool> {
    Ok(setting(conn, "auto_assign")?.as_deref() != Some("false"))
}

/// Turns auto-assignment on or off.
pub fn set_auto_assign(tx: &mut Tx<'_>, on: bool) -> Result<bool> {
    let before = auto_assign(tx.conn)?;
    put_setting(tx, "auto_assign", if on { "true" } else { "false" })?;
    if before != on {
        tx.audit(
            AuditAction::RosterAutoAssign,
            "setting",
            "auto_assign",
            None,
            json!({"from": before, "to": on}),
        );
    }
    Ok(on)
}
