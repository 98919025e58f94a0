//! Correlation: every case reachable from one through links and shared indicators, a few
//! hops deep, each with the path that explains it and a score.

use indexmap::IndexSet;
use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};

use diesel::prelude::*;
use helpline_domain::access::Principal;
use helpline_domain::ids::{CaseId, IndicatorId};
use helpline_domain::indicator::{IndicatorState, LinkKind, WarningList};
use serde::Serialize;

use super::kept_holders::Holding;
use super::{visible_among, visible_briefs, CaseBrief, Descriptions, KeptHolders, StoredIndicator};
use crate::convert::stored;
use crate::sql::{Bind, Sql};
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

impl Step {
    /// The references of the two cases the step joins: (from, to).
    pub fn ends(&self) -> (i64, i64) {
        match self {
            Step::Indicator { from, to, .. } | Step::Link { from, to, .. } => (*from, *to),
        }
    }
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
    /// Fan-out: how many cases hold it (false positives not counted).
    pub cases: Option<i64>,
    /// The warning list naming it.
    pub list: Option<String>,
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
    /// The strongest this many related cases are answered (with their paths); the walk itself
    /// goes as far as `depth` and the fan-out allow, and `total` counts every case reached.
    pub limit: usize,
    /// What earlier walks read of the indicators they met.
    pub descriptions: &'a Descriptions,
    /// The holders of the indicators earlier walks followed.
    pub holders: &'a KeptHolders,
}

/// The correlation's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correlation {
    /// The strongest related cases, at most `walk.limit`, strongest first.
    pub related: Vec<Related>,
    /// How many cases the walk reached in all.
    pub total: usize,
    /// Indicators not followed.
    pub not_followed: Vec<NotFollowed>,
}

/// Ids as the walk numbers them: hops, frontiers and scores deal in small numbers, and each id
/// is kept once (a deep walk meets tens of thousands of holdings of the same few thousand
/// cases and indicators); an id's number is its place in the set.
struct Numbering<Id> {
    ids: IndexSet<Id, FxBuildHasher>,
}

impl<Id> Default for Numbering<Id> {
    fn default() -> Self {
        Numbering {
            ids: IndexSet::default(),
        }
    }
}

/// The ids the walk numbers.
trait WalkId: Copy + Eq + std::hash::Hash {
    /// Stands for a number never given (the walk only holds numbers it gave).
    fn nil() -> Self;
}

impl WalkId for CaseId {
    fn nil() -> Self {
        CaseId::from_uuid(uuid::Uuid::nil())
    }
}

impl WalkId for IndicatorId {
    fn nil() -> Self {
        IndicatorId::from_uuid(uuid::Uuid::nil())
    }
}

impl<Id: WalkId> Numbering<Id> {
    fn number(&mut self, id: Id) -> u32 {
        u32::try_from(self.ids.insert_full(id).0).unwrap_or(u32::MAX)
    }
    fn id(&self, n: u32) -> Id {
        self.ids
            .get_index(n as usize)
            .copied()
            .unwrap_or_else(Id::nil)
    }
}

/// A case reached, as the walk keeps it: only the strongest step that reached it, so that the
/// path is spelled out for the cases answered and not for the thousands a deep walk can reach.
struct Reach {
    depth: usize,
    score: f64,
    /// The case the strongest path came from, and the step taken.
    via: Option<(u32, Edge)>,
}

/// One step between two numbered cases before it is spelled out: `(from, to, weight, what)`.
type Hop = (u32, u32, f64, Edge);

#[derive(Clone, Copy)]
enum Edge {
    Link(LinkKind),
    /// A shared indicator, by its number.
    Indicator(u32),
}

/// What the walk has met so far: cases and indicators numbered, the indicators followed, those
/// not (and why), and what each one is.
#[derive(Default)]
struct Met {
    cases: Numbering<CaseId>,
    indicators: Numbering<IndicatorId>,
    followed: FxHashSet<u32>,
    not_followed: FxHashMap<u32, NotFollowed>,
    known: FxHashMap<u32, StoredIndicator>,
}

/// Every case reachable from `start` through links and shared indicators, up to `walk.depth`
/// hops, only ever through cases `who` may see; the strongest `walk.limit` with their paths.
pub fn related(
    conn: &mut DbConnection,
    start: &CaseBrief,
    who: &Principal,
    walk: &Walk<'_>,
) -> Result<Correlation> {
    let mut met = Met::default();
    let origin = met.cases.number(start.id);
    let mut reached: FxHashMap<u32, Reach> = FxHashMap::default();
    let first = Reach {
        depth: 0,
        score: 1.0,
        via: None,
    };
    reached.insert(origin, first);
    let mut frontier = vec![origin];
    for depth in 1..=walk.depth {
        if frontier.is_empty() {
            break;
        }
        let mut hops: Vec<Hop> = Vec::new();
        if walk.links {
            hops.extend(link_hops(conn, &frontier, &mut met.cases)?);
        }
        if walk.indicators {
            hops.extend(shared_indicators(conn, &frontier, walk, &mut met)?);
        }
        frontier = step(conn, who, &hops, depth, &mut reached, &met.cases)?;
    }
    let mut order: Vec<(u32, &Reach)> = reached
        .iter()
        .filter(|(n, _)| **n != origin)
        .map(|(n, r)| (*n, r))
        .collect();
    order.sort_by(|(a_n, a), (b_n, b)| {
        b.score
            .total_cmp(&a.score)
            .then(a.depth.cmp(&b.depth))
            .then(met.cases.id(*a_n).cmp(&met.cases.id(*b_n)))
    });
    let total = order.len();
    order.truncate(walk.limit);
    let related = spell_out(conn, start, who, &order, &reached, &met)?;
    let mut not_followed: Vec<NotFollowed> = met.not_followed.into_values().collect();
    not_followed.sort_by(|a, b| {
        (a.indicator.kind, &a.indicator.value).cmp(&(b.indicator.kind, &b.indicator.value))
    });
    Ok(Correlation {
        related,
        total,
        not_followed,
    })
}

/// One hop's arrivals: the cases newly reached through `hops` that `who` may see, each scored
/// by the paths found at this depth combined as independent evidence and remembered with the
/// strongest of them. Returns them, in order, as the next frontier.
fn step(
    conn: &mut DbConnection,
    who: &Principal,
    hops: &[Hop],
    depth: usize,
    reached: &mut FxHashMap<u32, Reach>,
    cases: &Numbering<CaseId>,
) -> Result<Vec<u32>> {
    let new: FxHashSet<u32> = hops
        .iter()
        .map(|(_, to, _, _)| *to)
        .filter(|to| !reached.contains_key(to))
        .collect();
    let seen = visible_among(conn, new.iter().map(|n| cases.id(*n)), who)?;
    // to -> (best score, its hop, product of the misses)
    let mut found: FxHashMap<u32, (f64, usize, f64)> = FxHashMap::default();
    for (n, (from, to, w, _)) in hops.iter().enumerate() {
        if !new.contains(to) || !seen.contains(&cases.id(*to)) {
            continue;
        }
        let Some(from_reach) = reached.get(from) else {
            continue;
        };
        let score = from_reach.score * w;
        let e = found.entry(*to).or_insert((-1.0, n, 1.0));
        e.2 *= 1.0 - score;
        if score > e.0 {
            e.0 = score;
            e.1 = n;
        }
    }
    let mut next = Vec::with_capacity(found.len());
    for (to, (_, n, miss)) in found {
        let (from, _, _, edge) = hops[n];
        let via = Some((from, edge));
        let score = 1.0 - miss;
        reached.insert(to, Reach { depth, score, via });
        next.push(to);
    }
    next.sort_by_key(|n| cases.id(*n));
    Ok(next)
}

/// The hops through indicators the frontier's cases hold: each indicator met for the first
/// time that another case holds too is checked once (warning list, then fan-out) and followed
/// or reported.
fn shared_indicators(
    conn: &mut DbConnection,
    frontier: &[u32],
    walk: &Walk<'_>,
    met: &mut Met,
) -> Result<Vec<Hop>> {
    let keys = frontier.iter().map(|n| met.cases.id(*n));
    // indicator -> (holders, version of its holdings)
    let mut counts: FxHashMap<u32, (i64, i64)> = FxHashMap::default();
    let held: Vec<(u32, u32, f64)> = shared_holdings(conn, keys)?
        .into_iter()
        .map(
            |SharedHolding {
                 held,
                 holders,
                 version,
             }| {
                let w = weight(held.confirmed);
                let i = met.indicators.number(held.indicator_id);
                counts.insert(i, (holders, version));
                (met.cases.number(held.case_id), i, w)
            },
        )
        .collect();
    let fresh: Vec<u32> = counts
        .keys()
        .copied()
        .filter(|i| !met.followed.contains(i) && !met.not_followed.contains_key(i))
        .collect();
    let mut follow: Vec<u32> = Vec::new();
    let keys = fresh.iter().map(|n| met.indicators.id(*n));
    for s in walk.descriptions.of(conn, keys)? {
        let i = met.indicators.number(s.id);
        let (n, _) = counts.get(&i).copied().unwrap_or_default();
        let (reason, cases, list) = if let Some(list) = walk.warnings.warns(&s.indicator()) {
            ("warning_list", None, Some(list.to_owned()))
        } else if n > walk.fan_out {
            ("fan_out", Some(n), None)
        } else {
            met.followed.insert(i);
            follow.push(i);
            met.known.insert(i, s);
            continue;
        };
        let why = NotFollowed {
            indicator: s.clone(),
            reason,
            cases,
            list,
        };
        met.not_followed.insert(i, why);
        met.known.insert(i, s);
    }
    let wanted = follow.iter().map(|i| {
        let (_, version) = counts.get(i).copied().unwrap_or_default();
        (met.indicators.id(*i), version)
    });
    let mut holders: FxHashMap<u32, Vec<(u32, f64)>> = FxHashMap::default();
    for (id, list) in walk.holders.of(conn, wanted)? {
        let i = met.indicators.number(id);
        let cases = list
            .iter()
            .map(|(case, confirmed)| (met.cases.number(*case), weight(*confirmed)))
            .collect();
        holders.insert(i, cases);
    }
    let mut hops = Vec::new();
    for (from, i, from_w) in held {
        for (to, to_w) in holders.get(&i).into_iter().flatten() {
            if *to != from {
                hops.push((from, *to, f64::min(from_w, *to_w), Edge::Indicator(i)));
            }
        }
    }
    Ok(hops)
}

/// The hops through the links of the frontier's cases, read from the frontier's side: two
/// index searches (one per end) rather than one scan of every link for either end.
fn link_hops(
    conn: &mut DbConnection,
    frontier: &[u32],
    cases: &mut Numbering<CaseId>,
) -> Result<Vec<Hop>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        from_id: CaseId,
        #[diesel(sql_type = diesel::sql_types::Text)]
        to_id: CaseId,
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        outgoing: bool,
    }
    let ids: Vec<CaseId> = frontier.iter().map(|n| cases.id(*n)).collect();
    let mut sql = Sql::default();
    sql.push(
        "SELECT case_id AS from_id, target_id AS to_id, kind, TRUE AS outgoing \
         FROM case_links WHERE case_id",
    )
    .in_ids(&ids)
    .push(
        " UNION ALL SELECT target_id AS from_id, case_id AS to_id, kind, FALSE AS outgoing \
         FROM case_links WHERE target_id",
    )
    .in_ids(ids);
    let mut hops = Vec::new();
    for r in sql.load::<Row>(conn)? {
        let kind = stored(LinkKind::parse(&r.kind))?;
        let kind = if r.outgoing { kind } else { kind.inverse() };
        let (from, to) = (cases.number(r.from_id), cases.number(r.to_id));
        hops.push((from, to, kind.weight(), Edge::Link(kind)));
    }
    Ok(hops)
}

/// A holding of the frontier's, of an indicator other cases hold too, with how many hold it.
#[derive(QueryableByName)]
struct SharedHolding {
    #[diesel(embed)]
    held: Holding,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    holders: i64,
    /// The version of the indicator's holdings (see [`KeptHolders`]).
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    version: i64,
}

/// How strongly a holding ties its case to the indicator: a confirmed indicator more than a
/// candidate.
fn weight(confirmed: bool) -> f64 {
    if confirmed {
        0.7
    } else {
        0.4
    }
}

/// The holdings (not false positive) of these cases whose indicator another case holds too,
/// each with the number of holders (false positives not counted; the database keeps it in
/// `indicator_holders`, see its migration), in one query however many cases there are. An
/// indicator only its own case holds leads nowhere: most of a walk's are such (nineteen in
/// twenty at 100,000 cases), and the index of shared counts leaves them out at no cost; they
/// are neither followed nor reported as not followed.
fn shared_holdings(
    conn: &mut DbConnection,
    cases: impl IntoIterator<Item = CaseId>,
) -> Result<Vec<SharedHolding>> {
    let mut sql = Sql::default();
    sql.push("SELECT ci.case_id, ci.indicator_id, ci.state = ")
        .bind(Bind::Text(IndicatorState::Confirmed.as_str().to_owned()))
        .push(
            " AS confirmed, h.holders, h.version FROM case_indicators ci JOIN indicator_holders h \
             ON h.indicator_id = ci.indicator_id AND h.holders > 1 WHERE ci.case_id",
        )
        .in_ids(cases)
        .push(" AND ci.state <> ")
        .bind(Bind::Text(
            IndicatorState::FalsePositive.as_str().to_owned(),
        ));
    sql.load(conn)
}

/// The answered cases with their strongest paths spelled out, reading the briefs of those
/// cases and of the cases their paths pass through in one query.
fn spell_out(
    conn: &mut DbConnection,
    start: &CaseBrief,
    who: &Principal,
    order: &[(u32, &Reach)],
    reached: &FxHashMap<u32, Reach>,
    met: &Met,
) -> Result<Vec<Related>> {
    // Each answered case's chain back to the start: (from, to, step), nearest the start first.
    let chains: Vec<Vec<(u32, u32, Edge)>> = order
        .iter()
        .map(|(n, _)| {
            let mut chain = Vec::new();
            let mut at = *n;
            while let Some((from, edge)) = reached.get(&at).and_then(|r| r.via) {
                chain.push((from, at, edge));
                at = from;
            }
            chain.reverse();
            chain
        })
        .collect();
    let wanted: FxHashSet<CaseId> = chains
        .iter()
        .flatten()
        .map(|(_, to, _)| met.cases.id(*to))
        .collect();
    let mut briefs = visible_briefs(conn, wanted, who)?;
    briefs.insert(start.id, start.clone());
    let brief = |n: u32| briefs.get(&met.cases.id(n));
    let mut related = Vec::with_capacity(order.len());
    for ((n, r), chain) in order.iter().zip(chains) {
        let mut path = Vec::with_capacity(chain.len());
        for (from, to, edge) in chain {
            let (Some(from), Some(to)) = (brief(from), brief(to)) else {
                continue;
            };
            let (from, to) = (from.reference, to.reference);
            path.push(match edge {
                Edge::Link(kind) => Step::Link { from, to, kind },
                Edge::Indicator(i) => match met.known.get(&i) {
                    Some(indicator) => Step::Indicator {
                        from,
                        to,
                        indicator: indicator.clone(),
                    },
                    None => continue,
                },
            });
        }
        let Some(case) = brief(*n) else {
            continue;
        };
        related.push(Related {
            explanation: explain(&path),
            case: case.clone(),
            depth: r.depth,
            score: (r.score * 1000.0).round() / 1000.0,
            path,
        });
    }
    Ok(related)
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
