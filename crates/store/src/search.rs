//! Full-text search over cases: one document per case (summary, description, message subjects
//! and bodies, comments), its words folded by `domain::search`, kept in SQLite FTS5 or in a
//! Postgres `tsvector` with a GIN index. SQLite ranks by bm25 over the whole document; Postgres
//! by `ts_rank` over the summary and description, then the newest first (ranking whole
//! documents there reads every matching one: 200 ms for two common words in 100,000 cases).

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};
use helpline_domain::access::Principal;
use helpline_domain::case::Case;
use helpline_domain::ids::CaseId;
use helpline_domain::search::{document, snippet, Query};
use serde::Serialize;

use crate::cases::{where_clause, CaseFilter};
use crate::page::{paginate, Cursor};
use crate::schema::cases as c;
use crate::sql::{Bind, Sql};
use crate::{DbConnection, Page, Result, Tx};

/// Most bytes of folded words indexed per case: Postgres refuses a `tsvector` over 1 MB, and
/// what matters of a case is rarely past its first half-megabyte of text.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

#[derive(QueryableByName)]
struct Text1 {
    #[diesel(sql_type = Text)]
    t: String,
}

/// The case's reference and texts, in the order a snippet is looked for: summary,
/// description, messages (subject and body) in time order, comments in time order.
fn texts_of(conn: &mut DbConnection, case: CaseId) -> Result<(i64, Vec<String>)> {
    let (reference, summary, description): (i64, String, String) = c::table
        .find(case.to_string())
        .select((c::reference, c::summary, c::description))
        .get_result(conn)?;
    // One statement for the log: this runs on the writer for every message.
    let rows: Vec<Text1> = diesel::sql_query(
        "SELECT t FROM (\
         SELECT 0 AS k, occurred_at AS at, id, COALESCE(subject, '') || ' ' || body AS t \
         FROM messages WHERE case_id = $1 \
         UNION ALL SELECT 1 AS k, created_at AS at, id, body AS t FROM comments \
         WHERE case_id = $2) x ORDER BY k, at, id",
    )
    .bind::<Text, _>(case.to_string())
    .bind::<Text, _>(case.to_string())
    .load(conn)?;
    let mut out = Vec::with_capacity(rows.len() + 2);
    out.push(summary);
    out.push(description);
    out.extend(rows.into_iter().map(|r| r.t));
    Ok((reference, out))
}

/// The texts of a case (see [`texts_of`]).
fn texts(conn: &mut DbConnection, case: CaseId) -> Result<Vec<String>> {
    texts_of(conn, case).map(|(_, t)| t)
}

/// The folded document of the given texts, cut at a word boundary to the size limit.
pub fn folded<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut doc = document(texts);
    if doc.len() > MAX_DOCUMENT_BYTES {
        let cut = doc[..MAX_DOCUMENT_BYTES].rfind(' ').unwrap_or(0);
        doc.truncate(cut);
    }
    doc
}

/// Writes a case's search document (replacing the one before); `head` is the folded summary
/// and description, which rank matches on Postgres.
pub(crate) fn put(conn: &mut DbConnection, reference: i64, doc: &str, head: &str) -> Result<()> {
    match conn {
        DbConnection::Sqlite(_) => {
            diesel::sql_query("INSERT OR REPLACE INTO case_search (rowid, body) VALUES ($1, $2)")
                .bind::<BigInt, _>(reference)
                .bind::<Text, _>(doc)
                .execute(conn)?;
        }
        DbConnection::Pg(_) => {
            diesel::sql_query(
                "INSERT INTO case_search (ref, doc, head) VALUES ($1, to_tsvector('simple', $2), \
                 to_tsvector('simple', $3)) \
                 ON CONFLICT (ref) DO UPDATE SET doc = EXCLUDED.doc, head = EXCLUDED.head",
            )
            .bind::<BigInt, _>(reference)
            .bind::<Text, _>(doc)
            .bind::<Text, _>(head)
            .execute(conn)?;
        }
    }
    Ok(())
}

/// Writes many new documents at once (bulk loads: the seeding): (reference, doc, head).
#[cfg(feature = "demo")]
pub(crate) fn put_many(conn: &mut DbConnection, docs: &[(i64, String, String)]) -> Result<()> {
    if docs.is_empty() {
        return Ok(());
    }
    let pg = matches!(conn, DbConnection::Pg(_));
    let mut sql = Sql::default();
    sql.push(if pg {
        "INSERT INTO case_search (ref, doc, head) VALUES "
    } else {
        "INSERT INTO case_search (rowid, body) VALUES "
    });
    for (i, (r, d, h)) in docs.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" })
            .bind(Bind::Int(*r));
        if pg {
            sql.push(", to_tsvector('simple', ")
                .bind(Bind::Text(d.clone()))
                .push("), to_tsvector('simple', ")
                .bind(Bind::Text(h.clone()))
                .push("))");
        } else {
            sql.push(", ").bind(Bind::Text(d.clone())).push(")");
        }
    }
    sql.execute(conn)?;
    Ok(())
}

/// Builds the documents of a database from before search existed, once.
pub fn ensure_index(store: &crate::Store) -> Result<Option<usize>> {
    let done = store.read(|c| crate::workflow::setting(c, "search_index"))?;
    if done.is_some() {
        return Ok(None);
    }
    let n = reindex_all(store)?;
    store.write(
        helpline_domain::user::Actor::System,
        chrono::Utc::now(),
        |tx| crate::workflow::put_setting(tx, "search_index", "1"),
    )?;
    Ok(Some(n))
}

/// Queues the cases whose texts the transaction's work changed (see `Tx::texts_changed`); the
/// writer calls it after each work, in its savepoint. Returns how many were noted.
pub(crate) fn enqueue(tx: &mut Tx<'_>) -> Result<usize> {
    let dirty = std::mem::take(&mut tx.search_dirty);
    for case in &dirty {
        // A new stamp even when the case is queued already: a document built from texts read
        // before this change must not take it off the queue.
        let mut sql = crate::sql::Sql::default();
        sql.push("INSERT INTO search_queue (ref, stamp) SELECT ref, ")
            .bind(crate::sql::Bind::Text(uuid::Uuid::now_v7().to_string()))
            .push(" FROM cases WHERE id = ")
            .bind(crate::sql::Bind::Text(case.to_string()))
            .push(" ON CONFLICT (ref) DO UPDATE SET stamp = excluded.stamp");
        sql.execute(tx.conn)?;
    }
    Ok(dirty.len())
}

#[derive(QueryableByName)]
struct Queued {
    #[diesel(sql_type = BigInt)]
    r: i64,
    #[diesel(sql_type = Text)]
    stamp: String,
}

/// A case's search document, built from its texts as they were read.
#[derive(Debug, Clone)]
pub struct Built {
    reference: i64,
    stamp: String,
    /// (document, head); `None` when the case is gone.
    doc: Option<(String, String)>,
}

/// Reads and folds the documents of up to `limit` queued cases: the costly part of indexing,
/// done on a reader's connection and the indexer's thread, never on the writer.
pub fn build(conn: &mut DbConnection, limit: i64) -> Result<Vec<Built>> {
    let queued: Vec<Queued> =
        diesel::sql_query("SELECT ref AS r, stamp FROM search_queue ORDER BY ref LIMIT $1")
            .bind::<BigInt, _>(limit)
            .load(conn)?;
    let mut out = Vec::with_capacity(queued.len());
    for q in queued {
        let id: Option<String> = c::table
            .filter(c::reference.eq(q.r))
            .select(c::id)
            .get_result(conn)
            .optional()?;
        let doc = match id {
            Some(id) => {
                let (_, t) = texts_of(conn, crate::convert::stored(CaseId::parse(&id))?)?;
                let doc = folded(t.iter().map(String::as_str));
                let head = folded(t.iter().take(2).map(String::as_str));
                Some((doc, head))
            }
            None => None,
        };
        out.push(Built {
            reference: q.r,
            stamp: q.stamp,
            doc,
        });
    }
    Ok(out)
}

/// Writes built documents and takes their cases off the queue, unless a case changed again
/// since its texts were read (its stamp moved on): then it stays queued for the next pass.
/// Writing a document twice (two nodes) writes the same thing: harmless. Answers how many
/// were written.
pub fn store_built(tx: &mut Tx<'_>, built: &[Built]) -> Result<usize> {
    // Several nodes drain one queue on PostgreSQL: each takes only the rows no other
    // transaction holds (a writer queueing the case again, another node's indexer) and leaves
    // the rest for a later pass, so an indexer never waits for a lock, nor deadlocks with a
    // writer that queues cases in another order.
    let mine: Option<std::collections::HashSet<i64>> = match &mut *tx.conn {
        DbConnection::Pg(pg) => {
            let refs: Vec<i64> = built.iter().map(|b| b.reference).collect();
            let rows: Vec<Queued> = diesel::sql_query(
                "SELECT ref AS r, stamp FROM search_queue WHERE ref = ANY($1) ORDER BY ref FOR UPDATE SKIP LOCKED",
            )
            .bind::<diesel::sql_types::Array<BigInt>, _>(refs)
            .load(pg)?;
            Some(rows.into_iter().map(|q| q.r).collect())
        }
        _ => None,
    };
    let mut written = 0;
    for b in built {
        if mine.as_ref().is_some_and(|m| !m.contains(&b.reference)) {
            continue;
        }
        if let Some((doc, head)) = &b.doc {
            put(tx.conn, b.reference, doc, head)?;
        }
        diesel::sql_query("DELETE FROM search_queue WHERE ref = $1 AND stamp = $2")
            .bind::<BigInt, _>(b.reference)
            .bind::<Text, _>(&b.stamp)
            .execute(tx.conn)?;
        written += 1;
    }
    Ok(written)
}

/// Whether documents wait to be rebuilt.
pub fn pending(conn: &mut DbConnection) -> Result<bool> {
    let rows: Vec<Queued> =
        diesel::sql_query("SELECT ref AS r, stamp FROM search_queue LIMIT 1").load(conn)?;
    Ok(!rows.is_empty())
}

/// Cases rebuilt per pass by the indexer.
pub const DRAIN_BATCH: i64 = 256;

/// Most passes of one catch-up: under a steady stream of writes the queue never empties, and a
/// reader waits for what was queued before it came, not for what comes after.
const MAX_PASSES: usize = 64;

/// Rebuilds the queued documents now, a batch per pass (read and fold, then one write); for a
/// reader that must see every committed change (a search, a scrub after retention), and for
/// the indexer. Returns how many were rebuilt.
pub fn catch_up(store: &crate::Store) -> Result<usize> {
    let mut done = 0;
    for _ in 0..MAX_PASSES {
        let built = store.read(|c| build(c, DRAIN_BATCH))?;
        if built.is_empty() {
            break;
        }
        let written = store.write(
            helpline_domain::user::Actor::System,
            chrono::Utc::now(),
            move |tx| store_built(tx, &built),
        )?;
        if written == 0 {
            // Another node's indexer holds them and is about to commit.
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        done += written;
    }
    Ok(done)
}

/// Queues every case's document for rebuilding, a batch per transaction; for databases from
/// before search existed. Returns how many cases were queued.
pub fn reindex_all(store: &crate::Store) -> Result<usize> {
    let mut after = String::new();
    let mut done = 0;
    loop {
        let from = after.clone();
        let ids: Vec<String> = store.read(move |conn| {
            Ok(c::table
                .filter(c::id.gt(from))
                .order(c::id.asc())
                .limit(500)
                .select(c::id)
                .load(conn)?)
        })?;
        let Some(last) = ids.last().cloned() else {
            break;
        };
        done += ids.len();
        store.write(
            helpline_domain::user::Actor::System,
            chrono::Utc::now(),
            move |tx| {
                for id in &ids {
                    tx.texts_changed(crate::convert::stored(CaseId::parse(id))?);
                }
                Ok(())
            },
        )?;
        after = last;
    }
    Ok(done)
}

/// A case found, with how well it matched and where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The case.
    #[serde(flatten)]
    pub case: Case,
    /// Relevance: higher is better (bm25 on SQLite, `ts_rank` of the summary and description
    /// on Postgres; compare only within one answer).
    pub score: f64,
    /// The best passage, matched words in `<mark>`, the rest HTML-escaped.
    pub snippet: Option<String>,
}

#[derive(QueryableByName)]
struct Scored {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Double)]
    score: f64,
}

/// Matches the filters see first (see [`search`]).
const TOP_MATCHES: i64 = 2_000;

/// Cases the caller may see that hold every word of `q`, with the list's filters, best first,
/// a page at a time.
///
/// Long because it writes one statement for two backends (FTS5 and tsvector) with the list's
/// filters and the visibility rule; the backend arms share the filters in between.
pub fn search(
    conn: &mut DbConnection,
    who: &Principal,
    f: &CaseFilter,
    q: &Query,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Hit>> {
    let offset = cursor.and_then(|c| c.offset).unwrap_or(0).max(0);
    // Ranking every match is the index's work and cheap per match; joining every match to its
    // case to apply the filters is not, for common words. So the filters first see the best
    // `TOP_MATCHES` (enough unless fewer than one in 100 passes), and every match only if too
    // few of those pass.
    let mut top = Some(TOP_MATCHES);
    let rows: Vec<Scored> = loop {
        let mut sql = Sql::default();
        match conn {
            DbConnection::Sqlite(_) => {
                // bm25 is lower for better matches; negated so that higher is better everywhere.
                sql.push(
                    "SELECT c.id, s.score FROM (SELECT rowid AS r, -rank AS score FROM case_search \
                     WHERE case_search MATCH ",
                )
                .bind(Bind::Text(q.fts5()))
                .push(" ORDER BY rank, rowid DESC");
            }
            DbConnection::Pg(_) => {
                // Matches whose summary or description holds a word, ranked by ts_rank on
                // those; then every match, newest first. A case in both keeps its rank.
                let cap = top.map_or(String::new(), |k| format!(" LIMIT {k}"));
                sql.push(
                    "SELECT c.id, s.score FROM (SELECT r, max(score) AS score FROM ((\
                     SELECT ref AS r, ts_rank(head, q)::float8 AS score FROM case_search, \
                     plainto_tsquery('simple', ",
                )
                .bind(Bind::Text(q.plain()))
                .push(") q, to_tsquery('simple', ")
                .bind(Bind::Text(q.any()))
                .push(&format!(
                    ") qa WHERE doc @@ q AND head @@ qa ORDER BY score DESC, ref DESC{cap}) \
                     UNION ALL (SELECT ref AS r, 0::float8 AS score FROM case_search, \
                     plainto_tsquery('simple', "
                ))
                .bind(Bind::Text(q.plain()))
                .push(&format!(
                    ") q WHERE doc @@ q ORDER BY ref DESC{cap})) u GROUP BY r \
                     ORDER BY score DESC, r DESC"
                ));
            }
        }
        if let Some(k) = top {
            sql.push(" LIMIT ").bind(Bind::Int(k));
        }
        sql.push(") s JOIN cases c ON c.ref = s.r WHERE 1 = 1");
        where_clause(&mut sql, who, f);
        sql.push(" ORDER BY s.score DESC, c.ref DESC LIMIT ")
            .bind(Bind::Int(limit + 1))
            .push(" OFFSET ")
            .bind(Bind::Int(offset));
        let rows: Vec<Scored> = match conn {
            DbConnection::Sqlite(_) => sql.load(conn)?,
            // The planner would read every matching document in turn rather than the word
            // index when most documents match; the index is always the faster way here.
            DbConnection::Pg(_) => conn.transaction(|c| {
                c.batch_execute("SET LOCAL enable_seqscan = off")?;
                sql.load(c)
            })?,
        };
        match top {
            Some(k) if (rows.len() as i64) < limit + 1 && offset + limit < k => top = None,
            Some(k) if (rows.len() as i64) < limit + 1 => top = Some(k * 4),
            _ => break rows,
        }
    };
    let rows: Vec<(String, f64)> = rows.into_iter().map(|r| (r.id, r.score)).collect();
    let mut hits = Vec::with_capacity(rows.len());
    for (i, (id, score)) in rows.into_iter().enumerate() {
        let case = crate::cases::locate(
            conn,
            helpline_domain::case::CaseLocator::Id(crate::convert::stored(CaseId::parse(&id))?),
        )?;
        // Snippets only for the page handed out (the extra row only says there is more).
        let snippet = if (i as i64) < limit {
            let t = texts(conn, case.id)?;
            snippet(t.iter().map(String::as_str), q)
        } else {
            None
        };
        hits.push(Hit {
            case,
            score,
            snippet,
        });
    }
    Ok(paginate(hits, limit, |h| Cursor {
        key: None,
        id: h.case.id.to_string(),
        offset: Some(offset + limit),
    }))
}
