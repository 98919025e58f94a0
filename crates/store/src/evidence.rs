//! Evidence that may go to court: the original bytes kept once by their SHA-256 (shared by the
//! cases that hold them), each item's metadata on its case, and its chain of custody —
//! collected, viewed, exported, verified — recorded as it happens.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::audit::AuditAction;
use helpline_domain::ids::{CaseId, EvidenceId, MessageId};
use helpline_domain::indicator::Tlp;
use helpline_domain::user::Actor;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::convert::{from_db, stored, to_db};
use crate::mail::{blob, put_blob};
use crate::page::{paginate, Cursor};
use crate::schema::{custody_events, evidence};
use crate::{DbConnection, Page, Result, StoreError, Tx};

/// Where an item came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceSource {
    /// Uploaded by staff.
    Upload,
    /// An attachment of a message received.
    MessageAttachment,
    /// Captured by staff (a screenshot, a forensic image).
    Capture,
}

impl EvidenceSource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::MessageAttachment => "message_attachment",
            Self::Capture => "capture",
        }
    }

    /// Parses a stored or wire name.
    pub fn parse(s: &str) -> std::result::Result<Self, helpline_domain::DomainError> {
        match s {
            "upload" => Ok(Self::Upload),
            "message_attachment" => Ok(Self::MessageAttachment),
            "capture" => Ok(Self::Capture),
            _ => Err(helpline_domain::DomainError::invalid(
                "evidence source",
                "expected upload, message_attachment or capture",
            )),
        }
    }
}

/// A file kept on a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Stable id.
    pub id: EvidenceId,
    /// On which case.
    pub case_id: CaseId,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// File name.
    pub filename: Option<String>,
    /// `type/subtype`.
    pub media_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Where it came from.
    pub source: EvidenceSource,
    /// The message it came with.
    pub message_id: Option<MessageId>,
    /// What it is.
    pub description: String,
    /// How far it may be shared.
    pub tlp: Tlp,
    /// Who collected it.
    pub collected_by: Actor,
    /// When it was collected.
    pub collected_at: DateTime<Utc>,
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = evidence, treat_none_as_default_value = false)]
struct EvidenceRow {
    id: String,
    case_id: String,
    sha256: String,
    filename: Option<String>,
    media_type: String,
    size: i64,
    source: String,
    message_id: Option<String>,
    description: String,
    collected_by: String,
    collected_at: NaiveDateTime,
    tlp: String,
}

impl EvidenceRow {
    fn into_evidence(self) -> Result<Evidence> {
        Ok(Evidence {
            id: stored(EvidenceId::parse(&self.id))?,
            case_id: stored(CaseId::parse(&self.case_id))?,
            sha256: self.sha256,
            filename: self.filename,
            media_type: self.media_type,
            size: self.size,
            source: stored(EvidenceSource::parse(&self.source))?,
            message_id: crate::convert::stored_opt(self.message_id.as_deref(), MessageId::parse)?,
            description: self.description,
            tlp: stored(Tlp::parse(&self.tlp))?,
            collected_by: stored(self.collected_by.parse())?,
            collected_at: from_db(self.collected_at),
        })
    }
}

/// An item to keep.
#[derive(Debug)]
pub struct NewEvidence<'a> {
    /// The bytes.
    pub data: &'a [u8],
    /// File name.
    pub filename: Option<String>,
    /// Media type.
    pub media_type: String,
    /// Where it came from.
    pub source: EvidenceSource,
    /// The message it came with.
    pub message_id: Option<MessageId>,
    /// What it is.
    pub description: String,
    /// TLP.
    pub tlp: Tlp,
    /// When it was collected, if before it was stored (a capture made in the field).
    pub collected_at: Option<DateTime<Utc>>,
}

/// Keeps an item on a case; the bytes are stored once whichever cases hold them. The chain of
/// custody starts with `collected`.
pub fn collect(tx: &mut Tx<'_>, case: CaseId, new: NewEvidence<'_>) -> Result<Evidence> {
    let sha = put_blob(tx, new.data)?;
    let row = EvidenceRow {
        id: EvidenceId::new().to_string(),
        case_id: case.to_string(),
        sha256: sha,
        filename: new.filename,
        media_type: new.media_type,
        size: i64::try_from(new.data.len()).unwrap_or(i64::MAX),
        source: new.source.as_str().to_owned(),
        message_id: new.message_id.map(|m| m.to_string()),
        description: new.description,
        collected_by: tx.actor.to_string(),
        collected_at: to_db(new.collected_at.unwrap_or(tx.now)),
        tlp: new.tlp.as_str().to_owned(),
    };
    diesel::insert_into(evidence::table)
        .values(&row)
        .execute(tx.conn)?;
    let e = row.into_evidence()?;
    tx.audit(
        AuditAction::EvidenceCreate,
        "evidence",
        e.id,
        Some(case),
        json!({"sha256": e.sha256, "size": e.size, "media_type": e.media_type, "source": e.source, "message_id": e.message_id, "tlp": e.tlp}),
    );
    record(
        tx,
        &e,
        CustodyEvent::Collected,
        json!({"sha256": e.sha256, "source": e.source}),
    )?;
    Ok(e)
}

/// A case's evidence, oldest first.
pub fn of_case(conn: &mut DbConnection, case: CaseId) -> Result<Vec<Evidence>> {
    evidence::table
        .filter(evidence::case_id.eq(case.to_string()))
        .order((evidence::collected_at.asc(), evidence::id.asc()))
        .load::<EvidenceRow>(conn)?
        .into_iter()
        .map(EvidenceRow::into_evidence)
        .collect()
}

/// A case's evidence items in the order they were collected, a page at a time.
pub fn page_of_case(
    conn: &mut DbConnection,
    case: CaseId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Evidence>> {
    let q = evidence::table
        .filter(evidence::case_id.eq(case.to_string()))
        .order((evidence::collected_at.asc(), evidence::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    let q = crate::page::after_time_and_id!(q, evidence::collected_at, evidence::id, cursor);
    let items = q
        .load::<EvidenceRow>(conn)?
        .into_iter()
        .map(EvidenceRow::into_evidence)
        .collect::<Result<Vec<_>>>()?;
    Ok(paginate(items, limit, |e| {
        crate::page::after_time(e.collected_at, e.id)
    }))
}

/// One evidence item of a case.
pub fn item(conn: &mut DbConnection, case: CaseId, id: EvidenceId) -> Result<Evidence> {
    evidence::table
        .find(id.to_string())
        .filter(evidence::case_id.eq(case.to_string()))
        .get_result::<EvidenceRow>(conn)
        .optional()?
        .ok_or(StoreError::not_found("evidence"))?
        .into_evidence()
}

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CustodyEvent {
    /// Taken into the helpline's keeping.
    Collected,
    /// Its bytes were handed to someone.
    Viewed,
    /// It left the helpline in an export.
    Exported,
    /// Its bytes were hashed again and compared.
    Verified,
}

impl CustodyEvent {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Collected => "collected",
            Self::Viewed => "viewed",
            Self::Exported => "exported",
            Self::Verified => "verified",
        }
    }

    fn parse(s: &str) -> std::result::Result<Self, helpline_domain::DomainError> {
        match s {
            "collected" => Ok(Self::Collected),
            "viewed" => Ok(Self::Viewed),
            "exported" => Ok(Self::Exported),
            "verified" => Ok(Self::Verified),
            _ => Err(helpline_domain::DomainError::invalid(
                "custody event",
                "unknown",
            )),
        }
    }
}

/// One link of the chain of custody.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Custody {
    /// What happened.
    pub event: CustodyEvent,
    /// Who.
    pub actor: Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// Particulars (the hash computed by a verification, the export format, ...).
    pub detail: serde_json::Value,
}

/// Adds a link to an item's chain of custody.
pub fn record(
    tx: &mut Tx<'_>,
    item: &Evidence,
    event: CustodyEvent,
    detail: serde_json::Value,
) -> Result<()> {
    diesel::insert_into(custody_events::table)
        .values((
            custody_events::id.eq(uuid::Uuid::now_v7().to_string()),
            custody_events::evidence_id.eq(item.id.to_string()),
            custody_events::event.eq(event.as_str()),
            custody_events::actor.eq(tx.actor.to_string()),
            custody_events::at.eq(to_db(tx.now)),
            custody_events::detail.eq(detail.to_string()),
        ))
        .execute(tx.conn)?;
    Ok(())
}

/// One event of a chain of custody, as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = custody_events)]
struct CustodyRow {
    id: String,
    event: String,
    actor: String,
    at: NaiveDateTime,
    detail: String,
}

impl CustodyRow {
    fn into_custody(self) -> Result<Custody> {
        Ok(Custody {
            event: stored(CustodyEvent::parse(&self.event))?,
            actor: stored(self.actor.parse())?,
            at: from_db(self.at),
            detail: serde_json::from_str(&self.detail).map_err(crate::convert::corrupt)?,
        })
    }
}

/// An item's chain of custody in order, a page at a time.
pub fn custody(
    conn: &mut DbConnection,
    item: EvidenceId,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Custody>> {
    let q = custody_events::table
        .filter(custody_events::evidence_id.eq(item.to_string()))
        .order((custody_events::at.asc(), custody_events::id.asc()))
        .select(CustodyRow::as_select())
        .limit(limit + 1)
        .into_boxed();
    let q = crate::page::after_time_and_id!(q, custody_events::at, custody_events::id, cursor);
    let rows = paginate(q.load::<CustodyRow>(conn)?, limit, |r| Cursor {
        key: Some(r.at),
        id: r.id.clone(),
        offset: None,
    });
    Ok(Page {
        items: rows
            .items
            .into_iter()
            .map(CustodyRow::into_custody)
            .collect::<Result<_>>()?,
        next_cursor: rows.next_cursor,
    })
}

/// The bytes of an item, handed to the caller: the chain records the view.
pub fn view(tx: &mut Tx<'_>, case: CaseId, id: EvidenceId) -> Result<(Evidence, Vec<u8>)> {
    let e = item(tx.conn, case, id)?;
    let bytes = blob(tx.conn, &e.sha256)?;
    record(tx, &e, CustodyEvent::Viewed, json!({"size": bytes.len()}))?;
    Ok((e, bytes))
}

/// The outcome of hashing an item's stored bytes again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// Whether the bytes still hash to what was recorded at collection.
    pub intact: bool,
    /// Recorded at collection.
    pub recorded_sha256: String,
    /// Computed now.
    pub computed_sha256: String,
    /// Bytes hashed.
    pub size: usize,
}

/// Hashes an item's stored bytes again and records the result in its chain (and the audit).
pub fn verify(tx: &mut Tx<'_>, case: CaseId, id: EvidenceId) -> Result<Verification> {
    let e = item(tx.conn, case, id)?;
    let bytes = blob(tx.conn, &e.sha256)?;
    let computed = hex::encode(Sha256::digest(&bytes));
    let v = Verification {
        intact: computed == e.sha256,
        recorded_sha256: e.sha256.clone(),
        computed_sha256: computed,
        size: bytes.len(),
    };
    record(
        tx,
        &e,
        CustodyEvent::Verified,
        json!({"intact": v.intact, "computed_sha256": v.computed_sha256}),
    )?;
    tx.audit(
        AuditAction::EvidenceVerify,
        "evidence",
        e.id,
        Some(case),
        json!({"intact": v.intact}),
    );
    Ok(v)
}
