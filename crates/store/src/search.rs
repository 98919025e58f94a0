//! Full-text search over cases: one document per case (summary, description, message subjects
//! and bodies, comments), its words folded by `domain::search`, kept in SQLite FTS5 or in a
//! Postgres `tsvector` with a GIN index, ranked by bm25 or `ts_rank`.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};
use helpline_domain::access::Principal;
use helpline_domain::case::Case;
use helpline_domain::ids::CaseId;
use helpline_domain::search::{document, snippet, Query};
use serde::Serialize;

use crate::cases::{where_clause, Bind, CaseFilter, Sql};
use crate::page::{paginate, Cursor};
use crate::schema::{cases as c, comments, messages};
use crate::{DbConnection, Page, Result, Tx};

/// Most bytes of folded words indexed per case: Postgres refuses a `tsvector` over 1 MB, and
/// what matters of a case is rarely past its first half-megabyte of text.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// The texts of a case, in the order a snippet is looked for: summary, description, messages
/// (subject and body), comments.
fn texts(conn: &mut DbConnection, case: CaseId) -> Result<Vec<String>> {
    let (summary, description): (String, String) = c::table
        .find(case.to_string())
        .select((c::summary, c::description))
        .first(conn)?;
    let mut out = vec![summary, description];
    let msgs: Vec<(Option<String>, String)> = messages::table
        .filter(messages::case_id.eq(case.to_string()))
        .order(messages::occurred_at.asc())
        .select((messages::subject, messages::body))
        .load(conn)?;
    for (subject, body) in msgs {
        out.extend(subject);
        out.push(body);
    }
    let notes: Vec<String> = comments::table
        .filter(comments::case_id.eq(case.to_string()))
        .order(comments::created_at.asc())
        .select(comments::body)
        .load(conn)?;
    out.extend(notes);
    Ok(out)
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

/// Writes a case's search document (replacing the one before).
pub(crate) fn put(conn: &mut DbConnection, reference: i64, doc: &str) -> Result<()> {
    match conn {
        DbConnection::Sqlite(_) => {
            diesel::sql_query("DELETE FROM case_search WHERE rowid = $1")
                .bind::<BigInt, _>(reference)
                .execute(conn)?;
            diesel::sql_query("INSERT INTO case_search (rowid, body) VALUES ($1, $2)")
                .bind::<BigInt, _>(reference)
                .bind::<Text, _>(doc)
                .execute(conn)?;
        }
        DbConnection::Pg(_) => {
            diesel::sql_query(
                "INSERT INTO case_search (ref, doc) VALUES ($1, to_tsvector('simple', $2)) \
                 ON CONFLICT (ref) DO UPDATE SET doc = EXCLUDED.doc",
            )
            .bind::<BigInt, _>(reference)
            .bind::<Text, _>(doc)
            .execute(conn)?;
        }
    }
    Ok(())
}

/// Writes many new documents at once (bulk loads: the seeding).
pub(crate) fn put_many(conn: &mut DbConnection, docs: &[(i64, String)]) -> Result<()> {
    if docs.is_empty() {
        return Ok(());
    }
    let pg = matches!(conn, DbConnection::Pg(_));
    let mut sql = Sql::default();
    sql.push(if pg {
        "INSERT INTO case_search (ref, doc) VALUES "
    } else {
        "INSERT INTO case_search (rowid, body) VALUES "
    });
    for (i, (r, d)) in docs.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" })
            .bind(Bind::Int(*r))
            .push(if pg { ", to_tsvector('simple', " } else { ", " })
            .bind(Bind::Text(d.clone()))
            .push(if pg { "))" } else { ")" });
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

/// Rebuilds the search document of a case from its texts, in the caller's transaction.
pub fn reindex(tx: &mut Tx<'_>, case: CaseId) -> Result<()> {
    let reference: i64 = c::table
        .find(case.to_string())
        .select(c::reference)
        .first(tx.conn)?;
    let t = texts(tx.conn, case)?;
    let doc = folded(t.iter().map(String::as_str));
    put(tx.conn, reference, &doc)
}

/// Rebuilds every case's document, a batch per transaction; for databases from before search
/// existed. Returns how many cases were indexed.
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
                    reindex(tx, crate::convert::stored(CaseId::parse(id))?)?;
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
    /// Relevance: higher is better (bm25 on SQLite, `ts_rank` on Postgres; compare only
    /// within one answer).
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

/// Cases the caller may see that hold every word of `q`, with the list's filters, best first,
/// a page at a time.
pub fn search(
    conn: &mut DbConnection,
    who: &Principal,
    f: &CaseFilter,
    q: &Query,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Page<Hit>> {
    let offset = cursor.and_then(|c| c.offset).unwrap_or(0).max(0);
    let mut sql = Sql::default();
    match conn {
        DbConnection::Sqlite(_) => {
            // bm25 is lower for better matches; negated so that higher is better everywhere.
            sql.push(
                "SELECT c.id, -s.rank AS score FROM (SELECT rowid AS r, rank FROM case_search \
                 WHERE case_search MATCH ",
            )
            .bind(Bind::Text(q.fts5()))
            .push(") s JOIN cases c ON c.ref = s.r WHERE 1 = 1");
        }
        DbConnection::Pg(_) => {
            sql.push("SELECT c.id, ts_rank(s.doc, q.q)::float8 AS score FROM case_search s, ")
                .push("plainto_tsquery('simple', ")
                .bind(Bind::Text(q.plain()))
                .push(") q(q), cases c WHERE s.doc @@ q.q AND c.ref = s.ref");
        }
    }
    where_clause(&mut sql, who, f);
    sql.push(" ORDER BY score DESC, c.id DESC LIMIT ")
        .bind(Bind::Int(limit + 1))
        .push(" OFFSET ")
        .bind(Bind::Int(offset));
    let rows: Vec<Scored> = sql.load(conn)?;
    let mut hits = Vec::with_capacity(rows.len());
    for (i, r) in rows.into_iter().enumerate() {
        let case = crate::cases::locate(
            conn,
            helpline_domain::case::CaseLocator::Id(crate::convert::stored(CaseId::parse(&r.id))?),
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
            score: r.score,
            snippet,
        });
    }
    Ok(paginate(hits, limit, |h| Cursor {
        key: None,
        id: h.case.id.to_string(),
        offset: Some(offset + limit),
    }))
}
