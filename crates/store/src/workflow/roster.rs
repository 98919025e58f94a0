//! The duty roster: shifts (on duty) and absences (away), who is on duty now, and the
//! candidates for a new case with their caseloads.

use helpline_domain::audit::AuditAction;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::case::Urgency;
use helpline_domain::ids::UserId;
use helpline_domain::user::Role;
use helpline_domain::workflow::{check_period, Absence, Candidate, CaseloadWeights, Period, Shift};
use serde_json::json;

use crate::convert::{from_db, stored, to_db};
use crate::schema::{absences, cases as c, handoffs, shifts, users};
use crate::sql::{Bind, Sql};
use crate::{DbConnection, Result, StoreError, Tx};

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
        match kind {
            Kind::Shift => AuditAction::RosterShiftAdd,
            Kind::Absence => AuditAction::RosterAbsenceAdd,
        },
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
        match kind {
            Kind::Shift => AuditAction::RosterShiftRemove,
            Kind::Absence => AuditAction::RosterAbsenceRemove,
        },
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
        // Two comparisons rather than `IN (…)`: diesel prepares an `IN` list afresh at every
        // call, and this runs for every case opened.
        .filter(
            users::role
                .eq(Role::Handler.as_str())
                .or(users::role.eq(Role::Lead.as_str())),
        )
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
        .filter(c::status.eq_any(super::active()))
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

/// Who could take a new case now: everyone on duty and not away, with their weighted open
/// caseload and when they were last given a case (the choice is the domain's `next_assignee`).
pub fn candidates(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    weights: &CaseloadWeights,
) -> Result<Vec<Candidate>> {
    let duty = on_duty(conn, now)?;
    if duty.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = duty.iter().map(|u| u.to_string()).collect();
    let loads = open_loads(conn, &ids)?;
    let last: Vec<(Option<String>, Option<NaiveDateTime>)> = handoffs::table
        .filter(handoffs::to_user.eq_any(&ids))
        .group_by(handoffs::to_user)
        .select((handoffs::to_user, diesel::dsl::max(handoffs::handed_at)))
        .load(conn)?;
    let last: HashMap<String, DateTime<Utc>> = last
        .into_iter()
        .filter_map(|(u, t)| Some((u?, from_db(t?))))
        .collect();
    Ok(duty
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
        .collect())
}
