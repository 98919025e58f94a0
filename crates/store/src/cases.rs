//! Cases: creation with a unique increasing reference, visibility, filters, optimistic updates.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::access::{can_see_case, CaseVisibility, Principal};
use helpline_domain::case::{
    Case, CaseLocator, CaseRef, CaseStatus, Impact, Priority, Tag, Urgency,
};
use helpline_domain::ids::{BeneficiaryId, CaseId, UserId};
use helpline_domain::log::Channel;
use helpline_domain::taxonomy::TaxonomyTerm;
use helpline_domain::text::{Description, Note, Summary};
use helpline_domain::workflow::{Escalation, EscalationReason, Vetting};
use serde_json::{json, Map, Value};

use crate::convert::{corrupt, from_db, stored, to_db};
use crate::page::{paginate, Cursor};
use crate::schema::{beneficiaries, case_access, case_tags, cases as c};
use crate::{DbConnection, Page, Result, StoreError, Tx};

#[derive(Queryable, QueryableByName, Insertable, Clone)]
#[diesel(table_name = c)]
pub(crate) struct Row {
    id: String,
    reference: i64,
    beneficiary_id: String,
    status: String,
    urgency: String,
    impact: String,
    priority: String,
    priority_overridden: bool,
    summary: String,
    description: String,
    service_type: String,
    tags: String,
    assignee_id: Option<String>,
    confidential: bool,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    first_response_at: Option<NaiveDateTime>,
    resolved_at: Option<NaiveDateTime>,
    closed_at: Option<NaiveDateTime>,
    version: i64,
    merged_into: Option<String>,
    channel: Option<String>,
    vetting: String,
    first_response_due_at: NaiveDateTime,
    resolution_due_at: NaiveDateTime,
    escalation_reason: Option<String>,
    escalated_at: Option<NaiveDateTime>,
    escalation_acknowledged_at: Option<NaiveDateTime>,
    legal_hold: Option<String>,
    anonymized_at: Option<NaiveDateTime>,
}

impl Row {
    pub(crate) fn into_case(self) -> Result<Case> {
        let tags: Vec<String> = crate::convert::from_json(&self.tags)?;
        let tags = tags
            .iter()
            .map(|t| stored(Tag::parse(t)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Case {
            id: stored(CaseId::parse(&self.id))?,
            reference: stored(CaseRef::new(self.reference))?,
            beneficiary_id: stored(BeneficiaryId::parse(&self.beneficiary_id))?,
            status: stored(CaseStatus::parse(&self.status))?,
            urgency: stored(Urgency::parse(&self.urgency))?,
            impact: stored(Impact::parse(&self.impact))?,
            priority: stored(Priority::parse(&self.priority))?,
            priority_overridden: self.priority_overridden,
            summary: stored(Summary::parse(self.summary))?,
            description: stored(Description::parse(self.description))?,
            service_type: TaxonomyTerm::from_stored(self.service_type),
            assignee_id: self
                .assignee_id
                .as_deref()
                .map(UserId::parse)
                .transpose()
                .map_err(corrupt)?,
            tags,
            confidential: self.confidential,
            created_by: stored(self.created_by.parse())?,
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
            first_response_at: self.first_response_at.map(from_db),
            resolved_at: self.resolved_at.map(from_db),
            closed_at: self.closed_at.map(from_db),
            merged_into: self
                .merged_into
                .as_deref()
                .map(CaseId::parse)
                .transpose()
                .map_err(corrupt)?,
            channel: self
                .channel
                .as_deref()
                .map(Channel::parse)
                .transpose()
                .map_err(corrupt)?,
            vetting: stored(Vetting::parse(&self.vetting))?,
            first_response_due_at: from_db(self.first_response_due_at),
            first_response_breached: false,
            resolution_due_at: from_db(self.resolution_due_at),
            resolution_breached: false,
            escalation: match (self.escalation_reason, self.escalated_at) {
                (Some(r), Some(at)) => Some(Escalation {
                    reason: stored(EscalationReason::parse(&r))?,
                    escalated_at: from_db(at),
                    acknowledged_at: self.escalation_acknowledged_at.map(from_db),
                }),
                _ => None,
            },
            legal_hold: self
                .legal_hold
                .map(Note::parse)
                .transpose()
                .map_err(corrupt)?,
            anonymized_at: self.anonymized_at.map(from_db),
            version: self.version,
        })
    }

    fn from_case(x: &Case) -> Result<Row> {
        Ok(Row {
            id: x.id.to_string(),
            reference: x.reference.get(),
            beneficiary_id: x.beneficiary_id.to_string(),
            status: x.status.as_str().to_owned(),
            urgency: x.urgency.as_str().to_owned(),
            impact: x.impact.as_str().to_owned(),
            priority: x.priority.as_str().to_owned(),
            priority_overridden: x.priority_overridden,
            summary: x.summary.as_str().to_owned(),
            description: x.description.as_str().to_owned(),
            service_type: x.service_type.as_str().to_owned(),
            tags: crate::convert::to_json(&x.tags)?,
            assignee_id: x.assignee_id.map(|u| u.to_string()),
            confidential: x.confidential,
            created_by: x.created_by.to_string(),
            created_at: to_db(x.created_at),
            updated_at: to_db(x.updated_at),
            first_response_at: x.first_response_at.map(to_db),
            resolved_at: x.resolved_at.map(to_db),
            closed_at: x.closed_at.map(to_db),
            version: x.version,
            merged_into: x.merged_into.map(|m| m.to_string()),
            channel: x.channel.map(|c| c.as_str().to_owned()),
            vetting: x.vetting.as_str().to_owned(),
            first_response_due_at: to_db(x.first_response_due_at),
            resolution_due_at: to_db(x.resolution_due_at),
            escalation_reason: x.escalation.as_ref().map(|e| e.reason.as_str().to_owned()),
            escalated_at: x.escalation.as_ref().map(|e| to_db(e.escalated_at)),
            escalation_acknowledged_at: x
                .escalation
                .as_ref()
                .and_then(|e| e.acknowledged_at.map(to_db)),
            legal_hold: x.legal_hold.as_ref().map(|n| n.as_str().to_owned()),
            anonymized_at: x.anonymized_at.map(to_db),
        })
    }
}

fn into_cases(rows: Vec<Row>) -> Result<Vec<Case>> {
    rows.into_iter().map(Row::into_case).collect()
}

pub use helpline_domain::case::NewCase;

#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    value: i64,
}

/// Takes the next case reference. The counter row's lock makes references unique and
/// increasing across concurrent transactions and API nodes.
pub fn next_ref(tx: &mut Tx<'_>) -> Result<CaseRef> {
    if let DbConnection::Pg(_) = tx.conn {
        let c: Counter =
            diesel::sql_query("SELECT nextval('case_ref_seq') AS value").get_result(tx.conn)?;
        return stored(CaseRef::new(c.value));
    }
    let c: Counter = diesel::sql_query(
        "UPDATE counters SET value = value + 1 WHERE name = 'case_ref' RETURNING value",
    )
    .get_result(tx.conn)?;
    stored(CaseRef::new(c.value))
}

fn check_user(tx: &mut Tx<'_>, id: UserId) -> Result<()> {
    crate::convert::referenced(crate::users::get(tx.conn, id), "assignee_id", "user")
}

/// The vetting a new case of this beneficiary shows; a missing beneficiary is the caller's
/// error (422 on `beneficiary_id`), not a 404.
pub fn vetting_of(conn: &mut DbConnection, beneficiary: BeneficiaryId) -> Result<Vetting> {
    let verification: Option<String> = beneficiaries::table
        .find(beneficiary.to_string())
        .select(beneficiaries::verification)
        .first(conn)
        .optional()?;
    let Some(verification) = verification else {
        return Err(StoreError::Domain(helpline_domain::DomainError::invalid(
            "beneficiary_id",
            "no such beneficiary",
        )));
    };
    Ok(Vetting::from(stored(
        helpline_domain::beneficiary::VerificationStatus::parse(&verification),
    )?))
}

/// Stores a case just opened (see `Case::open`), with its tags, and records it.
pub fn insert(tx: &mut Tx<'_>, x: &Case) -> Result<()> {
    if let Some(a) = x.assignee_id {
        check_user(tx, a)?;
    }
    diesel::insert_into(c::table)
        .values(Row::from_case(x)?)
        .execute(tx.conn)?;
    insert_tags(tx, x.id, &x.tags)?;
    tx.audit(
        "case.create",
        "case",
        x.id,
        Some(x.id),
        json!({
            "ref": x.reference, "status": x.status, "urgency": x.urgency, "impact": x.impact,
            "priority": x.priority, "service_type": x.service_type, "assignee_id": x.assignee_id,
            "confidential": x.confidential, "tags": x.tags, "beneficiary_id": x.beneficiary_id,
            "channel": x.channel, "vetting": x.vetting, "escalation": x.escalation,
        }),
    );
    tx.texts_changed(x.id);
    Ok(())
}

/// Sets the assignee of a case the roster chose right after opening it (no new version: the
/// case was created in this same transaction).
pub fn set_first_assignee(tx: &mut Tx<'_>, id: CaseId, to: UserId) -> Result<()> {
    diesel::update(c::table.find(id.to_string()))
        .set(c::assignee_id.eq(to.to_string()))
        .execute(tx.conn)?;
    tx.audit(
        "case.auto_assign",
        "case",
        id,
        Some(id),
        json!({"assignee_id": to}),
    );
    Ok(())
}

fn insert_tags(tx: &mut Tx<'_>, id: CaseId, tags: &[Tag]) -> Result<()> {
    for t in tags {
        diesel::insert_into(case_tags::table)
            .values((
                case_tags::case_id.eq(id.to_string()),
                case_tags::tag.eq(t.as_str()),
            ))
            .execute(tx.conn)?;
    }
    Ok(())
}

/// Finds a case by id or reference, whoever asks (for internal use: check visibility after).
pub fn locate(conn: &mut DbConnection, at: CaseLocator) -> Result<Case> {
    let row: Option<Row> = match at {
        CaseLocator::Id(id) => c::table.find(id.to_string()).first(conn).optional()?,
        CaseLocator::Ref(r) => c::table
            .filter(c::reference.eq(r.get()))
            .first(conn)
            .optional()?,
    };
    let row = row.ok_or(StoreError::not_found("case"))?;
    row.into_case()
}

/// Whether `user` was granted access to `case`.
pub fn is_granted(conn: &mut DbConnection, case: CaseId, user: Option<UserId>) -> Result<bool> {
    let Some(user) = user else { return Ok(false) };
    let n: i64 = case_access::table
        .filter(case_access::case_id.eq(case.to_string()))
        .filter(case_access::user_id.eq(user.to_string()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Whether `who` may see `case`.
pub fn visible_to(conn: &mut DbConnection, case: &Case, who: &Principal) -> Result<bool> {
    let facts = CaseVisibility {
        confidential: case.confidential,
        assignee: case.assignee_id,
        granted: case.confidential && is_granted(conn, case.id, who.actor.user_id())?,
    };
    Ok(can_see_case(who, facts))
}

/// Finds a case the caller may see; one they may not see does not exist for them.
pub fn get_visible(conn: &mut DbConnection, at: CaseLocator, who: &Principal) -> Result<Case> {
    let case = locate(conn, at)?;
    if visible_to(conn, &case, who)? {
        Ok(case)
    } else {
        Err(StoreError::not_found("case"))
    }
}

/// Who is assigned, in a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Nobody.
    Unassigned,
    /// This user.
    User(UserId),
}

/// Filters for listing cases; empty vectors mean "any".
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Any of these statuses.
    pub status: Vec<CaseStatus>,
    /// Any of these urgencies.
    pub urgency: Vec<Urgency>,
    /// Any of these priorities.
    pub priority: Vec<Priority>,
    /// Assignee.
    pub assignee: Option<AssigneeFilter>,
    /// Service type.
    pub service_type: Option<String>,
    /// The beneficiary's audience type.
    pub audience: Option<String>,
    /// Carries this tag.
    pub tag: Option<Tag>,
    /// Of this beneficiary.
    pub beneficiary: Option<BeneficiaryId>,
    /// Confidential or not.
    pub confidential: Option<bool>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Updated at or after.
    pub updated_from: Option<DateTime<Utc>>,
    /// Updated before.
    pub updated_to: Option<DateTime<Utc>>,
    /// Where the vetting stands.
    pub vetting: Option<Vetting>,
}

/// The order of a case list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseSort {
    /// Newest first.
    #[default]
    CreatedDesc,
    /// Oldest first.
    CreatedAsc,
    /// Most recently updated first.
    UpdatedDesc,
    /// Least recently updated first.
    UpdatedAsc,
}

/// A value bound into hand-written SQL.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Bool(bool),
    Time(NaiveDateTime),
    Int(i64),
}

/// Hand-written SQL with its binds, numbered `$1, $2, …` in order of appearance (read the same
/// way by SQLite and Postgres).
#[derive(Debug, Clone, Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) binds: Vec<Bind>,
}

impl Sql {
    pub(crate) fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    pub(crate) fn bind(&mut self, b: Bind) -> &mut Self {
        self.binds.push(b);
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }
    pub(crate) fn bind_list(&mut self, items: impl IntoIterator<Item = String>) -> &mut Self {
        self.push("(");
        for (i, v) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(Bind::Text(v));
        }
        self.push(")")
    }
    /// Runs a statement; returns the rows it changed.
    pub(crate) fn execute(self, conn: &mut DbConnection) -> Result<usize> {
        Ok(self.boxed().execute(conn)?)
    }

    fn boxed(
        self,
    ) -> diesel::query_builder::BoxedSqlQuery<
        'static,
        <DbConnection as diesel::Connection>::Backend,
        diesel::query_builder::SqlQuery,
    > {
        use diesel::sql_types::{BigInt, Bool, Text, Timestamp};
        let mut q = diesel::sql_query(self.text).into_boxed();
        for b in self.binds {
            q = match b {
                Bind::Text(v) => q.bind::<Text, _>(v),
                Bind::Bool(v) => q.bind::<Bool, _>(v),
                Bind::Time(v) => q.bind::<Timestamp, _>(v),
                Bind::Int(v) => q.bind::<BigInt, _>(v),
            };
        }
        q
    }

    /// Runs the query and reads its rows.
    pub(crate) fn load<T>(self, conn: &mut DbConnection) -> Result<Vec<T>>
    where
        T: diesel::deserialize::QueryableByName<<DbConnection as diesel::Connection>::Backend>
            + 'static,
    {
        Ok(self.boxed().load(conn)?)
    }
}

/// `AND …` conditions on `c` (the cases table) for what `who` may see and what `f` asks for.
pub(crate) fn where_clause(sql: &mut Sql, who: &Principal, f: &CaseFilter) {
    crate::visibility::visible(sql, who, "c");
    let names = |v: Vec<&str>| v.into_iter().map(str::to_owned).collect::<Vec<_>>();
    if !f.status.is_empty() {
        sql.push(" AND c.status IN ")
            .bind_list(names(f.status.iter().map(|s| s.as_str()).collect()));
    }
    if !f.urgency.is_empty() {
        sql.push(" AND c.urgency IN ")
            .bind_list(names(f.urgency.iter().map(|s| s.as_str()).collect()));
    }
    if !f.priority.is_empty() {
        sql.push(" AND c.priority IN ")
            .bind_list(names(f.priority.iter().map(|s| s.as_str()).collect()));
    }
    match f.assignee {
        Some(AssigneeFilter::Unassigned) => {
            sql.push(" AND c.assignee_id IS NULL");
        }
        Some(AssigneeFilter::User(u)) => {
            sql.push(" AND c.assignee_id = ")
                .bind(Bind::Text(u.to_string()));
        }
        None => {}
    }
    if let Some(s) = &f.service_type {
        sql.push(" AND c.service_type = ")
            .bind(Bind::Text(s.clone()));
    }
    if let Some(a) = &f.audience {
        sql.push(" AND c.beneficiary_id IN (SELECT id FROM beneficiaries WHERE audience = ")
            .bind(Bind::Text(a.clone()))
            .push(")");
    }
    if let Some(t) = &f.tag {
        sql.push(" AND c.id IN (SELECT case_id FROM case_tags WHERE tag = ")
            .bind(Bind::Text(t.as_str().to_owned()))
            .push(")");
    }
    if let Some(b) = f.beneficiary {
        sql.push(" AND c.beneficiary_id = ")
            .bind(Bind::Text(b.to_string()));
    }
    if let Some(conf) = f.confidential {
        sql.push(" AND c.confidential = ").bind(Bind::Bool(conf));
    }
    if let Some(v) = f.vetting {
        sql.push(" AND c.vetting = ")
            .bind(Bind::Text(v.as_str().to_owned()));
    }
    for (col, op, t) in [
        ("created_at", ">=", f.created_from),
        ("created_at", "<", f.created_to),
        ("updated_at", ">=", f.updated_from),
        ("updated_at", "<", f.updated_to),
    ] {
        if let Some(t) = t {
            sql.push(&format!(" AND c.{col} {op} "))
                .bind(Bind::Time(to_db(t)));
        }
    }
}

/// Cases the caller may see, filtered and sorted, a page at a time (keyset on the sort key and
/// the UUIDv7 id).
pub fn list(
    conn: &mut DbConnection,
    who: &Principal,
    f: &CaseFilter,
    sort: CaseSort,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Case>> {
    let mut sql = Sql::default();
    // `ref` is read by the Row's field name.
    sql.push("SELECT c.*, c.ref AS reference FROM cases c WHERE 1 = 1");
    where_clause(&mut sql, who, f);
    let by_updated = matches!(sort, CaseSort::UpdatedAsc | CaseSort::UpdatedDesc);
    if let Some(cur) = cursor {
        let id = Bind::Text(cur.id.clone());
        match (sort, cur.key) {
            (CaseSort::CreatedDesc, _) => {
                sql.push(" AND c.id < ").bind(id);
            }
            (CaseSort::CreatedAsc, _) => {
                sql.push(" AND c.id > ").bind(id);
            }
            (CaseSort::UpdatedDesc | CaseSort::UpdatedAsc, Some(k)) => {
                let op = if sort == CaseSort::UpdatedDesc {
                    "<"
                } else {
                    ">"
                };
                sql.push(&format!(" AND (c.updated_at {op} "))
                    .bind(Bind::Time(k))
                    .push(" OR (c.updated_at = ")
                    .bind(Bind::Time(k))
                    .push(&format!(" AND c.id {op} "))
                    .bind(id)
                    .push("))");
            }
            (_, None) => {
                return Err(StoreError::Domain(helpline_domain::DomainError::invalid(
                    "cursor",
                    "this cursor belongs to another sort order",
                )))
            }
        }
    }
    sql.push(match sort {
        CaseSort::CreatedDesc => " ORDER BY c.id DESC",
        CaseSort::CreatedAsc => " ORDER BY c.id ASC",
        CaseSort::UpdatedDesc => " ORDER BY c.updated_at DESC, c.id DESC",
        CaseSort::UpdatedAsc => " ORDER BY c.updated_at ASC, c.id ASC",
    });
    sql.push(" LIMIT ").bind(Bind::Int(limit + 1));
    let rows: Vec<Row> = sql.load(conn)?;
    let items = into_cases(rows)?;
    Ok(paginate(items, limit, |x| Cursor {
        key: by_updated.then(|| to_db(x.updated_at)),
        id: x.id.to_string(),
        offset: None,
    }))
}

/// The fields that differ between two JSON objects, as `{field: {from, to}}`.
pub fn diff(before: &Value, after: &Value) -> Value {
    let mut out = Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (k, av) in a {
            if matches!(k.as_str(), "version" | "updated_at") {
                continue;
            }
            let bv = b.get(k).unwrap_or(&Value::Null);
            if bv != av {
                out.insert(k.clone(), json!({"from": bv, "to": av}));
            }
        }
    }
    Value::Object(out)
}

/// A case before and after a change.
#[derive(Debug, Clone)]
pub struct Changed {
    /// As it was read.
    pub before: Case,
    /// As it was saved (the same as `before` when the change changed nothing).
    pub after: Case,
}

/// Applies `change` to the case if it is still at `expected_version`, saves it with the next
/// version, and records what changed. `change` holds the rules (status transitions, priority,
/// the workflow's targets); a change that changes nothing saves nothing.
pub fn update(
    tx: &mut Tx<'_>,
    id: CaseId,
    expected_version: i64,
    change: impl FnOnce(&mut Case, DateTime<Utc>) -> Result<()>,
) -> Result<Changed> {
    let mut x = locate(tx.conn, CaseLocator::Id(id))?;
    if x.version != expected_version {
        return Err(StoreError::VersionMismatch {
            entity: "case",
            current: x.version,
        });
    }
    let before = x.clone();
    let before_value = serde_json::to_value(&x).unwrap_or_default();
    change(&mut x, tx.now)?;
    x.tags.sort();
    x.tags.dedup();
    if let Some(a) = x.assignee_id {
        check_user(tx, a)?;
    }
    let mut changes = diff(&before_value, &serde_json::to_value(&x).unwrap_or_default());
    if changes.as_object().is_some_and(|m| m.is_empty()) {
        return Ok(Changed { before, after: x });
    }
    x.version += 1;
    x.updated_at = tx.now;
    save(tx, &x, expected_version)?;
    if changes.get("tags").is_some() {
        diesel::delete(case_tags::table.filter(case_tags::case_id.eq(id.to_string())))
            .execute(tx.conn)?;
        insert_tags(tx, id, &x.tags)?;
    }
    // The trail outlives retention: it says that the texts changed, never what they said.
    let mut texts_changed = false;
    for k in ["summary", "description"] {
        if let Some(v) = changes.get_mut(k) {
            *v = json!({"changed": true});
            texts_changed = true;
        }
    }
    tx.audit("case.update", "case", id, Some(id), changes);
    if texts_changed {
        tx.texts_changed(id);
    }
    Ok(Changed { before, after: x })
}

fn save(tx: &mut Tx<'_>, x: &Case, expected_version: i64) -> Result<()> {
    let r = Row::from_case(x)?;
    let n = diesel::update(c::table.find(&r.id).filter(c::version.eq(expected_version)))
        .set((
            c::status.eq(&r.status),
            c::urgency.eq(&r.urgency),
            c::impact.eq(&r.impact),
            c::priority.eq(&r.priority),
            c::priority_overridden.eq(r.priority_overridden),
            c::summary.eq(&r.summary),
            c::description.eq(&r.description),
            c::service_type.eq(&r.service_type),
            c::tags.eq(&r.tags),
            c::assignee_id.eq(&r.assignee_id),
            c::confidential.eq(r.confidential),
            c::updated_at.eq(r.updated_at),
            c::first_response_at.eq(r.first_response_at),
            c::resolved_at.eq(r.resolved_at),
            c::closed_at.eq(r.closed_at),
            c::version.eq(r.version),
            c::vetting.eq(&r.vetting),
            c::first_response_due_at.eq(r.first_response_due_at),
            c::resolution_due_at.eq(r.resolution_due_at),
            c::escalation_reason.eq(&r.escalation_reason),
            c::escalated_at.eq(r.escalated_at),
            c::escalation_acknowledged_at.eq(r.escalation_acknowledged_at),
            c::legal_hold.eq(&r.legal_hold),
            c::anonymized_at.eq(r.anonymized_at),
        ))
        .execute(tx.conn)?;
    if n == 0 {
        // Another transaction committed a new version between our read and our write.
        return Err(StoreError::VersionMismatch {
            entity: "case",
            current: expected_version + 1,
        });
    }
    Ok(())
}

/// Stamps the first response on a case (the first outbound message), once.
pub fn mark_first_response(tx: &mut Tx<'_>, id: CaseId, at: DateTime<Utc>) -> Result<()> {
    let n = diesel::update(
        c::table
            .find(id.to_string())
            .filter(c::first_response_at.is_null()),
    )
    .set((
        c::first_response_at.eq(Some(to_db(at))),
        c::version.eq(c::version + 1),
        c::updated_at.eq(to_db(tx.now)),
    ))
    .execute(tx.conn)?;
    if n > 0 {
        tx.audit(
            "case.first_response",
            "case",
            id,
            Some(id),
            json!({"first_response_at": at}),
        );
    }
    Ok(())
}

/// A user granted access to a confidential case.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AccessGrant {
    /// The user.
    pub user_id: UserId,
    /// Who granted it.
    pub granted_by: helpline_domain::user::Actor,
    /// When.
    pub granted_at: DateTime<Utc>,
}

/// Grants a user access to a case (idempotent).
pub fn grant(tx: &mut Tx<'_>, case: CaseId, user: UserId) -> Result<AccessGrant> {
    check_user(tx, user)?;
    if !is_granted(tx.conn, case, Some(user))? {
        diesel::insert_into(case_access::table)
            .values((
                case_access::case_id.eq(case.to_string()),
                case_access::user_id.eq(user.to_string()),
                case_access::granted_by.eq(tx.actor.to_string()),
                case_access::granted_at.eq(to_db(tx.now)),
            ))
            .execute(tx.conn)?;
        tx.audit(
            "case.grant_access",
            "case",
            case,
            Some(case),
            json!({"user_id": user}),
        );
    }
    grants(tx.conn, case)?
        .into_iter()
        .find(|g| g.user_id == user)
        .ok_or(StoreError::not_found("grant"))
}

/// Withdraws a user's access.
pub fn revoke(tx: &mut Tx<'_>, case: CaseId, user: UserId) -> Result<()> {
    let n = diesel::delete(
        case_access::table
            .filter(case_access::case_id.eq(case.to_string()))
            .filter(case_access::user_id.eq(user.to_string())),
    )
    .execute(tx.conn)?;
    if n == 0 {
        return Err(StoreError::not_found("grant"));
    }
    tx.audit(
        "case.revoke_access",
        "case",
        case,
        Some(case),
        json!({"user_id": user}),
    );
    Ok(())
}

/// Who was granted access to a case.
pub fn grants(conn: &mut DbConnection, case: CaseId) -> Result<Vec<AccessGrant>> {
    let rows: Vec<(String, String, NaiveDateTime)> = case_access::table
        .filter(case_access::case_id.eq(case.to_string()))
        .select((
            case_access::user_id,
            case_access::granted_by,
            case_access::granted_at,
        ))
        .order(case_access::granted_at.asc())
        .load(conn)?;
    rows.into_iter()
        .map(|(u, by, at)| {
            Ok(AccessGrant {
                user_id: stored(UserId::parse(&u))?,
                granted_by: stored(by.parse())?,
                granted_at: from_db(at),
            })
        })
        .collect()
}
