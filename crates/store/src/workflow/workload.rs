//! Caseloads: each person's open cases by urgency and age.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::case::Urgency;
use helpline_domain::ids::UserId;
use helpline_domain::user::Role;
use helpline_domain::workflow::CaseloadWeights;
use serde::Serialize;

use super::on_duty;
use crate::convert::{from_db, stored, to_db};
use crate::schema::{absences, cases as c, users};
use crate::{DbConnection, Result};

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
        .filter(c::status.eq_any(super::active()))
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
