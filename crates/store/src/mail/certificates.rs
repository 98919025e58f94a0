//! Beneficiaries' OpenPGP certificates (public parts only), with the key handles a signature
//! names, for checking and for encrypting replies.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::{BeneficiaryId, CertificateId};
use helpline_domain::mail::CertificateSource;
use helpline_domain::user::Actor;
use serde::Serialize;
use serde_json::json;

use crate::convert::{from_db, from_json, stored, to_db, to_json};
use crate::page::{paginate, Cursor};
use crate::schema::{certificate_keys, certificates};
use crate::sql::Sql;
use crate::{DbConnection, Page, Result, Tx};

/// A certificate held for a beneficiary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Certificate {
    /// Stable id.
    pub id: CertificateId,
    /// Whose.
    pub beneficiary_id: BeneficiaryId,
    /// Primary key fingerprint.
    pub fingerprint: String,
    /// User IDs.
    pub user_ids: Vec<String>,
    /// Email addresses in the user IDs.
    pub emails: Vec<String>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked by its owner.
    pub revoked: bool,
    /// Has a key that can be encrypted to.
    pub can_encrypt: bool,
    /// How it was obtained.
    pub source: CertificateSource,
    /// Whether a person confirmed it belongs to the beneficiary.
    pub confirmed: bool,
    /// Who added it.
    pub added_by: Actor,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The certificate, armored.
    pub armored: String,
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = certificates, treat_none_as_default_value = false)]
struct CertRow {
    id: String,
    beneficiary_id: String,
    fingerprint: String,
    armored: String,
    user_ids: String,
    emails: String,
    expires_at: Option<NaiveDateTime>,
    revoked: bool,
    can_encrypt: bool,
    source: String,
    confirmed: bool,
    added_by: String,
    created_at: NaiveDateTime,
}

impl CertRow {
    fn into_cert(self) -> Result<Certificate> {
        Ok(Certificate {
            id: stored(CertificateId::parse(&self.id))?,
            beneficiary_id: stored(BeneficiaryId::parse(&self.beneficiary_id))?,
            fingerprint: self.fingerprint,
            user_ids: from_json(&self.user_ids)?,
            emails: from_json(&self.emails)?,
            expires_at: self.expires_at.map(from_db),
            revoked: self.revoked,
            can_encrypt: self.can_encrypt,
            source: stored(CertificateSource::parse(&self.source))?,
            confirmed: self.confirmed,
            added_by: stored(self.added_by.parse())?,
            created_at: from_db(self.created_at),
            armored: self.armored,
        })
    }
}

/// A certificate to store, already read and summarised by the mail crate.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    /// Whose.
    pub beneficiary_id: BeneficiaryId,
    /// Fingerprint.
    pub fingerprint: String,
    /// Armored.
    pub armored: String,
    /// User IDs.
    pub user_ids: Vec<String>,
    /// Emails in them.
    pub emails: Vec<String>,
    /// Every key id and fingerprint in it.
    pub key_handles: Vec<String>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked.
    pub revoked: bool,
    /// Can be encrypted to.
    pub can_encrypt: bool,
    /// How obtained.
    pub source: CertificateSource,
    /// Confirmed by a person.
    pub confirmed: bool,
}

/// Stores a certificate for a beneficiary; the same fingerprint again updates it (a refreshed
/// expiry or a revocation) and keeps the stronger of the two confirmations.
pub fn add_certificate(tx: &mut Tx<'_>, new: NewCertificate) -> Result<(Certificate, bool)> {
    let existing: Option<CertRow> = certificates::table
        .filter(certificates::beneficiary_id.eq(new.beneficiary_id.to_string()))
        .filter(certificates::fingerprint.eq(&new.fingerprint))
        .get_result(tx.conn)
        .optional()?;
    let (id, created) = match existing {
        Some(row) => {
            diesel::update(certificates::table.find(&row.id))
                .set((
                    certificates::armored.eq(&new.armored),
                    certificates::user_ids.eq(to_json(&new.user_ids)?),
                    certificates::emails.eq(to_json(&new.emails)?),
                    certificates::expires_at.eq(new.expires_at.map(to_db)),
                    certificates::revoked.eq(new.revoked),
                    certificates::can_encrypt.eq(new.can_encrypt),
                    certificates::confirmed.eq(row.confirmed || new.confirmed),
                ))
                .execute(tx.conn)?;
            (row.id, false)
        }
        None => {
            let id = CertificateId::new().to_string();
            diesel::insert_into(certificates::table)
                .values(CertRow {
                    id: id.clone(),
                    beneficiary_id: new.beneficiary_id.to_string(),
                    fingerprint: new.fingerprint.clone(),
                    armored: new.armored.clone(),
                    user_ids: to_json(&new.user_ids)?,
                    emails: to_json(&new.emails)?,
                    expires_at: new.expires_at.map(to_db),
                    revoked: new.revoked,
                    can_encrypt: new.can_encrypt,
                    source: new.source.as_str().to_owned(),
                    confirmed: new.confirmed,
                    added_by: tx.actor.to_string(),
                    created_at: to_db(tx.now),
                })
                .execute(tx.conn)?;
            for h in &new.key_handles {
                diesel::insert_into(certificate_keys::table)
                    .values((
                        certificate_keys::handle.eq(h.to_uppercase()),
                        certificate_keys::certificate_id.eq(&id),
                    ))
                    .execute(tx.conn)?;
            }
            (id, true)
        }
    };
    tx.audit(
        if created {
            AuditAction::CertificateCreate
        } else {
            AuditAction::CertificateUpdate
        },
        "certificate",
        &id,
        None,
        json!({"beneficiary_id": new.beneficiary_id, "fingerprint": new.fingerprint,
               "source": new.source, "confirmed": new.confirmed, "revoked": new.revoked}),
    );
    let row: CertRow = certificates::table.find(&id).get_result(tx.conn)?;
    Ok((row.into_cert()?, created))
}

/// A beneficiary's certificates, oldest first.
pub fn certificates_of(conn: &mut DbConnection, who: BeneficiaryId) -> Result<Vec<Certificate>> {
    Ok(certificate_page(conn, who, None, crate::page::ALL)?.items)
}

/// A beneficiary's certificates, oldest first, a page at a time.
pub fn certificate_page(
    conn: &mut DbConnection,
    who: BeneficiaryId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Certificate>> {
    let q = certificates::table
        .filter(certificates::beneficiary_id.eq(who.to_string()))
        .order((certificates::created_at.asc(), certificates::id.asc()))
        .limit(limit.saturating_add(1))
        .into_boxed();
    let q = crate::page::after_time_and_id!(q, certificates::created_at, certificates::id, cursor);
    let items = q
        .load::<CertRow>(conn)?
        .into_iter()
        .map(CertRow::into_cert)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |c| {
        crate::page::after_time(c.created_at, c.id)
    }))
}

/// Armored certificates holding any of these key ids or fingerprints (upper-case hex).
pub fn armored_for_handles(conn: &mut DbConnection, handles: &[String]) -> Result<Vec<String>> {
    #[derive(QueryableByName)]
    struct Armored {
        #[diesel(sql_type = diesel::sql_types::Text)]
        armored: String,
    }
    // Asked for every signed or encrypted mail: one statement, prepared once.
    let upper: Vec<String> = handles.iter().map(|h| h.to_uppercase()).collect();
    let mut sql = Sql::default();
    sql.push(
        "SELECT c.armored FROM certificates c WHERE c.id IN \
         (SELECT k.certificate_id FROM certificate_keys k WHERE k.handle",
    )
    .in_ids(upper.iter().map(String::as_str))
    .push(")");
    Ok(sql
        .load::<Armored>(conn)?
        .into_iter()
        .map(|a| a.armored)
        .collect())
}
