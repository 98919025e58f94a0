//! Broken targets: each broken promise announced once.

use diesel::dsl::{exists, not};
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::case::CaseLocator;
use helpline_domain::ids::CaseId;
use serde_json::json;

use super::Policy;
use crate::convert::{stored, to_db};
use crate::schema::{cases as c, sla_announcements};
use crate::{Result, Tx};

/// Most broken targets announced by one pass (the rest go at the next): the first pass over an
/// old database must not become one enormous transaction.
const BREACHES_PER_PASS: i64 = 500;

/// Announces, once each, the targets broken by `tx.now` on active cases. Returns how many.
pub fn announce_breaches(tx: &mut Tx<'_>, policy: &Policy) -> Result<usize> {
    // Every node schedules the scan; one runs it at a time, so a breach is announced once.
    if !crate::claims::elected(tx.conn, crate::claims::BREACH_SCAN)? {
        return Ok(0);
    }
    let at = to_db(tx.now);
    // `NOT EXISTS`, one probe of the announcements' key per overdue case: `id <> ALL (…)`
    // compared every overdue case with every announcement ever made (350 ms at 100,000
    // cases, in the writer's transaction, every 30 seconds, and growing with the years).
    let mut found: Vec<(String, &'static str)> = Vec::new();
    let response: Vec<String> = c::table
        .filter(c::status.eq_any(super::active()))
        .filter(c::first_response_at.is_null())
        .filter(c::first_response_due_at.lt(at))
        .filter(not(exists(
            sla_announcements::table
                .filter(sla_announcements::case_id.eq(c::id))
                .filter(sla_announcements::target.eq("first_response")),
        )))
        .select(c::id)
        .limit(BREACHES_PER_PASS)
        .load(tx.conn)?;
    found.extend(response.into_iter().map(|id| (id, "first_response")));
    let resolution: Vec<String> = c::table
        .filter(c::status.eq_any(super::active()))
        .filter(c::resolution_due_at.lt(at))
        .filter(not(exists(
            sla_announcements::table
                .filter(sla_announcements::case_id.eq(c::id))
                .filter(sla_announcements::target.eq("resolution")),
        )))
        .select(c::id)
        .limit(BREACHES_PER_PASS)
        .load(tx.conn)?;
    found.extend(resolution.into_iter().map(|id| (id, "resolution")));
    for (id, target) in &found {
        diesel::insert_into(sla_announcements::table)
            .values((
                sla_announcements::case_id.eq(id),
                sla_announcements::target.eq(*target),
                sla_announcements::announced_at.eq(at),
            ))
            .execute(tx.conn)?;
        let cid = stored(CaseId::parse(id))?;
        let mut case = crate::cases::locate(tx.conn, CaseLocator::Id(cid))?;
        case.assess(tx.now);
        tx.audit(
            AuditAction::CaseSlaBreach,
            "case",
            cid,
            Some(cid),
            json!({"target": target}),
        );
        super::webhooks::announce_with(
            tx,
            policy,
            helpline_domain::workflow::WebhookEvent::CaseSlaBreached,
            &case,
            json!({"target": target}),
        );
    }
    Ok(found.len())
}
