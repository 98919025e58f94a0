//! Correlation: every case reachable from one through links and shared indicators, a few
//! hops deep, each with the path that explains it and a score.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use helpline_domain::access::Principal;
use helpline_domain::ids::IndicatorId;
use helpline_domain::indicator::{IndicatorState, LinkKind, WarningList};
use serde::Serialize;

use super::{capped_counts, links_of, visible_briefs, CaseBrief, StoredIndicator, CHUNK};
use crate::schema::{case_indicators as ci, indicators};
use crate::{DbConnection, Result};

/// One step of the path that explains a related case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Step {
    /// The two cases share an indicator.
    Indicator {
        /// Reference of the case the step leaves.
        from: i64,
        /// Reference of the case it reaches.
        to: i64,
        /// The indicator they share.
        indicator: StoredIndicator,
    },
    /// The two cases are linked.
    Link {
        /// Reference of the case the step leaves.
        from: i64,
        /// Reference of the case it reaches.
        to: i64,
        /// The link, read from `from`.
        kind: LinkKind,
    },
}

/// A case reached from the one asked about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Related {
    /// The case.
    pub case: CaseBrief,
    /// Hops from the case asked about.
    pub depth: usize,
    /// How strongly related (0–1): the paths found at that depth combined.
    pub score: f64,
    /// The strongest path.
    pub path: Vec<Step>,
    /// The path in words.
    pub explanation: String,
}

/// An indicator not followed, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotFollowed {
    /// The indicator.
    pub indicator: StoredIndicator,
    /// `fan_out` (held by more cases than the limit) or `warning_list`.
    pub reason: &'static str,
    /// Cases holding it, at least (fan-out: counting stops past the limit).
    pub cases: Option<i64>,
    /// The warning list naming it.
    pub list: Option<String>,
}

/// The correlation's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correlation {
    /// Cases reached, strongest first.
    pub related: Vec<Related>,
    /// Indicators not followed.
    pub not_followed: Vec<NotFollowed>,
}

/// What the correlation follows and how far.
#[derive(Debug, Clone)]
pub struct Walk<'a> {
    /// Hops (1–4).
    pub depth: usize,
    /// Follow explicit links.
    pub links: bool,
    /// Follow shared indicators.
    pub indicators: bool,
    /// An indicator held by more cases than this is not followed.
    pub fan_out: i64,
    /// Values that never correlate.
    pub warnings: &'a WarningList,
}

/// Every case reachable from `start` through links and shared indicators, up to `walk.depth`
/// hops, only ever through cases `who` may see.
///
/// Long because it is one breadth-first walk: each hop gathers its edges (links, then shared
/// indicators after the warning list and fan-out checks), keeps the cases the caller may see,
/// and scores them; the hop's state (reached, frontier, indicators followed or not) is shared
/// by every step, and the steps read best in the order they run.
pub fn related(
    conn: &mut DbConnection,
    start: &CaseBrief,
    who: &Principal,
    walk: &Walk<'_>,
) -> Result<Correlation> {
    let weight_of_state = |s: &str| {
        if s == IndicatorState::Confirmed.as_str() {
            0.7
        } else {
            0.4
        }
    };
    // case id -> (brief, depth, score, path)
    let mut reached: HashMap<String, (CaseBrief, usize, f64, Vec<Step>)> = HashMap::new();
    let start_id = start.id.to_string();
    reached.insert(start_id.clone(), (start.clone(), 0, 1.0, Vec::new()));
    let mut frontier = vec![start_id.clone()];
    let mut not_followed: HashMap<IndicatorId, NotFollowed> = HashMap::new();
    let mut followed: HashSet<IndicatorId> = HashSet::new();
    let mut known: HashMap<IndicatorId, StoredIndicator> = HashMap::new();
    for depth in 1..=walk.depth {
        if frontier.is_empty() {
            break;
        }
        // (from case id, to case id, step weight, step-without-refs)
        let mut edges: Vec<(String, String, f64, Edge)> = Vec::new();
        if walk.links {
            for l in links_of(conn, &frontier)? {
                edges.push((
                    l.case_id.to_string(),
                    l.target_id.to_string(),
                    l.kind.weight(),
                    Edge::Link(l.kind),
                ));
            }
        }
        if walk.indicators {
            let mut held: Vec<(String, String, String)> = Vec::new();
            for chunk in frontier.chunks(CHUNK) {
                held.extend(
                    ci::table
                        .filter(ci::case_id.eq_any(chunk))
                        .filter(ci::state.ne(IndicatorState::FalsePositive.as_str()))
                        .select((ci::case_id, ci::indicator_id, ci::state))
                        .load::<(String, String, String)>(conn)?,
                );
            }
            let ids: Vec<IndicatorId> = held
                .iter()
                .filter_map(|(_, i, _)| IndicatorId::parse(i).ok())
                .filter(|i| !followed.contains(i) && !not_followed.contains_key(i))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            known.extend(describe(conn, &ids)?);
            let counts = capped_counts(conn, &ids, walk.fan_out + 1)?;
            let mut follow: Vec<String> = Vec::new();
            for id in &ids {
                let Some(s) = known.get(id) else { continue };
                if let Some(list) = walk.warnings.warns(&s.indicator()) {
                    not_followed.insert(
                        *id,
                        NotFollowed {
                            indicator: s.clone(),
                            reason: "warning_list",
                            cases: None,
                            list: Some(list.to_owned()),
                        },
                    );
                    continue;
                }
                let n = counts.get(id).copied().unwrap_or(0);
                if n > walk.fan_out {
                    not_followed.insert(
                        *id,
                        NotFollowed {
                            indicator: s.clone(),
                            reason: "fan_out",
                            cases: Some(n),
                            list: None,
                        },
                    );
                    continue;
                }
                followed.insert(*id);
                follow.push(id.to_string());
            }
            let follow_set: HashSet<&String> = follow.iter().collect();
            let mut holders: HashMap<String, Vec<(String, String)>> = HashMap::new();
            for chunk in follow.chunks(CHUNK) {
                for (case_id, ind, state) in ci::table
                    .filter(ci::indicator_id.eq_any(chunk))
                    .filter(ci::state.ne(IndicatorState::FalsePositive.as_str()))
                    .select((ci::case_id, ci::indicator_id, ci::state))
                    .load::<(String, String, String)>(conn)?
                {
                    holders.entry(ind).or_default().push((case_id, state));
                }
            }
            for (from, ind, from_state) in &held {
                if !follow_set.contains(ind) {
                    continue;
                }
                let Some(s) = IndicatorId::parse(ind).ok().and_then(|i| known.get(&i)) else {
                    continue;
                };
                for (to, to_state) in holders.get(ind).into_iter().flatten() {
                    if to != from {
                        let w = f64::min(weight_of_state(from_state), weight_of_state(to_state));
                        edges.push((from.clone(), to.clone(), w, Edge::Indicator(s.id)));
                    }
                }
            }
        }
        let new_ids: Vec<String> = edges
            .iter()
            .map(|(_, to, _, _)| to.clone())
            .filter(|to| !reached.contains_key(to))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let briefs = visible_briefs(conn, &new_ids, who)?;
        // Paths found at this depth, per newly reached case, combined as independent evidence;
        // only the strongest is spelled out (building every path cost more than the queries).
        let mut found: HashMap<&str, (f64, usize, f64)> = HashMap::new();
        for (n, (from, to, w, _)) in edges.iter().enumerate() {
            if !briefs.contains_key(to) {
                continue;
            }
            let Some((_, _, from_score, _)) = reached.get(from) else {
                continue;
            };
            let score = from_score * w;
            let e = found.entry(to.as_str()).or_insert((-1.0, n, 1.0));
            e.2 *= 1.0 - score;
            if score > e.0 {
                e.0 = score;
                e.1 = n;
            }
        }
        let mut next = Vec::new();
        let mut chosen: Vec<(String, f64, usize)> = found
            .into_iter()
            .map(|(to, (_, n, miss))| (to.to_owned(), 1.0 - miss, n))
            .collect();
        chosen.sort_by(|a, b| a.0.cmp(&b.0));
        for (to, score, n) in chosen {
            let (from, _, _, edge) = &edges[n];
            let (Some(brief), Some((from_brief, _, _, from_path))) =
                (briefs.get(&to), reached.get(from))
            else {
                continue;
            };
            let step = match edge {
                Edge::Link(kind) => Step::Link {
                    from: from_brief.reference,
                    to: brief.reference,
                    kind: *kind,
                },
                Edge::Indicator(id) => match known.get(id) {
                    Some(indicator) => Step::Indicator {
                        from: from_brief.reference,
                        to: brief.reference,
                        indicator: indicator.clone(),
                    },
                    None => continue,
                },
            };
            let mut path = Vec::with_capacity(from_path.len() + 1);
            path.extend(from_path.iter().cloned());
            path.push(step);
            reached.insert(to.clone(), (brief.clone(), depth, score, path));
            next.push(to);
        }
        next.sort();
        frontier = next;
    }
    let mut related: Vec<Related> = reached
        .into_iter()
        .filter(|(id, _)| *id != start_id)
        .map(|(_, (case, depth, score, path))| Related {
            explanation: explain(&path),
            case,
            depth,
            score: (score * 1000.0).round() / 1000.0,
            path,
        })
        .collect();
    related.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.depth.cmp(&b.depth))
            .then(a.case.reference.cmp(&b.case.reference))
    });
    let mut not_followed: Vec<NotFollowed> = not_followed.into_values().collect();
    not_followed.sort_by(|a, b| {
        (a.indicator.kind, &a.indicator.value).cmp(&(b.indicator.kind, &b.indicator.value))
    });
    Ok(Correlation {
        related,
        not_followed,
    })
}

enum Edge {
    Link(LinkKind),
    Indicator(IndicatorId),
}

/// Indicators by id.
fn describe(
    conn: &mut DbConnection,
    ids: &[IndicatorId],
) -> Result<HashMap<IndicatorId, StoredIndicator>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let keys: Vec<String> = chunk.iter().map(ToString::to_string).collect();
        for row in indicators::table
            .filter(indicators::id.eq_any(&keys))
            .select((indicators::id, indicators::kind, indicators::value))
            .load::<(String, String, String)>(conn)?
        {
            let s = StoredIndicator::from_row(row)?;
            out.insert(s.id, s);
        }
    }
    Ok(out)
}

/// "shares domain evil.example with #1042, which is a duplicate of #998"
fn explain(path: &[Step]) -> String {
    let mut out = String::new();
    for (n, step) in path.iter().enumerate() {
        if n > 0 {
            out.push_str(", which ");
        }
        match step {
            Step::Indicator { to, indicator, .. } => out.push_str(&format!(
                "shares {} {} with #{to}",
                indicator.kind.as_str().replace('_', " "),
                indicator.value
            )),
            Step::Link { to, kind, .. } => out.push_str(&format!("{} #{to}", kind.phrase())),
        }
    }
    out
}
