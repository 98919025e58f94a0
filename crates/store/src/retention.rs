//! Keeping no more than needed: closed cases past the retention period lose their names,
//! addresses, bodies and evidence, while the facts statistics count (dates, levels, types,
//! country, audience) stay. A case under legal hold is never touched. And a beneficiary may be
//! given everything held about them.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::case::CaseLocator;
use helpline_domain::ids::{BeneficiaryId, CaseId};
use serde::Serialize;
use serde_json::{json, Value};

use crate::convert::{from_db, stored, to_db};
use crate::schema::{
    actions, beneficiaries as b, beneficiary_emails, blobs, case_indicators, case_parties,
    cases as c, certificate_keys, certificates, comments, custody_events, evidence, handoffs,
    inbound_mail, messages, next_steps, outbox, verifications,
};
use crate::{DbConnection, Result, Tx};

/// What replaces a removed text.
pub const REMOVED: &str = "[removed under the retention policy]";

/// A case retention would anonymize.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Due {
    /// The case.
    pub case_id: CaseId,
    /// Its reference.
    #[serde(rename = "ref")]
    pub reference: i64,
    /// When it was closed.
    pub closed_at: DateTime<Utc>,
}

/// Closed (or rejected) cases closed before `cutoff`, not held, not yet anonymized.
pub fn due(conn: &mut DbConnection, cutoff: DateTime<Utc>) -> Result<Vec<Due>> {
    let rows: Vec<(String, i64, Option<NaiveDateTime>)> = c::table
        .filter(c::status.eq_any(["closed", "rejected"]))
        .filter(c::closed_at.lt(to_db(cutoff)))
        .filter(c::legal_hold.is_null())
        .filter(c::anonymized_at.is_null())
        .order(c::closed_at.asc())
        .select((c::id, c::reference, c::closed_at))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, r, at)| {
            Ok(Due {
                case_id: stored(CaseId::parse(&id))?,
                reference: r,
                closed_at: at.map(from_db).unwrap_or_default(),
            })
        })
        .collect()
}

/// Deletes a stored file unless something else still refers to it.
fn drop_blob(tx: &mut Tx<'_>, sha: &str) -> Result<()> {
    let used: i64 = evidence::table
        .filter(evidence::sha256.eq(sha))
        .count()
        .get_result(tx.conn)?;
    let used = used
        + inbound_mail::table
            .filter(inbound_mail::sha256.eq(sha))
            .filter(inbound_mail::case_id.is_not_null())
            .filter(
                inbound_mail::case_id.ne_all(
                    c::table
                        .filter(c::anonymized_at.is_not_null())
                        .select(c::id.nullable()),
                ),
            )
            .count()
            .get_result::<i64>(tx.conn)?
        + outbox::table
            .filter(outbox::sha256.eq(sha))
            .filter(
                outbox::case_id.ne_all(
                    c::table
                        .filter(c::anonymized_at.is_not_null())
                        .select(c::id),
                ),
            )
            .count()
            .get_result::<i64>(tx.conn)?;
    if used == 0 {
        diesel::delete(blobs::table.find(sha)).execute(tx.conn)?;
    }
    Ok(())
}

/// Removes from a case its names, bodies and evidence, keeping what statistics count; and,
/// once none of the beneficiary's cases keeps anything, the beneficiary's name and addresses.
/// Audited (the record says what was removed, never what it said).
///
/// Long because it is the list of what a case holds that names someone, table by table; a
/// table left out of it would be a leak, so it reads as one list.
pub fn anonymize(tx: &mut Tx<'_>, id: CaseId) -> Result<()> {
    let case = crate::cases::locate(tx.conn, CaseLocator::Id(id))?;
    if case.legal_hold.is_some() || case.anonymized_at.is_some() {
        return Ok(());
    }
    let cid = id.to_string();
    diesel::update(c::table.find(&cid))
        .set((
            c::summary.eq(REMOVED),
            c::description.eq(""),
            c::anonymized_at.eq(Some(to_db(tx.now))),
        ))
        .execute(tx.conn)?;
    let n_messages = diesel::update(messages::table.filter(messages::case_id.eq(&cid)))
        .set((
            messages::subject.eq(None::<String>),
            messages::body.eq(REMOVED),
            messages::email.eq(None::<String>),
        ))
        .execute(tx.conn)?;
    let n_comments = diesel::update(comments::table.filter(comments::case_id.eq(&cid)))
        .set(comments::body.eq(REMOVED))
        .execute(tx.conn)?;
    diesel::update(actions::table.filter(actions::case_id.eq(&cid)))
        .set(actions::description.eq(REMOVED))
        .execute(tx.conn)?;
    diesel::update(next_steps::table.filter(next_steps::case_id.eq(&cid)))
        .set(next_steps::title.eq(REMOVED))
        .execute(tx.conn)?;
    diesel::update(case_parties::table.filter(case_parties::case_id.eq(&cid)))
        .set(case_parties::note.eq(""))
        .execute(tx.conn)?;
    diesel::update(case_indicators::table.filter(case_indicators::case_id.eq(&cid)))
        .set(case_indicators::note.eq(""))
        .execute(tx.conn)?;
    diesel::update(handoffs::table.filter(handoffs::case_id.eq(&cid)))
        .set(handoffs::note.eq(""))
        .execute(tx.conn)?;
    // Evidence and raw mail: the files go, and the records that name them.
    let items: Vec<(String, String)> = evidence::table
        .filter(evidence::case_id.eq(&cid))
        .select((evidence::id, evidence::sha256))
        .load(tx.conn)?;
    for (eid, _) in &items {
        diesel::delete(custody_events::table.filter(custody_events::evidence_id.eq(eid)))
            .execute(tx.conn)?;
    }
    diesel::delete(evidence::table.filter(evidence::case_id.eq(&cid))).execute(tx.conn)?;
    let raw: Vec<String> = inbound_mail::table
        .filter(inbound_mail::case_id.eq(&cid))
        .select(inbound_mail::sha256)
        .load(tx.conn)?;
    diesel::update(inbound_mail::table.filter(inbound_mail::case_id.eq(&cid)))
        .set((
            inbound_mail::sender.eq(None::<String>),
            inbound_mail::crypto.eq(None::<String>),
            inbound_mail::reason.eq(None::<String>),
        ))
        .execute(tx.conn)?;
    let sent: Vec<String> = outbox::table
        .filter(outbox::case_id.eq(&cid))
        .select(outbox::sha256)
        .load(tx.conn)?;
    diesel::update(outbox::table.filter(outbox::case_id.eq(&cid)))
        .set(outbox::recipients.eq("[]"))
        .execute(tx.conn)?;
    for sha in items.iter().map(|(_, s)| s).chain(&raw).chain(&sent) {
        drop_blob(tx, sha)?;
    }
    tx.texts_changed(id);
    let beneficiary_cleared = clear_beneficiary(tx, case.beneficiary_id)?;
    tx.audit(
        AuditAction::CaseAnonymize,
        "case",
        id,
        Some(id),
        json!({
            "messages": n_messages, "comments": n_comments, "evidence": items.len(),
            "raw_mail": raw.len(), "beneficiary_cleared": beneficiary_cleared,
        }),
    );
    Ok(())
}

/// Once every case of a beneficiary is anonymized, their name, addresses, certificates and
/// notes go too; audience and country stay for the statistics.
fn clear_beneficiary(tx: &mut Tx<'_>, who: BeneficiaryId) -> Result<bool> {
    let w = who.to_string();
    let kept: i64 = c::table
        .filter(c::beneficiary_id.eq(&w))
        .filter(c::anonymized_at.is_null())
        .count()
        .get_result(tx.conn)?;
    if kept > 0 {
        return Ok(false);
    }
    diesel::update(b::table.find(&w))
        .set((
            b::name.eq(REMOVED),
            b::channels.eq("[]"),
            b::organisation.eq(None::<String>),
            b::preferred_language.eq(None::<String>),
            b::notes.eq(""),
        ))
        .execute(tx.conn)?;
    diesel::delete(beneficiary_emails::table.filter(beneficiary_emails::beneficiary_id.eq(&w)))
        .execute(tx.conn)?;
    let certs: Vec<String> = certificates::table
        .filter(certificates::beneficiary_id.eq(&w))
        .select(certificates::id)
        .load(tx.conn)?;
    diesel::delete(certificate_keys::table.filter(certificate_keys::certificate_id.eq_any(&certs)))
        .execute(tx.conn)?;
    diesel::delete(certificates::table.filter(certificates::beneficiary_id.eq(&w)))
        .execute(tx.conn)?;
    diesel::update(verifications::table.filter(verifications::beneficiary_id.eq(&w)))
        .set(verifications::note.eq(""))
        .execute(tx.conn)?;
    tx.audit(
        AuditAction::BeneficiaryAnonymize,
        "beneficiary",
        who,
        None,
        json!({}),
    );
    Ok(true)
}

/// Makes removed text unrecoverable from the database files: on SQLite the search index is
/// rebuilt without the dropped documents, the file rewritten (VACUUM) and the WAL emptied; on
/// Postgres dead rows are vacuumed (their space is reused; `VACUUM FULL` rewrites at once).
pub fn scrub(conn: &mut DbConnection) -> Result<()> {
    use diesel::connection::SimpleConnection;
    match conn {
        DbConnection::Sqlite(c) => {
            c.batch_execute("INSERT INTO case_search (case_search) VALUES ('optimize'); VACUUM;")?;
            empty_the_wal(c)?;
        }
        DbConnection::Pg(c) => c.batch_execute("VACUUM")?,
    }
    Ok(())
}

/// What `PRAGMA wal_checkpoint` answers.
#[derive(diesel::QueryableByName)]
struct Checkpoint {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
}

/// Checkpoints and truncates the WAL, trying again while another connection's checkpoint (a
/// server's checkpointer runs one every 250 ms) holds the lock: SQLite answers that at once with
/// `busy`, not an error, and the removed text would stay in the WAL file.
fn empty_the_wal(c: &mut diesel::SqliteConnection) -> Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let done: Vec<Checkpoint> = diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").load(c)?;
        if done.first().is_some_and(|d| d.busy == 0) {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(crate::StoreError::Unavailable(
                "the WAL could not be emptied: another connection keeps it busy".into(),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Everything held about a beneficiary, as one JSON document (for a data-protection request):
/// their record, vetting history, certificates, and every case with its messages, comments,
/// actions, next steps, hand-offs and evidence records.
pub fn export(conn: &mut DbConnection, who: BeneficiaryId) -> Result<Value> {
    let person = crate::beneficiaries::get(conn, who)?;
    let vetting = crate::beneficiaries::verifications(conn, who)?;
    let certs = crate::mail::certificates_of(conn, who)?;
    let ids: Vec<String> = c::table
        .filter(c::beneficiary_id.eq(who.to_string()))
        .order(c::id.asc())
        .select(c::id)
        .load(conn)?;
    const ALL: i64 = 1_000_000;
    let mut cases = Vec::new();
    for id in ids {
        let id = stored(CaseId::parse(&id))?;
        let case = crate::cases::locate(conn, CaseLocator::Id(id))?;
        cases.push(json!({
            "case": case,
            "messages": crate::case_log::messages(conn, id, None, ALL)?.items,
            "comments": crate::case_log::comments(conn, id, None, ALL)?.items,
            "actions": crate::case_log::actions(conn, id, None, ALL)?.items,
            "next_steps": crate::case_log::next_steps(conn, id, None, ALL)?.items,
            "handoffs": crate::workflow::handoffs(conn, id)?,
            "evidence": crate::evidence::of_case(conn, id)?,
        }));
    }
    Ok(json!({
        "beneficiary": person,
        "verifications": vetting,
        "certificates": certs.iter().map(|c| json!({
            "fingerprint": c.fingerprint, "user_ids": c.user_ids, "emails": c.emails,
            "added_at": c.created_at,
        })).collect::<Vec<_>>(),
        "cases": cases,
    }))
}
