//! The helpline's numbers for a period: cases by every dimension a funder asks about, times to
//! first response and to resolution, broken targets, new and returning beneficiaries.
//!
//! Confidential cases count in the totals and nowhere else: in every breakdown they appear
//! only as the `confidential` bucket, and they are left out of times, breaches and
//! beneficiaries, so that no figure singles one out.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use diesel::prelude::*;
use helpline_domain::access::{can_see_case, CaseVisibility, Permission, Principal};
use helpline_domain::case::CaseStatus;
use helpline_domain::ids::UserId;
use helpline_domain::workflow::breached;
use serde::Serialize;

use crate::convert::to_db;
use crate::schema::{beneficiaries as b, case_access, cases as c};
use crate::{DbConnection, Result};

/// What a breakdown may be by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Where the case stands.
    Status,
    /// Service requested.
    ServiceType,
    /// Who the beneficiary is (journalist, defender, …).
    Audience,
    /// How soon.
    Urgency,
    /// Priority.
    Priority,
    /// How they reached the helpline.
    Channel,
    /// Their country.
    Country,
}

impl Dimension {
    /// Every dimension, in report order.
    pub const ALL: [Dimension; 7] = [
        Dimension::Status,
        Dimension::ServiceType,
        Dimension::Audience,
        Dimension::Urgency,
        Dimension::Priority,
        Dimension::Channel,
        Dimension::Country,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Status => "status",
            Dimension::ServiceType => "service_type",
            Dimension::Audience => "audience",
            Dimension::Urgency => "urgency",
            Dimension::Priority => "priority",
            Dimension::Channel => "channel",
            Dimension::Country => "country",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Dimension> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// How a period is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// ISO weeks (`2026-W05`).
    Week,
    /// Calendar months (`2026-01`).
    Month,
}

/// Median and 90th percentile of a duration, in seconds (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Timing {
    /// Cases measured.
    pub count: usize,
    /// Median.
    pub median_seconds: Option<i64>,
    /// 90th percentile.
    pub p90_seconds: Option<i64>,
}

fn timing(mut v: Vec<i64>) -> Timing {
    v.sort_unstable();
    let rank = |p: f64| -> Option<i64> {
        if v.is_empty() {
            return None;
        }
        let k = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(v[k - 1])
    };
    Timing {
        count: v.len(),
        median_seconds: rank(0.5),
        p90_seconds: rank(0.9),
    }
}

/// Targets broken among the cases of the period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Breaches {
    /// First answer late (or not given and past due).
    pub first_response: usize,
    /// Resolution late (or not reached and past due).
    pub resolution: usize,
}

/// Beneficiaries with a case in the period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Returning {
    /// Whose first case ever is in the period.
    pub new: usize,
    /// Who had a case before.
    pub returning: usize,
}

/// The figures of a set of cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Cases opened.
    pub total: usize,
    /// Of which confidential.
    pub confidential: usize,
    /// Counts per dimension and value; confidential cases only as `confidential`.
    pub by: BTreeMap<&'static str, BTreeMap<String, usize>>,
    /// Opening to first outbound message.
    pub time_to_first_response: Timing,
    /// Opening to resolution.
    pub time_to_resolution: Timing,
    /// Broken targets.
    pub sla_breaches: Breaches,
    /// New and returning beneficiaries.
    pub beneficiaries: Returning,
}

/// The report for `[from, to)`, with a series per period if asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// From (inclusive).
    pub from: DateTime<Utc>,
    /// To (exclusive).
    pub to: DateTime<Utc>,
    /// Figures for the whole range.
    #[serde(flatten)]
    pub all: Figures,
    /// Figures per week or month, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub periods: Option<Vec<(String, Figures)>>,
}

struct Fact {
    beneficiary: String,
    status: String,
    service_type: String,
    audience: Option<String>,
    urgency: String,
    priority: String,
    channel: Option<String>,
    country: Option<String>,
    confidential: bool,
    created: NaiveDateTime,
    first_response: Option<NaiveDateTime>,
    resolved: Option<NaiveDateTime>,
    response_due: NaiveDateTime,
    resolution_due: NaiveDateTime,
}

impl Fact {
    fn value(&self, d: Dimension) -> String {
        let v = match d {
            Dimension::Status => Some(&self.status),
            Dimension::ServiceType => Some(&self.service_type),
            Dimension::Audience => self.audience.as_ref(),
            Dimension::Urgency => Some(&self.urgency),
            Dimension::Priority => Some(&self.priority),
            Dimension::Channel => self.channel.as_ref(),
            Dimension::Country => self.country.as_ref(),
        };
        v.cloned().unwrap_or_else(|| "unknown".to_owned())
    }

    fn active(&self) -> bool {
        CaseStatus::parse(&self.status).is_ok_and(CaseStatus::is_active)
    }
}

fn figures(
    facts: &[&Fact],
    dims: &[Dimension],
    first_case: &HashMap<String, NaiveDateTime>,
    from: NaiveDateTime,
    now: NaiveDateTime,
) -> Figures {
    let mut by: BTreeMap<&'static str, BTreeMap<String, usize>> = BTreeMap::new();
    for d in dims {
        by.insert(d.as_str(), BTreeMap::new());
    }
    let mut response = Vec::new();
    let mut resolution = Vec::new();
    let mut breaches = Breaches::default();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut ret = Returning::default();
    let mut confidential = 0;
    for f in facts {
        if f.confidential {
            confidential += 1;
            for d in dims {
                *by.entry(d.as_str())
                    .or_default()
                    .entry("confidential".into())
                    .or_default() += 1;
            }
            continue;
        }
        for d in dims {
            *by.entry(d.as_str())
                .or_default()
                .entry(f.value(*d))
                .or_default() += 1;
        }
        if let Some(t) = f.first_response {
            response.push((t - f.created).num_seconds());
        }
        if let Some(t) = f.resolved {
            resolution.push((t - f.created).num_seconds());
        }
        let late = |done, due| breached(done, due, f.active(), now);
        if late(f.first_response, f.response_due) {
            breaches.first_response += 1;
        }
        if late(f.resolved, f.resolution_due) {
            breaches.resolution += 1;
        }
        if seen.insert(&f.beneficiary) {
            match first_case.get(&f.beneficiary) {
                Some(first) if *first < from => ret.returning += 1,
                _ => ret.new += 1,
            }
        }
    }
    Figures {
        total: facts.len(),
        confidential,
        by,
        time_to_first_response: timing(response),
        time_to_resolution: timing(resolution),
        sla_breaches: breaches,
        beneficiaries: ret,
    }
}

fn period_key(t: NaiveDateTime, p: Period) -> String {
    match p {
        Period::Month => format!("{:04}-{:02}", t.year(), t.month()),
        Period::Week => {
            let w = t.iso_week();
            format!("{:04}-W{:02}", w.year(), w.week())
        }
    }
}

/// The figures of the cases opened in `[from, to)` that `who` may see (leads and admins: all;
/// a reporting token: the ordinary ones), broken down by `dims`, as of `now` (for targets not
/// yet met), with a series by `period` if asked.
///
/// Long because it is one pass over the period's cases feeding every figure at once (a pass
/// per figure would read the cases once per figure).
pub fn report(
    conn: &mut DbConnection,
    who: &Principal,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    dims: &[Dimension],
    period: Option<Period>,
    now: DateTime<Utc>,
) -> Result<Report> {
    type R = (
        String,
        String,
        String,
        Option<String>,
        String,
        String,
        Option<String>,
        Option<String>,
        bool,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        (NaiveDateTime, NaiveDateTime),
        (String, Option<String>),
    );
    let (f, t) = (to_db(from), to_db(to));
    let rows: Vec<R> = c::table
        .inner_join(b::table.on(b::id.eq(c::beneficiary_id)))
        .filter(c::created_at.ge(f))
        .filter(c::created_at.lt(t))
        .filter(c::merged_into.is_null())
        .select((
            c::beneficiary_id,
            c::status,
            c::service_type,
            b::audience,
            c::urgency,
            c::priority,
            c::channel,
            b::country,
            c::confidential,
            c::created_at,
            c::first_response_at,
            c::resolved_at,
            (c::first_response_due_at, c::resolution_due_at),
            (c::id, c::assignee_id),
        ))
        .load(conn)?;
    // A confidential case counts only for those who may see it: the same rule as everywhere
    // (`access::can_see_case`), with the caller's grants read once.
    let granted: HashSet<String> = match who.actor.user_id() {
        Some(me) if !who.may(Permission::SeeAllConfidential) => case_access::table
            .filter(case_access::user_id.eq(me.to_string()))
            .select(case_access::case_id)
            .load::<String>(conn)?
            .into_iter()
            .collect(),
        _ => HashSet::new(),
    };
    let facts: Vec<Fact> = rows
        .into_iter()
        .filter(|r| {
            let assignee = r.13 .1.as_deref().and_then(|a| UserId::parse(a).ok());
            can_see_case(
                who,
                CaseVisibility {
                    confidential: r.8,
                    assignee,
                    granted: granted.contains(&r.13 .0),
                },
            )
        })
        .map(|r| Fact {
            beneficiary: r.0,
            status: r.1,
            service_type: r.2,
            audience: r.3,
            urgency: r.4,
            priority: r.5,
            channel: r.6,
            country: r.7,
            confidential: r.8,
            created: r.9,
            first_response: r.10,
            resolved: r.11,
            response_due: r.12 .0,
            resolution_due: r.12 .1,
        })
        .collect();
    // Each beneficiary's first case ever, to tell new from returning.
    let first_case: HashMap<String, NaiveDateTime> = if facts.is_empty() {
        HashMap::new()
    } else {
        let mut who: Vec<&str> = facts.iter().map(|x| x.beneficiary.as_str()).collect();
        who.sort_unstable();
        who.dedup();
        let mut v: Vec<(String, Option<NaiveDateTime>)> = Vec::new();
        for chunk in who.chunks(1000) {
            v.extend(
                c::table
                    .filter(c::beneficiary_id.eq_any(chunk))
                    .filter(c::merged_into.is_null())
                    .group_by(c::beneficiary_id)
                    .select((c::beneficiary_id, diesel::dsl::min(c::created_at)))
                    .load::<(String, Option<NaiveDateTime>)>(conn)?,
            );
        }
        v.into_iter().filter_map(|(k, m)| Some((k, m?))).collect()
    };
    let now = to_db(now);
    let all_refs: Vec<&Fact> = facts.iter().collect();
    let all = figures(&all_refs, dims, &first_case, f, now);
    let periods = period.map(|p| {
        let mut groups: BTreeMap<String, Vec<&Fact>> = BTreeMap::new();
        for x in &facts {
            groups.entry(period_key(x.created, p)).or_default().push(x);
        }
        groups
            .into_iter()
            .map(|(k, v)| {
                // "New" within a period means first case ever falls in that period.
                let start = v.iter().map(|x| x.created).min().unwrap_or(f);
                let start = period_start(start, p).max(f);
                let fig = figures(&v, dims, &first_case, start, now);
                (k, fig)
            })
            .collect()
    });
    Ok(Report {
        from,
        to,
        all,
        periods,
    })
}

fn period_start(t: NaiveDateTime, p: Period) -> NaiveDateTime {
    let d = t.date();
    let day = match p {
        Period::Month => d.with_day(1).unwrap_or(d),
        Period::Week => d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday())),
    };
    day.and_hms_opt(0, 0, 0).unwrap_or(t)
}

/// The report as CSV rows for spreadsheets: `period,figure,value,count`.
pub fn csv(r: &Report) -> String {
    let mut out = String::from("period,figure,value,count\n");
    let mut emit = |period: &str, f: &Figures| {
        let mut row = |figure: &str, value: &str, count: String| {
            out.push_str(&format!(
                "{},{},{},{}\n",
                csv_field(period),
                csv_field(figure),
                csv_field(value),
                count
            ));
        };
        row("total", "", f.total.to_string());
        row("confidential", "", f.confidential.to_string());
        for (d, m) in &f.by {
            for (v, n) in m {
                row(d, v, n.to_string());
            }
        }
        let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
        for (figure, t) in [
            ("time_to_first_response", &f.time_to_first_response),
            ("time_to_resolution", &f.time_to_resolution),
        ] {
            row(figure, "count", t.count.to_string());
            row(figure, "median_seconds", opt(t.median_seconds));
            row(figure, "p90_seconds", opt(t.p90_seconds));
        }
        let b = &f.sla_breaches;
        row(
            "sla_breaches",
            "first_response",
            b.first_response.to_string(),
        );
        row("sla_breaches", "resolution", b.resolution.to_string());
        let n = &f.beneficiaries;
        row("beneficiaries", "new", n.new.to_string());
        row("beneficiaries", "returning", n.returning.to_string());
    };
    emit("all", &r.all);
    if let Some(ps) = &r.periods {
        for (k, f) in ps {
            emit(k, f);
        }
    }
    out
}

/// Quotes a CSV field when it needs it, and defuses spreadsheet formulas.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let t = timing((1..=10).collect());
        assert_eq!((t.median_seconds, t.p90_seconds), (Some(5), Some(9)));
        let t = timing(vec![7]);
        assert_eq!((t.median_seconds, t.p90_seconds), (Some(7), Some(7)));
        assert_eq!(timing(vec![]).median_seconds, None);
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("plain"), "plain");
    }
}
