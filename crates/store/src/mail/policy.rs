//! The encryption policy: a case or a beneficiary that requires encrypted replies.

use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::{BeneficiaryId, CaseId};
use serde_json::json;

use crate::{DbConnection, Result, StoreError, Tx};

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    flag: bool,
}

/// Whether the case or its beneficiary requires encrypted replies.
pub fn encryption_required(conn: &mut DbConnection, case: CaseId) -> Result<bool> {
    let f: Option<Flag> = diesel::sql_query(
        "SELECT (c.require_encryption OR b.require_encryption) AS flag \
         FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id WHERE c.id = $1",
    )
    .bind::<diesel::sql_types::Text, _>(case.to_string())
    .get_result(conn)
    .optional()?;
    Ok(f.is_some_and(|f| f.flag))
}

/// Sets whether a case (`cases`) or a beneficiary (`beneficiaries`) requires encrypted replies.
pub fn set_encryption_required(
    tx: &mut Tx<'_>,
    case: Option<CaseId>,
    beneficiary: Option<BeneficiaryId>,
    required: bool,
) -> Result<()> {
    let (table, id, entity) = match (case, beneficiary) {
        (Some(c), _) => ("cases", c.to_string(), "case"),
        (None, Some(b)) => ("beneficiaries", b.to_string(), "beneficiary"),
        (None, None) => return Ok(()),
    };
    let n = diesel::sql_query(format!(
        "UPDATE {table} SET require_encryption = $1 WHERE id = $2"
    ))
    .bind::<diesel::sql_types::Bool, _>(required)
    .bind::<diesel::sql_types::Text, _>(&id)
    .execute(tx.conn)?;
    if n == 0 {
        return Err(StoreError::not_found(entity));
    }
    tx.audit(
        if case.is_some() {
            AuditAction::CaseMailPolicy
        } else {
            AuditAction::BeneficiaryMailPolicy
        },
        entity,
        &id,
        case,
        json!({"require_encryption": required}),
    );
    Ok(())
}
