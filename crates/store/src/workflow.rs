//! The routines around a case: the duty roster and fair assignment, hand-offs, caseloads, the
//! leads' queue, promised times, and the webhooks that announce what needs attention.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::access::Principal;
use helpline_domain::case::{Case, CaseLocator, Urgency};
use helpline_domain::ids::{CaseId, UserId};
use helpline_domain::text::Note;
use helpline_domain::user::Role;
use helpline_domain::workflow::{
    check_period, next_assignee, Absence, Candidate, CaseloadWeights, Handoff, Period, Shift,
    SlaTargets, Vetting,
};
use serde::Serialize;
use serde_json::{json, Value};

use crate::cases::{Bind, Sql};
use crate::convert::{from_db, stored, to_db};
use crate::schema::{
    absences, cases as c, handoffs, settings, shifts, sla_announcements, users,
    webhook_deliveries as wd,
};
use crate::{DbConnection, Result, StoreError, Tx};

/// The rules a deployment sets: promised times, caseload weights, where webhooks go.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Response and resolution targets per urgency.
    pub targets: SlaTargets,
    /// How much an open case weighs, per urgency.
    pub weights: CaseloadWeights,
    /// Where events are posted.
    pub webhook_urls: Vec<String>,
}

/// Statuses of a case that still needs work, as stored.
pub(crate) const ACTIVE: [&str; 3] = ["new", "open", "pending"];

// ---- settings ----

/// A setting's value, if set.
pub fn setting(conn: &mut DbConnection, name: &str) -> Result<Option<String>> {
    Ok(settings::table
        .find(name)
        .select(settings::value)
        .first(conn)
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
            "roster.auto_assign",
            "setting",
            "auto_assign",
            None,
            json!({"from": before, "to": on}),
        );
    }
    Ok(on)
}

// ---- roster ----

/// The two kinds of period: on duty and away, each in its own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Shift,
    Absence,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::Shift => "shifts",
            Kind::Absence => "absences",
        }
    }
    fn entity(self) -> &'static str {
        match self {
            Kind::Shift => "shift",
            Kind::Absence => "absence",
        }
    }
}

#[derive(QueryableByName)]
struct PeriodRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    user_id: String,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    starts_at: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    ends_at: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Text)]
    created_by: String,
}

fn check_staff(tx: &mut Tx<'_>, user: UserId) -> Result<()> {
    crate::convert::referenced(crate::users::get(tx.conn, user), "user_id", "user").map(|_| ())
}

fn add_period(
    tx: &mut Tx<'_>,
    kind: Kind,
    user: UserId,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> Result<Period> {
    check_period(starts_at, ends_at)?;
    check_staff(tx, user)?;
    let p = Period {
        id: uuid::Uuid::now_v7(),
        user_id: user,
        starts_at: crate::convert::truncate(starts_at),
        ends_at: crate::convert::truncate(ends_at),
        created_by: tx.actor,
    };
    let mut sql = Sql::default();
    sql.push(&format!(
        "INSERT INTO {} (id, user_id, starts_at, ends_at, created_by, created_at) VALUES (",
        kind.table()
    ))
    .bind(Bind::Text(p.id.to_string()))
    .push(", ")
    .bind(Bind::Text(user.to_string()))
    .push(", ")
    .bind(Bind::Time(to_db(p.starts_at)))
    .push(", ")
    .bind(Bind::Time(to_db(p.ends_at)))
    .push(", ")
    .bind(Bind::Text(tx.actor.to_string()))
    .push(", ")
    .bind(Bind::Time(to_db(tx.now)))
    .push(")");
    sql.execute(tx.conn)?;
    tx.audit(
        &format!("roster.{}_add", kind.entity()),
        kind.entity(),
        p.id,
        None,
        json!({"user_id": user, "starts_at": p.starts_at, "ends_at": p.ends_at}),
    );
    Ok(p)
}

fn remove_period(tx: &mut Tx<'_>, kind: Kind, id: uuid::Uuid) -> Result<()> {
    let mut sql = Sql::default();
    sql.push(&format!("DELETE FROM {} WHERE id = ", kind.table()))
        .bind(Bind::Text(id.to_string()));
    if sql.execute(tx.conn)? == 0 {
        return Err(StoreError::not_found(kind.entity()));
    }
    tx.audit(
        &format!("roster.{}_remove", kind.entity()),
        kind.entity(),
        id,
        None,
        json!({}),
    );
    Ok(())
}

fn periods(
    conn: &mut DbConnection,
    kind: Kind,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Period>> {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT id, user_id, starts_at, ends_at, created_by FROM {} WHERE ends_at > ",
        kind.table()
    ))
    .bind(Bind::Time(to_db(from)))
    .push(" AND starts_at < ")
    .bind(Bind::Time(to_db(to)))
    .push(" ORDER BY starts_at, id");
    let rows: Vec<PeriodRow> = sql.load(conn)?;
    rows.into_iter()
        .map(|r| {
            Ok(Period {
                id: uuid::Uuid::parse_str(&r.id).map_err(crate::convert::corrupt)?,
                user_id: stored(UserId::parse(&r.user_id))?,
                starts_at: from_db(r.starts_at),
                ends_at: from_db(r.ends_at),
                created_by: stored(r.created_by.parse())?,
            })
        })
        .collect()
}

/// Puts a person on duty for a period (a week of a rotation, or a shift).
pub fn add_shift(
    tx: &mut Tx<'_>,
    user: UserId,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> Result<Shift> {
    add_period(tx, Kind::Shift, user, starts_at, ends_at)
}

/// Takes a period off the roster.
pub fn remove_shift(tx: &mut Tx<'_>, id: uuid::Uuid) -> Result<()> {
    remove_period(tx, Kind::Shift, id)
}

/// Periods on duty that overlap `[from, to)`.
pub fn shifts(
    conn: &mut DbConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Shift>> {
    periods(conn, Kind::Shift, from, to)
}

/// Records that a person is away for a period.
pub fn add_absence(
    tx: &mut Tx<'_>,
    user: UserId,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> Result<Absence> {
    add_period(tx, Kind::Absence, user, starts_at, ends_at)
}

/// Removes a recorded absence.
pub fn remove_absence(tx: &mut Tx<'_>, id: uuid::Uuid) -> Result<()> {
    remove_period(tx, Kind::Absence, id)
}

/// Absences that overlap `[from, to)`.
pub fn absences(
    conn: &mut DbConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Absence>> {
    periods(conn, Kind::Absence, from, to)
}

/// Who takes new cases at `now`: active handlers and leads on a shift, not away.
pub fn on_duty(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<Vec<UserId>> {
    let at = to_db(now);
    let away = absences::table
        .filter(absences::starts_at.le(at))
        .filter(absences::ends_at.gt(at))
        .select(absences::user_id);
    let ids: Vec<String> = shifts::table
        .inner_join(users::table.on(users::id.eq(shifts::user_id)))
        .filter(shifts::starts_at.le(at))
        .filter(shifts::ends_at.gt(at))
        .filter(users::active.eq(true))
        .filter(users::role.eq_any([Role::Handler.as_str(), Role::Lead.as_str()]))
        .filter(shifts::user_id.ne_all(away))
        .select(shifts::user_id)
        .distinct()
        .load(conn)?;
    let mut out = ids
        .iter()
        .map(|s| stored(UserId::parse(s)))
        .collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|u| u.to_string());
    Ok(out)
}

/// Open cases per assignee and urgency.
fn open_loads(
    conn: &mut DbConnection,
    who: &[String],
) -> Result<HashMap<String, HashMap<String, i64>>> {
    let rows: Vec<(Option<String>, String, i64)> = c::table
        .filter(c::assignee_id.eq_any(who))
        .filter(c::status.eq_any(ACTIVE))
        .group_by((c::assignee_id, c::urgency))
        .select((c::assignee_id, c::urgency, diesel::dsl::count_star()))
        .load(conn)?;
    let mut out: HashMap<String, HashMap<String, i64>> = HashMap::new();
    for (a, u, n) in rows {
        if let Some(a) = a {
            out.entry(a).or_default().insert(u, n);
        }
    }
    Ok(out)
}

/// The fair choice among who is on duty now, or nobody.
fn choose(tx: &mut Tx<'_>, weights: &CaseloadWeights) -> Result<Option<UserId>> {
    let duty = on_duty(tx.conn, tx.now)?;
    if duty.is_empty() {
        return Ok(None);
    }
    let ids: Vec<String> = duty.iter().map(|u| u.to_string()).collect();
    let loads = open_loads(tx.conn, &ids)?;
    let last: Vec<(Option<String>, Option<NaiveDateTime>)> = handoffs::table
        .filter(handoffs::to_user.eq_any(&ids))
        .group_by(handoffs::to_user)
        .select((handoffs::to_user, diesel::dsl::max(handoffs::handed_at)))
        .load(tx.conn)?;
    let last: HashMap<String, DateTime<Utc>> = last
        .into_iter()
        .filter_map(|(u, t)| Some((u?, from_db(t?))))
        .collect();
    let candidates: Vec<Candidate> = duty
        .iter()
        .zip(&ids)
        .map(|(u, s)| {
            let l = loads.get(s);
            let count = |urg: Urgency| l.and_then(|m| m.get(urg.as_str())).copied().unwrap_or(0);
            Candidate {
                user: *u,
                load: Urgency::ALL.iter().map(|&g| count(g) * weights.of(g)).sum(),
                open: Urgency::ALL.iter().map(|&g| count(g)).sum(),
                last_assigned: last.get(s).copied(),
            }
        })
        .collect();
    Ok(next_assignee(&candidates))
}

/// What happens when a case is opened, after it is stored: the roster assigns it if nobody
/// was named and auto-assignment is on, and the webhooks hear of it (and of its escalation).
pub(crate) fn after_open(tx: &mut Tx<'_>, case: &mut Case, policy: &Policy) -> Result<()> {
    announce(tx, policy, "case.created", case);
    if case.escalation.is_some() {
        announce(tx, policy, "case.escalated", case);
    }
    match case.assignee_id {
        Some(to) => {
            record_handoff(tx, case.id, None, Some(to), Note::empty(), false)?;
            announce(tx, policy, "case.assigned", case);
        }
        None if auto_assign(tx.conn)? => {
            if let Some(to) = choose(tx, &policy.weights)? {
                diesel::update(c::table.find(case.id.to_string()))
                    .set(c::assignee_id.eq(to.to_string()))
                    .execute(tx.conn)?;
                case.assignee_id = Some(to);
                record_handoff(tx, case.id, None, Some(to), Note::empty(), true)?;
                tx.audit(
                    "case.auto_assign",
                    "case",
                    case.id,
                    Some(case.id),
                    json!({"assignee_id": to}),
                );
                announce(tx, policy, "case.assigned", case);
            }
        }
        None => {}
    }
    Ok(())
}

/// What follows a change to a case: new targets for a new urgency, an escalation when it
/// becomes critical, a hand-off record and an announcement when it changes hands.
pub(crate) fn after_update(
    tx: &mut Tx<'_>,
    before: &Case,
    after: &mut Case,
    policy: &Policy,
) -> Result<()> {
    if before.assignee_id != after.assignee_id {
        record_handoff(
            tx,
            after.id,
            before.assignee_id,
            after.assignee_id,
            Note::empty(),
            false,
        )?;
        if after.assignee_id.is_some() {
            announce(tx, policy, "case.assigned", after);
        }
    }
    if before.escalation.is_none() && after.escalation.is_some() {
        announce(tx, policy, "case.escalated", after);
    }
    Ok(())
}

/// Targets and escalation follow the urgency: called by `cases` on every write of a case.
pub(crate) fn apply_rules(
    case: &mut Case,
    previous_urgency: Option<Urgency>,
    policy: &Policy,
    now: DateTime<Utc>,
) {
    if previous_urgency != Some(case.urgency) {
        case.schedule(&policy.targets);
    }
    if case.escalation.is_none() {
        let reason = if case.urgency == Urgency::Critical && case.status.is_active() {
            Some(helpline_domain::workflow::EscalationReason::Critical)
        } else if previous_urgency.is_none() && case.vetting == Vetting::Rejected {
            Some(helpline_domain::workflow::EscalationReason::RejectedBeneficiary)
        } else {
            None
        };
        if let Some(reason) = reason {
            case.escalation = Some(helpline_domain::workflow::Escalation {
                reason,
                escalated_at: now,
                acknowledged_at: None,
            });
        }
    }
}

fn record_handoff(
    tx: &mut Tx<'_>,
    case: CaseId,
    from: Option<UserId>,
    to: Option<UserId>,
    note: Note,
    automatic: bool,
) -> Result<Handoff> {
    let h = Handoff {
        id: uuid::Uuid::now_v7(),
        case_id: case,
        from_user: from,
        to_user: to,
        note,
        automatic,
        handed_by: tx.actor,
        handed_at: tx.now,
    };
    diesel::insert_into(handoffs::table)
        .values((
            handoffs::id.eq(h.id.to_string()),
            handoffs::case_id.eq(case.to_string()),
            handoffs::from_user.eq(from.map(|u| u.to_string())),
            handoffs::to_user.eq(to.map(|u| u.to_string())),
            handoffs::note.eq(h.note.as_str()),
            handoffs::automatic.eq(automatic),
            handoffs::handed_by.eq(tx.actor.to_string()),
            handoffs::handed_at.eq(to_db(tx.now)),
        ))
        .execute(tx.conn)?;
    Ok(h)
}

/// Hands a case to the next handler with a note (shown on the timeline); audited and
/// announced.
pub fn hand_off(
    tx: &mut Tx<'_>,
    id: CaseId,
    expected_version: i64,
    to: UserId,
    note: Note,
    policy: &Policy,
) -> Result<(Case, Handoff)> {
    let before = crate::cases::locate(tx.conn, CaseLocator::Id(id))?;
    if before.assignee_id == Some(to) {
        return Err(StoreError::Domain(helpline_domain::DomainError::invalid(
            "to",
            "the case is already with this person",
        )));
    }
    // The update records the plain change of assignee; the note goes on its own record.
    let mut after = crate::cases::update_quiet(tx, id, expected_version, |c, _| {
        c.assignee_id = Some(to);
        Ok(())
    })?;
    let h = record_handoff(tx, id, before.assignee_id, Some(to), note, false)?;
    tx.audit(
        "case.handoff",
        "case",
        id,
        Some(id),
        json!({"from": before.assignee_id, "to": to, "handoff_id": h.id}),
    );
    announce(tx, policy, "case.assigned", &after);
    after.assess(tx.now);
    Ok((after, h))
}

/// Every change of hands on a case, oldest first.
pub fn handoffs(conn: &mut DbConnection, case: CaseId) -> Result<Vec<Handoff>> {
    type R = (
        String,
        Option<String>,
        Option<String>,
        String,
        bool,
        String,
        NaiveDateTime,
    );
    let rows: Vec<R> = handoffs::table
        .filter(handoffs::case_id.eq(case.to_string()))
        .order((handoffs::handed_at.asc(), handoffs::id.asc()))
        .select((
            handoffs::id,
            handoffs::from_user,
            handoffs::to_user,
            handoffs::note,
            handoffs::automatic,
            handoffs::handed_by,
            handoffs::handed_at,
        ))
        .load(conn)?;
    let user = |s: Option<String>| -> Result<Option<UserId>> {
        s.as_deref()
            .map(UserId::parse)
            .transpose()
            .map_err(crate::convert::corrupt)
    };
    rows.into_iter()
        .map(|(id, from, to, note, automatic, by, at)| {
            Ok(Handoff {
                id: uuid::Uuid::parse_str(&id).map_err(crate::convert::corrupt)?,
                case_id: case,
                from_user: user(from)?,
                to_user: user(to)?,
                note: stored(Note::parse(note))?,
                automatic,
                handed_by: stored(by.parse())?,
                handed_at: from_db(at),
            })
        })
        .collect()
}

// ---- workload ----

/// One person's open cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    /// Who.
    pub user_id: UserId,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// On a shift and not away now.
    pub on_duty: bool,
    /// Away now.
    pub away: bool,
    /// Open cases.
    pub open: i64,
    /// Open cases weighted by urgency (what auto-assignment balances).
    pub weighted: i64,
    /// Open cases per urgency.
    pub by_urgency: HashMap<String, i64>,
    /// Open cases by age since opening: under a day, a week, a month, older.
    pub by_age: HashMap<String, i64>,
}

impl Workload {
    fn empty(
        user_id: UserId,
        username: String,
        role: Role,
        duty: &[String],
        away: &[String],
    ) -> Self {
        let id = user_id.to_string();
        Workload {
            user_id,
            username,
            role,
            on_duty: duty.contains(&id),
            away: away.contains(&id),
            open: 0,
            weighted: 0,
            by_urgency: Urgency::ALL
                .iter()
                .map(|u| (u.as_str().to_owned(), 0))
                .collect(),
            by_age: AGES.iter().map(|k| ((*k).to_owned(), 0)).collect(),
        }
    }
}

/// Age buckets of open cases, since opening.
const AGES: [&str; 4] = ["under_1d", "1d_to_7d", "7d_to_30d", "over_30d"];

/// Open cases per person by urgency and age, heaviest first: who is overloaded.
pub fn workload(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    weights: &CaseloadWeights,
) -> Result<Vec<Workload>> {
    let rows: Vec<(Option<String>, String, NaiveDateTime)> = c::table
        .filter(c::status.eq_any(ACTIVE))
        .filter(c::assignee_id.is_not_null())
        .select((c::assignee_id, c::urgency, c::created_at))
        .load(conn)?;
    let staff: Vec<(String, String, String)> = users::table
        .filter(users::active.eq(true))
        .filter(users::role.eq_any([Role::Handler.as_str(), Role::Lead.as_str()]))
        .select((users::id, users::username, users::role))
        .load(conn)?;
    let duty: Vec<String> = on_duty(conn, now)?.iter().map(|u| u.to_string()).collect();
    let at = to_db(now);
    let away: Vec<String> = absences::table
        .filter(absences::starts_at.le(at))
        .filter(absences::ends_at.gt(at))
        .select(absences::user_id)
        .load(conn)?;
    let mut out: HashMap<String, Workload> = HashMap::new();
    for (id, name, role) in staff {
        let user = stored(UserId::parse(&id))?;
        let w = Workload::empty(user, name, stored(Role::parse(&role))?, &duty, &away);
        out.insert(id, w);
    }
    for (assignee, urgency, created) in rows {
        let Some(a) = assignee else { continue };
        if !out.contains_key(&a) {
            // Someone no longer on the team still holds cases: show them too.
            let u = crate::users::get(conn, stored(UserId::parse(&a))?)?;
            let w = Workload::empty(u.id, u.username.as_str().to_owned(), u.role, &duty, &away);
            out.insert(a.clone(), w);
        }
        let Some(w) = out.get_mut(&a) else { continue };
        let u = stored(Urgency::parse(&urgency))?;
        w.open += 1;
        w.weighted += weights.of(u);
        *w.by_urgency.entry(urgency).or_default() += 1;
        let age = now - from_db(created);
        let bucket = if age < Duration::days(1) {
            AGES[0]
        } else if age < Duration::days(7) {
            AGES[1]
        } else if age < Duration::days(30) {
            AGES[2]
        } else {
            AGES[3]
        };
        *w.by_age.entry(bucket.to_owned()).or_default() += 1;
    }
    let mut v: Vec<Workload> = out.into_values().collect();
    v.sort_by(|a, b| {
        b.weighted
            .cmp(&a.weighted)
            .then(a.username.cmp(&b.username))
    });
    Ok(v)
}

// ---- the leads' queue ----

/// Why a case is in the leads' queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attention {
    /// Critical: imminent risk to a person, not yet acknowledged.
    Critical,
    /// Opened for a rejected beneficiary, not yet acknowledged.
    RejectedBeneficiary,
    /// The beneficiary is not vetted yet.
    VettingPending,
    /// No first answer and past due.
    FirstResponseOverdue,
    /// Not resolved and past due.
    ResolutionOverdue,
    /// Nobody holds it.
    Unassigned,
}

/// A case that needs a lead now, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueItem {
    /// The case, assessed as of now.
    pub case: Case,
    /// Why, most pressing first.
    pub reasons: Vec<Attention>,
}

/// Active cases that need a lead: unacknowledged escalations first, then overdue ones, then
/// vetting; by priority and age within each. Only cases the caller may see.
pub fn escalations(
    conn: &mut DbConnection,
    who: &Principal,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<(Vec<QueueItem>, usize)> {
    // One query, with the visibility rule the case lists use.
    let at = to_db(now);
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT c.*, c.ref AS reference FROM cases c WHERE c.status IN ('{}') \
         AND c.merged_into IS NULL AND ((c.escalated_at IS NOT NULL \
         AND c.escalation_acknowledged_at IS NULL) OR c.vetting <> ",
        ACTIVE.join("', '")
    ))
    .bind(Bind::Text(Vetting::Verified.as_str().to_owned()))
    .push(" OR (c.first_response_at IS NULL AND c.first_response_due_at < ")
    .bind(Bind::Time(at))
    .push(") OR c.resolution_due_at < ")
    .bind(Bind::Time(at))
    .push(")");
    crate::cases::where_clause(&mut sql, who, &crate::cases::CaseFilter::default());
    let rows: Vec<crate::cases::Row> = sql.load(conn)?;
    let mut items = Vec::new();
    for row in rows {
        let mut case = row.into_case()?;
        case.assess(now);
        let mut reasons = Vec::new();
        if let Some(e) = &case.escalation {
            if e.acknowledged_at.is_none() {
                reasons.push(match e.reason {
                    helpline_domain::workflow::EscalationReason::Critical => Attention::Critical,
                    helpline_domain::workflow::EscalationReason::RejectedBeneficiary => {
                        Attention::RejectedBeneficiary
                    }
                });
            }
        }
        if case.first_response_breached && case.first_response_at.is_none() {
            reasons.push(Attention::FirstResponseOverdue);
        }
        if case.resolution_breached {
            reasons.push(Attention::ResolutionOverdue);
        }
        if case.vetting == Vetting::Pending {
            reasons.push(Attention::VettingPending);
        }
        if case.vetting == Vetting::Rejected && !reasons.contains(&Attention::RejectedBeneficiary) {
            reasons.push(Attention::RejectedBeneficiary);
        }
        if reasons.is_empty() {
            continue;
        }
        if case.assignee_id.is_none() {
            reasons.push(Attention::Unassigned);
        }
        items.push(QueueItem { case, reasons });
    }
    items.sort_by(|a, b| {
        a.reasons[0]
            .rank()
            .cmp(&b.reasons[0].rank())
            .then(a.case.priority.cmp(&b.case.priority))
            .then(a.case.created_at.cmp(&b.case.created_at))
    });
    let total = items.len();
    items.truncate(limit);
    Ok((items, total))
}

impl Attention {
    fn rank(self) -> u8 {
        match self {
            Attention::Critical => 0,
            Attention::RejectedBeneficiary => 1,
            Attention::FirstResponseOverdue => 2,
            Attention::ResolutionOverdue => 3,
            Attention::VettingPending => 4,
            Attention::Unassigned => 5,
        }
    }
}

/// A lead takes an escalated case in hand: it leaves the queue (if nothing else keeps it).
pub fn acknowledge(tx: &mut Tx<'_>, id: CaseId, expected_version: i64) -> Result<Case> {
    let now = tx.now;
    crate::cases::update_quiet(tx, id, expected_version, move |c, _| {
        match &mut c.escalation {
            Some(e) if e.acknowledged_at.is_none() => {
                e.acknowledged_at = Some(now);
                Ok(())
            }
            _ => Err(StoreError::Domain(helpline_domain::DomainError::invalid(
                "escalation",
                "the case has no escalation waiting",
            ))),
        }
    })
}

/// Puts a case under legal hold (retention never touches it), or lifts it (`None`).
pub fn set_legal_hold(
    tx: &mut Tx<'_>,
    id: CaseId,
    expected_version: i64,
    reason: Option<Note>,
) -> Result<Case> {
    crate::cases::update_quiet(tx, id, expected_version, move |c, _| {
        c.legal_hold = reason;
        Ok(())
    })
}

// ---- promised times ----

/// Most broken targets announced by one pass (the rest go at the next): the first pass over an
/// old database must not become one enormous transaction.
const BREACHES_PER_PASS: i64 = 500;

/// Announces, once each, the targets broken by `tx.now` on active cases. Returns how many.
pub fn announce_breaches(tx: &mut Tx<'_>, policy: &Policy) -> Result<usize> {
    let at = to_db(tx.now);
    let mut found: Vec<(String, &'static str)> = Vec::new();
    let response: Vec<String> = c::table
        .filter(c::status.eq_any(ACTIVE))
        .filter(c::first_response_at.is_null())
        .filter(c::first_response_due_at.lt(at))
        .filter(
            c::id.ne_all(
                sla_announcements::table
                    .filter(sla_announcements::target.eq("first_response"))
                    .select(sla_announcements::case_id),
            ),
        )
        .select(c::id)
        .limit(BREACHES_PER_PASS)
        .load(tx.conn)?;
    found.extend(response.into_iter().map(|id| (id, "first_response")));
    let resolution: Vec<String> = c::table
        .filter(c::status.eq_any(ACTIVE))
        .filter(c::resolution_due_at.lt(at))
        .filter(
            c::id.ne_all(
                sla_announcements::table
                    .filter(sla_announcements::target.eq("resolution"))
                    .select(sla_announcements::case_id),
            ),
        )
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
            "case.sla_breach",
            "case",
            cid,
            Some(cid),
            json!({"target": target}),
        );
        announce_with(
            tx,
            policy,
            "case.sla_breached",
            &case,
            json!({"target": target}),
        );
    }
    Ok(found.len())
}

// ---- webhooks ----

/// What a webhook may say about a case: ids, levels, times and people; never names, text
/// or the beneficiary (receivers are chat rooms and pagers).
fn case_facts(case: &Case) -> Value {
    json!({
        "id": case.id,
        "ref": case.reference,
        "status": case.status,
        "urgency": case.urgency,
        "priority": case.priority,
        "confidential": case.confidential,
        "assignee_id": case.assignee_id,
        "vetting": case.vetting,
        "first_response_due_at": case.first_response_due_at,
        "resolution_due_at": case.resolution_due_at,
        "escalation": case.escalation,
    })
}

/// Queues an event for every configured webhook, in the transaction of the change it tells of.
pub(crate) fn announce(tx: &mut Tx<'_>, policy: &Policy, event: &str, case: &Case) {
    announce_with(tx, policy, event, case, Value::Null);
}

fn announce_with(tx: &mut Tx<'_>, policy: &Policy, event: &str, case: &Case, detail: Value) {
    if policy.webhook_urls.is_empty() {
        return;
    }
    let mut body = json!({
        "event": event,
        "occurred_at": tx.now,
        "case": case_facts(case),
    });
    if !detail.is_null() {
        body["detail"] = detail;
    }
    for url in &policy.webhook_urls {
        let id = uuid::Uuid::now_v7();
        let mut b = body.clone();
        b["id"] = json!(id);
        let r = diesel::insert_into(wd::table)
            .values((
                wd::id.eq(id.to_string()),
                wd::url.eq(url),
                wd::event.eq(event),
                wd::payload.eq(b.to_string()),
                wd::state.eq("pending"),
                wd::attempts.eq(0),
                wd::next_attempt_at.eq(to_db(tx.now)),
                wd::created_at.eq(to_db(tx.now)),
            ))
            .execute(tx.conn);
        if let Err(e) = r {
            tracing::error!(error = %e, event, "could not queue a webhook");
        }
    }
}

/// A webhook call waiting to be made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// Stable id (also in the payload, for receivers to drop repeats).
    pub id: String,
    /// Where.
    pub url: String,
    /// The event name.
    pub event: String,
    /// The JSON body, as signed.
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i32,
    /// Last failure.
    pub last_error: Option<String>,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

type DeliveryRow = (
    String,
    String,
    String,
    String,
    String,
    i32,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

fn delivery(r: DeliveryRow) -> Delivery {
    Delivery {
        id: r.0,
        url: r.1,
        event: r.2,
        payload: r.3,
        state: r.4,
        attempts: r.5,
        last_error: r.6,
        created_at: from_db(r.7),
        delivered_at: r.8.map(from_db),
    }
}

macro_rules! delivery_columns {
    () => {
        (
            wd::id,
            wd::url,
            wd::event,
            wd::payload,
            wd::state,
            wd::attempts,
            wd::last_error,
            wd::created_at,
            wd::delivered_at,
        )
    };
}

/// Calls due by `now`, oldest first.
pub fn due_deliveries(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let rows: Vec<DeliveryRow> = wd::table
        .filter(wd::state.eq("pending"))
        .filter(wd::next_attempt_at.le(to_db(now)))
        .order((wd::next_attempt_at.asc(), wd::id.asc()))
        .limit(limit)
        .select(delivery_columns!())
        .load(conn)?;
    Ok(rows.into_iter().map(delivery).collect())
}

/// The latest calls, newest first (for admins to see what failed).
pub fn deliveries(conn: &mut DbConnection, limit: i64) -> Result<Vec<Delivery>> {
    let rows: Vec<DeliveryRow> = wd::table
        .order(wd::id.desc())
        .limit(limit)
        .select(delivery_columns!())
        .load(conn)?;
    Ok(rows.into_iter().map(delivery).collect())
}

/// Records one attempt: delivered, retried at `retry_at`, or failed for good (`None`).
pub fn record_delivery(
    tx: &mut Tx<'_>,
    id: &str,
    outcome: std::result::Result<(), (String, Option<DateTime<Utc>>)>,
) -> Result<()> {
    let target = wd::table.find(id);
    match outcome {
        Ok(()) => diesel::update(target)
            .set((
                wd::state.eq("delivered"),
                wd::attempts.eq(wd::attempts + 1),
                wd::delivered_at.eq(Some(to_db(tx.now))),
                wd::last_error.eq(None::<String>),
            ))
            .execute(tx.conn)?,
        Err((why, Some(retry))) => diesel::update(target)
            .set((
                wd::attempts.eq(wd::attempts + 1),
                wd::next_attempt_at.eq(to_db(retry)),
                wd::last_error.eq(Some(why)),
            ))
            .execute(tx.conn)?,
        Err((why, None)) => diesel::update(target)
            .set((
                wd::state.eq("failed"),
                wd::attempts.eq(wd::attempts + 1),
                wd::last_error.eq(Some(why)),
            ))
            .execute(tx.conn)?,
    };
    Ok(())
}
