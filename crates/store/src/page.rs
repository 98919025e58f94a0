//! Keyset pagination with opaque cursors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::StoreError;
use helpline_domain::DomainError;

/// One page of results and the cursor for the next, if there is one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// The items, in the requested order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Where a page starts: after the item with this sort key and id. Opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The secondary sort key (a timestamp) when sorting by something other than the id.
    #[serde(rename = "k", skip_serializing_if = "Option::is_none", default)]
    pub key: Option<chrono::NaiveDateTime>,
    /// The id of the last item of the previous page.
    #[serde(rename = "i")]
    pub id: String,
    /// Results already handed out, for orders without a key (ranked search); in a timeline,
    /// the rank of the last entry's kind.
    #[serde(rename = "o", skip_serializing_if = "Option::is_none", default)]
    pub offset: Option<i64>,
}

impl Cursor {
    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads back a cursor, refusing anything Helpline did not hand out.
    pub fn decode(s: &str) -> Result<Cursor, StoreError> {
        let bad = || {
            StoreError::Domain(DomainError::invalid(
                "cursor",
                "not a cursor this server handed out",
            ))
        };
        if s.len() > 512 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        // An id, or an id and the word that breaks ties under it (a party's role on a case).
        let (id, tie) = c.id.split_once('/').unwrap_or((c.id.as_str(), "a"));
        uuid::Uuid::try_parse(id).map_err(|_| bad())?;
        if tie.is_empty()
            || tie.len() > 40
            || !tie.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            return Err(bad());
        }
        Ok(c)
    }
}

/// Filters a boxed query ordered by (`$at`, `$id`) to the rows after a cursor holding that
/// time as its key (see [`after_time`]).
macro_rules! after_time_and_id {
    ($q:expr, $at:expr, $id:expr, $cursor:expr) => {
        match $cursor {
            Some($crate::page::Cursor {
                key: Some(at), id, ..
            }) => $q.filter($at.gt(*at).or($at.eq(*at).and($id.gt(id.clone())))),
            _ => $q,
        }
    };
}
pub(crate) use after_time_and_id;

/// The cursor after an item ordered by its id alone.
pub(crate) fn after_id(id: impl ToString) -> Cursor {
    Cursor {
        key: None,
        id: id.to_string(),
        offset: None,
    }
}

/// The cursor after an item ordered by (time, id).
pub(crate) fn after_time(at: chrono::DateTime<chrono::Utc>, id: impl ToString) -> Cursor {
    Cursor {
        key: Some(crate::convert::to_db(at)),
        id: id.to_string(),
        offset: None,
    }
}

/// The limit that reads a whole list through its paged query, for the few readers that need
/// all of it at once (a beneficiary's data-protection export, a reply choosing a key).
pub(crate) const ALL: i64 = i64::MAX - 1;

/// Cuts `limit + 1` fetched rows down to a page, with a cursor when there is more.
pub(crate) fn paginate<T>(
    mut rows: Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> Cursor,
) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(|r| cursor_of(r).encode())
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let c = Cursor {
            key: None,
            id: "0192f3a0-0000-7000-8000-000000000000".into(),
            offset: None,
        };
        assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
        for bad in ["", "!!", "e30", "eyJpIjoiMSJ9"] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
    }
}
