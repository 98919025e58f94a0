//! Beneficiaries and their vetting history.

use diesel::prelude::*;
use helpline_domain::access::Principal;
use helpline_domain::audit::AuditAction;
use helpline_domain::beneficiary::{
    Beneficiary, ContactChannel, CountryCode, EmailAddress, LanguageTag, Verification,
    VerificationMethod, VerificationRequest, VerificationStatus,
};
use helpline_domain::ids::{BeneficiaryId, CaseId, VerificationId};
use helpline_domain::taxonomy::TaxonomyTerm;
use helpline_domain::text::{Name, Note};
use helpline_domain::user::Role;
use serde_json::json;

use crate::convert::{corrupt, from_db, from_json, stored, to_db, to_json};
use crate::page::{paginate, Cursor};
use crate::schema::{beneficiaries as b, beneficiary_emails as be, verifications as v};
use crate::sql::{Bind, Sql};
use crate::visibility::visible_beneficiary;
use crate::{DbConnection, Page, Result, StoreError, Tx};

#[derive(Queryable, Insertable)]
#[diesel(table_name = b, treat_none_as_default_value = false)]
struct Row {
    id: String,
    name: String,
    channels: String,
    preferred_language: Option<String>,
    organisation: Option<String>,
    country: Option<String>,
    audience: Option<String>,
    verification: String,
    notes: String,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    version: i64,
}

impl Row {
    fn into_beneficiary(self, emails: Vec<EmailAddress>) -> Result<Beneficiary> {
        Ok(Beneficiary {
            id: stored(BeneficiaryId::parse(&self.id))?,
            name: stored(Name::parse(self.name))?,
            emails,
            channels: from_json(&self.channels)?,
            preferred_language: crate::convert::stored_opt(
                self.preferred_language.as_deref(),
                LanguageTag::parse,
            )?,
            organisation: self
                .organisation
                .map(Name::parse)
                .transpose()
                .map_err(corrupt)?,
            country: crate::convert::stored_opt(self.country.as_deref(), CountryCode::parse)?,
            audience: self.audience.map(TaxonomyTerm::from_stored),
            verification: stored(VerificationStatus::parse(&self.verification))?,
            notes: stored(Note::parse(self.notes))?,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
            version: self.version,
        })
    }

    fn from_beneficiary(x: &Beneficiary) -> Result<Row> {
        Ok(Row {
            id: x.id.to_string(),
            name: x.name.as_str().to_owned(),
            channels: to_json(&x.channels)?,
            preferred_language: x.preferred_language.as_ref().map(|l| l.as_str().to_owned()),
            organisation: x.organisation.as_ref().map(|o| o.as_str().to_owned()),
            country: x.country.as_ref().map(|c| c.as_str().to_owned()),
            audience: x.audience.as_ref().map(|a| a.as_str().to_owned()),
            verification: x.verification.as_str().to_owned(),
            notes: x.notes.as_str().to_owned(),
            created_at: to_db(x.created_at),
            updated_at: to_db(x.updated_at),
            version: x.version,
        })
    }
}

/// A beneficiary as entered, before it has an id: who they are, then how to reach them.
#[derive(Debug, Clone)]
pub struct NewBeneficiary {
    /// Name.
    pub name: Name,
    /// Organisation.
    pub organisation: Option<Name>,
    /// Country.
    pub country: Option<CountryCode>,
    /// Audience type, checked against the taxonomy by the caller.
    pub audience: Option<TaxonomyTerm>,
    /// Language.
    pub preferred_language: Option<LanguageTag>,
    /// Email addresses.
    pub emails: Vec<EmailAddress>,
    /// Other channels.
    pub channels: Vec<ContactChannel>,
    /// Notes.
    pub notes: Note,
}

fn emails_of(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<(String, EmailAddress)>> {
    let rows: Vec<(String, String)> = be::table
        .filter(be::beneficiary_id.eq_any(ids))
        .order((be::beneficiary_id.asc(), be::position.asc()))
        .select((be::beneficiary_id, be::address))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, a)| Ok((id, stored(EmailAddress::parse(&a))?)))
        .collect()
}

fn with_emails(conn: &mut DbConnection, rows: Vec<Row>) -> Result<Vec<Beneficiary>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut emails = emails_of(conn, &ids)?;
    rows.into_iter()
        .map(|r| {
            let mine: Vec<EmailAddress> = emails
                .iter()
                .filter(|(id, _)| *id == r.id)
                .map(|(_, e)| e.clone())
                .collect();
            emails.retain(|(id, _)| *id != r.id);
            r.into_beneficiary(mine)
        })
        .collect()
}

fn insert_emails(tx: &mut Tx<'_>, id: BeneficiaryId, emails: &[EmailAddress]) -> Result<()> {
    for (pos, e) in emails.iter().enumerate() {
        let owner: Option<String> = be::table
            .find(e.normalized())
            .select(be::beneficiary_id)
            .get_result(tx.conn)
            .optional()?;
        if let Some(owner) = owner {
            return Err(StoreError::Conflict(format!(
                "email address {e} already belongs to beneficiary {owner}"
            )));
        }
        diesel::insert_into(be::table)
            .values((
                be::address_norm.eq(e.normalized()),
                be::address.eq(e.as_str()),
                be::beneficiary_id.eq(id.to_string()),
                be::position.eq(i32::try_from(pos).unwrap_or(i32::MAX)),
            ))
            .execute(tx.conn)
            .map_err(|err| {
                if StoreError::is_unique_violation(&err) {
                    StoreError::Conflict(format!("email address {e} is given twice"))
                } else {
                    err.into()
                }
            })?;
    }
    Ok(())
}

/// Creates a beneficiary, `unverified`; an email address already in use is a conflict.
pub fn create(tx: &mut Tx<'_>, new: NewBeneficiary) -> Result<Beneficiary> {
    let x = Beneficiary {
        id: BeneficiaryId::new(),
        name: new.name,
        emails: new.emails,
        channels: new.channels,
        preferred_language: new.preferred_language,
        organisation: new.organisation,
        country: new.country,
        audience: new.audience,
        verification: VerificationStatus::Unverified,
        notes: new.notes,
        created_at: tx.now,
        updated_at: tx.now,
        version: 1,
    };
    // The audit trail records that a beneficiary was created and by whom, not who they are:
    // the trail outlives retention and is shown widely.
    let recorded =
        json!({"verification": x.verification, "audience": x.audience, "country": x.country});
    let row = Row::from_beneficiary(&x)?;
    diesel::insert_into(b::table).values(row).execute(tx.conn)?;
    insert_emails(tx, x.id, &x.emails)?;
    tx.audit(
        AuditAction::BeneficiaryCreate,
        "beneficiary",
        x.id,
        None,
        recorded,
    );
    Ok(x)
}

/// One beneficiary.
pub fn get(conn: &mut DbConnection, id: BeneficiaryId) -> Result<Beneficiary> {
    let row = b::table
        .find(id.to_string())
        .get_result::<Row>(conn)
        .optional()?
        .ok_or(StoreError::not_found("beneficiary"))?;
    with_emails(conn, vec![row])?
        .pop()
        .ok_or(StoreError::not_found("beneficiary"))
}

/// The beneficiary who owns this address, if any.
pub fn find_by_email(
    conn: &mut DbConnection,
    email: &EmailAddress,
) -> Result<Option<BeneficiaryId>> {
    be::table
        .find(email.normalized())
        .select(be::beneficiary_id)
        .get_result::<String>(conn)
        .optional()?
        .map(|id| stored(BeneficiaryId::parse(&id)))
        .transpose()
}

/// Filters for listing beneficiaries.
#[derive(Debug, Clone, Default)]
pub struct BeneficiaryFilter {
    /// Exact address (case-insensitive).
    pub email: Option<EmailAddress>,
    /// Audience type.
    pub audience: Option<String>,
    /// Vetting status.
    pub verification: Option<VerificationStatus>,
}

/// Beneficiaries, newest first, a page at a time.
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    filter: &BeneficiaryFilter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Beneficiary>> {
    // The page's ids by hand-written SQL, where the visibility rule is; then the records.
    let mut sql = Sql::default();
    sql.push("SELECT b.id AS t FROM beneficiaries b WHERE 1 = 1");
    if let Some(e) = &filter.email {
        sql.push(
            " AND b.id IN (SELECT beneficiary_id FROM beneficiary_emails WHERE address_norm = ",
        )
        .bind(Bind::Text(e.normalized()))
        .push(")");
    }
    if let Some(a) = &filter.audience {
        sql.push(" AND b.audience = ").bind(Bind::Text(a.clone()));
    }
    if let Some(s) = filter.verification {
        sql.push(" AND b.verification = ")
            .bind(Bind::Text(s.as_str().to_owned()));
    }
    if let Some(c) = cursor {
        sql.push(" AND b.id < ").bind(Bind::Text(c.id.clone()));
    }
    visible_beneficiary(&mut sql, who, "b");
    sql.push(" ORDER BY b.id DESC LIMIT ")
        .bind(Bind::Int(limit + 1));
    let ids: Vec<String> = sql.load::<IdRow>(conn)?.into_iter().map(|r| r.t).collect();
    let rows: Vec<Row> = b::table
        .filter(b::id.eq_any(&ids))
        .order(b::id.desc())
        .load(conn)?;
    let items = with_emails(conn, rows)?;
    Ok(paginate(items, limit, |x| crate::page::after_id(x.id)))
}

/// Whether `who` may see this beneficiary (see [`visible_beneficiary`]): one they may not is
/// not found, as one that does not exist.
pub fn visible_to(conn: &mut DbConnection, id: BeneficiaryId, who: &Principal) -> Result<bool> {
    let mut sql = Sql::default();
    sql.push("SELECT b.id AS t FROM beneficiaries b WHERE b.id = ")
        .bind(Bind::Text(id.to_string()));
    visible_beneficiary(&mut sql, who, "b");
    Ok(!sql.load::<IdRow>(conn)?.is_empty())
}

/// Not found unless `who` may see this beneficiary (hidden or absent alike), for the routes
/// that act on them without reading the record.
pub fn ensure_visible(conn: &mut DbConnection, id: BeneficiaryId, who: &Principal) -> Result<()> {
    if visible_to(conn, id, who)? {
        Ok(())
    } else {
        Err(StoreError::not_found("beneficiary"))
    }
}

/// The confidential cases of a person: reading their record is a read of each (access log).
pub fn confidential_cases(conn: &mut DbConnection, id: BeneficiaryId) -> Result<Vec<CaseId>> {
    use crate::schema::cases as c;
    c::table
        .filter(c::beneficiary_id.eq(id.to_string()))
        .filter(c::confidential.eq(true))
        .select(c::id)
        .load::<String>(conn)?
        .iter()
        .map(|x| stored(CaseId::parse(x)))
        .collect()
}

/// A beneficiary `who` may see, or not found (hidden or absent alike).
pub fn get_visible(
    conn: &mut DbConnection,
    id: BeneficiaryId,
    who: &Principal,
) -> Result<Beneficiary> {
    ensure_visible(conn, id, who)?;
    get(conn, id)
}

/// The beneficiary `who` may not see who owns one of these addresses, if any: a new case or
/// record naming them must not reveal them (see the callers).
pub fn hidden_owner(
    conn: &mut DbConnection,
    emails: &[EmailAddress],
    who: &Principal,
) -> Result<Option<BeneficiaryId>> {
    for e in emails {
        let owner: Option<String> = be::table
            .find(e.normalized())
            .select(be::beneficiary_id)
            .get_result(conn)
            .optional()?;
        if let Some(owner) = owner {
            let id = stored(BeneficiaryId::parse(&owner))?;
            if !visible_to(conn, id, who)? {
                return Ok(Some(id));
            }
        }
    }
    Ok(None)
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
}

/// Changes to a beneficiary; `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct BeneficiaryPatch {
    /// Name.
    pub name: Option<Name>,
    /// Replaces all addresses.
    pub emails: Option<Vec<EmailAddress>>,
    /// Replaces all channels.
    pub channels: Option<Vec<ContactChannel>>,
    /// Language.
    pub preferred_language: Option<Option<LanguageTag>>,
    /// Organisation.
    pub organisation: Option<Option<Name>>,
    /// Country.
    pub country: Option<Option<CountryCode>>,
    /// Audience type.
    pub audience: Option<Option<TaxonomyTerm>>,
    /// Notes.
    pub notes: Option<Note>,
}

/// Applies a patch if the beneficiary is still at `expected_version`.
pub fn update(
    tx: &mut Tx<'_>,
    id: BeneficiaryId,
    expected_version: i64,
    patch: BeneficiaryPatch,
) -> Result<Beneficiary> {
    let mut x = get(tx.conn, id)?;
    crate::error::check_version("beneficiary", x.version, expected_version)?;
    let mut changed: Vec<&str> = Vec::new();
    if let Some(v) = patch.name {
        x.name = v;
        changed.push("name");
    }
    if let Some(v) = patch.channels {
        x.channels = v;
        changed.push("channels");
    }
    if let Some(v) = patch.preferred_language {
        x.preferred_language = v;
        changed.push("preferred_language");
    }
    if let Some(v) = patch.organisation {
        x.organisation = v;
        changed.push("organisation");
    }
    if let Some(v) = patch.country {
        x.country = v;
        changed.push("country");
    }
    if let Some(v) = patch.audience {
        x.audience = v;
        changed.push("audience");
    }
    if let Some(v) = patch.notes {
        x.notes = v;
        changed.push("notes");
    }
    if let Some(emails) = patch.emails {
        diesel::delete(be::table.filter(be::beneficiary_id.eq(id.to_string()))).execute(tx.conn)?;
        insert_emails(tx, id, &emails)?;
        x.emails = emails;
        changed.push("emails");
    }
    x.version += 1;
    x.updated_at = tx.now;
    save(tx, &x, expected_version)?;
    tx.audit(
        AuditAction::BeneficiaryUpdate,
        "beneficiary",
        id,
        None,
        json!({"fields": changed}),
    );
    Ok(x)
}

fn save(tx: &mut Tx<'_>, x: &Beneficiary, expected_version: i64) -> Result<()> {
    let row = Row::from_beneficiary(x)?;
    let n = diesel::update(
        b::table
            .find(&row.id)
            .filter(b::version.eq(expected_version)),
    )
    .set((
        b::name.eq(&row.name),
        b::channels.eq(&row.channels),
        b::preferred_language.eq(&row.preferred_language),
        b::organisation.eq(&row.organisation),
        b::country.eq(&row.country),
        b::audience.eq(&row.audience),
        b::verification.eq(&row.verification),
        b::notes.eq(&row.notes),
        b::updated_at.eq(row.updated_at),
        b::version.eq(row.version),
    ))
    .execute(tx.conn)?;
    crate::error::written("beneficiary", n, x.version - 1)?;
    Ok(())
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = v, treat_none_as_default_value = false)]
struct VerificationRow {
    id: String,
    beneficiary_id: String,
    status: String,
    method: Option<String>,
    vouched_by: Option<String>,
    note: String,
    decided_by: String,
    decided_at: chrono::NaiveDateTime,
}

impl VerificationRow {
    fn into_verification(self) -> Result<Verification> {
        Ok(Verification {
            id: stored(VerificationId::parse(&self.id))?,
            beneficiary_id: stored(BeneficiaryId::parse(&self.beneficiary_id))?,
            status: stored(VerificationStatus::parse(&self.status))?,
            method: crate::convert::stored_opt(self.method.as_deref(), VerificationMethod::parse)?,
            vouched_by: self
                .vouched_by
                .map(Name::parse)
                .transpose()
                .map_err(corrupt)?,
            note: stored(Note::parse(self.note))?,
            decided_by: stored(self.decided_by.parse())?,
            decided_at: from_db(self.decided_at),
        })
    }
}

/// Records a vetting decision (checked against the vetting rules) and makes it current.
pub fn verify(
    tx: &mut Tx<'_>,
    id: BeneficiaryId,
    req: VerificationRequest,
    role: Role,
) -> Result<(Beneficiary, Verification)> {
    let mut x = get(tx.conn, id)?;
    req.check(x.verification, role)?;
    let rec = Verification {
        id: VerificationId::new(),
        beneficiary_id: id,
        status: req.status,
        method: req.method,
        vouched_by: req.vouched_by,
        note: req.note,
        decided_by: tx.actor,
        decided_at: tx.now,
    };
    diesel::insert_into(v::table)
        .values(VerificationRow {
            id: rec.id.to_string(),
            beneficiary_id: id.to_string(),
            status: rec.status.as_str().to_owned(),
            method: rec.method.map(|m| m.as_str().to_owned()),
            vouched_by: rec.vouched_by.as_ref().map(|n| n.as_str().to_owned()),
            note: rec.note.as_str().to_owned(),
            decided_by: tx.actor.to_string(),
            decided_at: to_db(tx.now),
        })
        .execute(tx.conn)?;
    // The vetting marker on every case of theirs follows the decision.
    diesel::update(
        crate::schema::cases::table.filter(crate::schema::cases::beneficiary_id.eq(id.to_string())),
    )
    .set(
        crate::schema::cases::vetting
            .eq(helpline_domain::workflow::Vetting::from(rec.status).as_str()),
    )
    .execute(tx.conn)?;
    let from = x.verification;
    let version = x.version;
    x.verification = rec.status;
    x.version += 1;
    x.updated_at = tx.now;
    save(tx, &x, version)?;
    tx.audit(
        AuditAction::BeneficiaryVerify,
        "beneficiary",
        id,
        None,
        json!({"verification": {"from": from, "to": rec.status}, "method": rec.method, "vouched_by": rec.vouched_by}),
    );
    Ok((x, rec))
}

/// The vetting history, oldest first.
pub fn verifications(conn: &mut DbConnection, id: BeneficiaryId) -> Result<Vec<Verification>> {
    Ok(verification_page(conn, id, None, crate::page::ALL)?.items)
}

/// A beneficiary's vetting decisions, oldest first, a page at a time.
pub fn verification_page(
    conn: &mut DbConnection,
    id: BeneficiaryId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Verification>> {
    let q = v::table
        .filter(v::beneficiary_id.eq(id.to_string()))
        .order((v::decided_at.asc(), v::id.asc()))
        .limit(limit.saturating_add(1))
        .into_boxed();
    let q = crate::page::after_time_and_id!(q, v::decided_at, v::id, cursor);
    let items = q
        .load::<VerificationRow>(conn)?
        .into_iter()
        .map(VerificationRow::into_verification)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |x| {
        crate::page::after_time(x.decided_at, x.id)
    }))
}
