//! What correlation walks have read of the indicators they met, kept between walks.

use diesel::prelude::*;
use helpline_domain::ids::IndicatorId;
use rustc_hash::FxHashMap;

use super::StoredIndicator;
use crate::sql::Sql;
use crate::{DbConnection, Result};

/// The indicators' kind and value, kept between walks as they are read. An indicator is never
/// changed nor deleted once stored (cases' holdings of it are), so what was read stays true on
/// every node; the shared ones — the only ones a walk describes — are a few tens of thousands
/// at 100,000 cases, and each two-step walk used to read about seventy of them again.
pub struct Descriptions {
    kept: std::sync::RwLock<FxHashMap<IndicatorId, StoredIndicator>>,
    capacity: usize,
}

/// Counts only: the values are the helpline's data, never for a log.
impl std::fmt::Debug for Descriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.kept.read().map_or(0, |k| k.len());
        f.debug_struct("Descriptions").field("kept", &kept).finish()
    }
}

impl Descriptions {
    /// Keeps at most `capacity` indicators (about 100 bytes each); when full, starts again.
    pub fn new(capacity: usize) -> Self {
        Descriptions {
            kept: std::sync::RwLock::default(),
            capacity,
        }
    }

    /// These indicators, from those kept and, for the others, from the database.
    pub(crate) fn of(
        &self,
        conn: &mut DbConnection,
        ids: impl IntoIterator<Item = IndicatorId>,
    ) -> Result<Vec<StoredIndicator>> {
        let mut found = Vec::new();
        let mut unknown = Vec::new();
        {
            let kept = self.kept.read().unwrap_or_else(|p| p.into_inner());
            for id in ids {
                match kept.get(&id) {
                    Some(s) => found.push(s.clone()),
                    None => unknown.push(id),
                }
            }
        }
        if unknown.is_empty() {
            return Ok(found);
        }
        let read = describe(conn, unknown)?;
        let mut kept = self.kept.write().unwrap_or_else(|p| p.into_inner());
        if kept.len() + read.len() > self.capacity {
            kept.clear();
        }
        for s in &read {
            kept.insert(s.id, s.clone());
        }
        drop(kept);
        found.extend(read);
        Ok(found)
    }
}

/// Indicators by id, in one query however many there are.
fn describe(
    conn: &mut DbConnection,
    ids: impl IntoIterator<Item = IndicatorId>,
) -> Result<Vec<StoredIndicator>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let mut sql = Sql::default();
    sql.push("SELECT i.id, i.kind, i.value FROM indicators i WHERE i.id")
        .in_ids(ids);
    sql.load::<Row>(conn)?
        .into_iter()
        .map(|r| StoredIndicator::from_row((r.id, r.kind, r.value)))
        .collect()
}
