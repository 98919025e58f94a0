//! The rule "who may see a case" as SQL, written once. The rule itself is the domain's
//! (`access::can_see_case`: a confidential case is seen only by its assignee, by users granted
//! access, and by those who see every confidential case); every list, search, correlation,
//! statistic and export of cases filters through [`visible`], so there is one place where a
//! leak could be, and one place to fix it.

use helpline_domain::access::{Permission, Principal};

use crate::sql::{Bind, Sql};

/// Whether `who` sees every case, confidential or not (so that no filter is needed).
pub(crate) fn sees_every_case(who: &Principal) -> bool {
    who.may(Permission::SeeAllConfidential)
}

/// Appends `AND (…)` limiting the cases table aliased `alias` to those `who` may see.
pub(crate) fn visible(sql: &mut Sql, who: &Principal, alias: &str) {
    if sees_every_case(who) {
        return;
    }
    sql.push(&format!(" AND ({alias}.confidential = "))
        .bind(Bind::Bool(false));
    if let Some(me) = who.actor.user_id() {
        sql.push(&format!(" OR {alias}.assignee_id = "))
            .bind(Bind::Text(me.to_string()));
        sql.push(&format!(
            " OR {alias}.id IN (SELECT case_id FROM case_access WHERE user_id = "
        ))
        .bind(Bind::Text(me.to_string()))
        .push(")");
    }
    sql.push(")");
}

/// Appends `AND (…)` limiting the beneficiaries table aliased `alias` to those `who` may see: a
/// person is as hidden as their cases. One with at least one case `who` may see is visible; one
/// every one of whose cases is hidden from `who` is hidden; one with no case yet is visible to
/// whoever may read beneficiaries (a contact recorded before their first case).
pub(crate) fn visible_beneficiary(sql: &mut Sql, who: &Principal, alias: &str) {
    if sees_every_case(who) {
        return;
    }
    sql.push(&format!(
        " AND (NOT EXISTS (SELECT 1 FROM cases hc WHERE hc.beneficiary_id = {alias}.id) \
         OR EXISTS (SELECT 1 FROM cases vc WHERE vc.beneficiary_id = {alias}.id"
    ));
    visible(sql, who, "vc");
    sql.push("))");
}
