//! The cases holding each shared indicator, as correlation walks read them, kept between walks.

use std::sync::{Arc, RwLock};

use diesel::prelude::*;
use helpline_domain::ids::{CaseId, IndicatorId};
use helpline_domain::indicator::IndicatorState;
use rustc_hash::FxHashMap;

use crate::sql::{Bind, Sql};
use crate::{DbConnection, Result};

/// The cases holding an indicator (false positives aside), each with whether it confirmed it.
pub(crate) type HolderList = Arc<[(CaseId, bool)]>;

/// The holders of the indicators walks followed, each list kept under the version of the
/// indicator's holdings it was read at. The database moves that version on every change to
/// the holdings (see the `holders_version` migration), and a walk reads it with the count it
/// already reads, so a list is used only while it is still true, on every node, with no
/// message between them. A two-step walk used to read ~650 holdings a page again; the shared
/// indicators of 100,000 cases are a few tens of thousands, each followed only when held by
/// no more than the fan-out limit.
pub struct KeptHolders {
    kept: RwLock<Kept>,
    capacity: usize,
}

#[derive(Default)]
struct Kept {
    lists: FxHashMap<IndicatorId, (i64, HolderList)>,
    /// Holdings in every list: what the capacity bounds.
    holdings: usize,
}

/// Counts only: which cases hold what is the helpline's data, never for a log.
impl std::fmt::Debug for KeptHolders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (lists, holdings) = self
            .kept
            .read()
            .map_or((0, 0), |k| (k.lists.len(), k.holdings));
        f.debug_struct("KeptHolders")
            .field("lists", &lists)
            .field("holdings", &holdings)
            .finish()
    }
}

impl KeptHolders {
    /// Keeps at most `capacity` holdings in all (about 20 bytes each); when full, starts again.
    pub fn new(capacity: usize) -> Self {
        KeptHolders {
            kept: RwLock::default(),
            capacity,
        }
    }

    /// The holders of these indicators, each named with the version of its holdings the walk
    /// has just read: from those kept at that version and, for the others, from the database.
    /// An indicator no case holds any more is absent from the answer.
    pub(crate) fn of(
        &self,
        conn: &mut DbConnection,
        wanted: impl IntoIterator<Item = (IndicatorId, i64)>,
    ) -> Result<FxHashMap<IndicatorId, HolderList>> {
        let mut found = FxHashMap::default();
        let mut unknown: FxHashMap<IndicatorId, i64> = FxHashMap::default();
        {
            let kept = self.kept.read().unwrap_or_else(|p| p.into_inner());
            for (id, version) in wanted {
                match kept.lists.get(&id) {
                    Some((v, list)) if *v == version => {
                        found.insert(id, list.clone());
                    }
                    _ => {
                        unknown.insert(id, version);
                    }
                }
            }
        }
        if unknown.is_empty() {
            return Ok(found);
        }
        let mut read: FxHashMap<IndicatorId, Vec<(CaseId, bool)>> = FxHashMap::default();
        for h in holders_of(conn, unknown.keys().copied())? {
            read.entry(h.indicator_id)
                .or_default()
                .push((h.case_id, h.confirmed));
        }
        let mut kept = self.kept.write().unwrap_or_else(|p| p.into_inner());
        let adding: usize = read.values().map(Vec::len).sum();
        if kept.holdings + adding > self.capacity {
            kept.lists.clear();
            kept.holdings = 0;
        }
        for (id, list) in read {
            let list: HolderList = list.into();
            // The version read before the list: if the holdings changed in between, the list
            // is newer than its label, and the version every later walk reads is newer still,
            // so it is never used for older holdings than it shows.
            let version = unknown.get(&id).copied().unwrap_or_default();
            kept.holdings += list.len();
            if let Some((_, old)) = kept.lists.insert(id, (version, list.clone())) {
                kept.holdings -= old.len();
            }
            found.insert(id, list);
        }
        Ok(found)
    }
}

/// One case holding one indicator, in a state other than false positive.
#[derive(QueryableByName)]
pub(super) struct Holding {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(super) case_id: CaseId,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(super) indicator_id: IndicatorId,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub(super) confirmed: bool,
}

/// The holdings (not false positive) of these indicators, in one query however many there are.
fn holders_of(
    conn: &mut DbConnection,
    indicators: impl IntoIterator<Item = IndicatorId>,
) -> Result<Vec<Holding>> {
    let mut sql = Sql::default();
    sql.push("SELECT ci.case_id, ci.indicator_id, ci.state = ")
        .bind(Bind::Text(IndicatorState::Confirmed.as_str().to_owned()))
        .push(" AS confirmed FROM case_indicators ci WHERE ci.indicator_id")
        .in_ids(indicators)
        .push(" AND ci.state <> ")
        .bind(Bind::Text(
            IndicatorState::FalsePositive.as_str().to_owned(),
        ));
    sql.load(conn)
}
