//! The directory of other parties.

use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::beneficiary::EmailAddress;
use helpline_domain::ids::PartyId;
use helpline_domain::party::{Party, PartyKind};
use helpline_domain::text::{Name, Note};
use serde_json::json;

use crate::convert::{from_db, from_json, stored, to_db, to_json};
use crate::page::{paginate, Cursor};
use crate::schema::parties as p;
use crate::{DbConnection, Page, Result, StoreError, Tx};

#[derive(Queryable, Insertable, AsChangeset)]
#[diesel(table_name = p, treat_none_as_default_value = false)]
struct Row {
    id: String,
    name: String,
    kind: String,
    emails: String,
    contact: String,
    notes: String,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    version: i64,
}

impl Row {
    fn into_party(self) -> Result<Party> {
        Ok(Party {
            id: stored(PartyId::parse(&self.id))?,
            name: stored(Name::parse(self.name))?,
            kind: stored(PartyKind::parse(&self.kind))?,
            emails: from_json(&self.emails)?,
            contact: stored(Note::parse(self.contact))?,
            notes: stored(Note::parse(self.notes))?,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
            version: self.version,
        })
    }

    fn from_party(x: &Party) -> Result<Row> {
        Ok(Row {
            id: x.id.to_string(),
            name: x.name.as_str().to_owned(),
            kind: x.kind.as_str().to_owned(),
            emails: to_json(&x.emails)?,
            contact: x.contact.as_str().to_owned(),
            notes: x.notes.as_str().to_owned(),
            created_at: to_db(x.created_at),
            updated_at: to_db(x.updated_at),
            version: x.version,
        })
    }
}

/// A party as entered.
#[derive(Debug, Clone)]
pub struct NewParty {
    /// Name.
    pub name: Name,
    /// Kind.
    pub kind: PartyKind,
    /// Addresses.
    pub emails: Vec<EmailAddress>,
    /// Phone, website, escalation form.
    pub contact: Note,
    /// Notes.
    pub notes: Note,
}

/// Adds a party to the directory.
pub fn create(tx: &mut Tx<'_>, new: NewParty) -> Result<Party> {
    let x = Party {
        id: PartyId::new(),
        name: new.name,
        kind: new.kind,
        emails: new.emails,
        contact: new.contact,
        notes: new.notes,
        created_at: tx.now,
        updated_at: tx.now,
        version: 1,
    };
    diesel::insert_into(p::table)
        .values(Row::from_party(&x)?)
        .execute(tx.conn)?;
    tx.audit(
        AuditAction::PartyCreate,
        "party",
        x.id,
        None,
        json!({"name": x.name, "kind": x.kind}),
    );
    Ok(x)
}

/// One party.
pub fn get(conn: &mut DbConnection, id: PartyId) -> Result<Party> {
    p::table
        .find(id.to_string())
        .get_result::<Row>(conn)
        .optional()?
        .ok_or(StoreError::not_found("party"))?
        .into_party()
}

/// Parties, newest first, optionally of one kind.
pub fn list(
    conn: &mut DbConnection,
    kind: Option<PartyKind>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Party>> {
    let mut q = p::table.into_boxed();
    if let Some(k) = kind {
        q = q.filter(p::kind.eq(k.as_str()));
    }
    if let Some(c) = cursor {
        q = q.filter(p::id.lt(c.id.clone()));
    }
    let items = q
        .order(p::id.desc())
        .limit(limit + 1)
        .load::<Row>(conn)?
        .into_iter()
        .map(Row::into_party)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |x| crate::page::after_id(x.id)))
}

/// Changes to a party, as a client sends them.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyPatch {
    /// Name.
    #[serde(default, deserialize_with = "helpline_domain::given")]
    pub name: Option<Name>,
    /// Kind.
    #[serde(default, deserialize_with = "helpline_domain::given")]
    pub kind: Option<PartyKind>,
    /// Replaces all addresses.
    #[serde(default, deserialize_with = "helpline_domain::given")]
    pub emails: Option<Vec<EmailAddress>>,
    /// Contact details.
    pub contact: Option<Note>,
    /// Notes.
    #[serde(default, deserialize_with = "helpline_domain::given")]
    pub notes: Option<Note>,
}

/// Applies a patch if the party is still at `expected_version`.
pub fn update(
    tx: &mut Tx<'_>,
    id: PartyId,
    expected_version: i64,
    patch: PartyPatch,
) -> Result<Party> {
    let mut x = get(tx.conn, id)?;
    crate::error::check_version("party", x.version, expected_version)?;
    let before = serde_json::to_value(&x).unwrap_or_default();
    if let Some(v) = patch.name {
        x.name = v;
    }
    if let Some(v) = patch.kind {
        x.kind = v;
    }
    if let Some(v) = patch.emails {
        x.emails = v;
    }
    if let Some(v) = patch.contact {
        x.contact = v;
    }
    if let Some(v) = patch.notes {
        x.notes = v;
    }
    x.version += 1;
    x.updated_at = tx.now;
    let n = diesel::update(
        p::table
            .find(id.to_string())
            .filter(p::version.eq(expected_version)),
    )
    .set(Row::from_party(&x)?)
    .execute(tx.conn)?;
    crate::error::written("party", n, x.version - 1)?;
    let changes = crate::cases::diff(&before, &serde_json::to_value(&x).unwrap_or_default());
    tx.audit(AuditAction::PartyUpdate, "party", id, None, changes);
    Ok(x)
}
