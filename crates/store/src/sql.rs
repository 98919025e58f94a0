//! Hand-written SQL where diesel's DSL falls short (filters built from many optional parts,
//! search, correlation): text with numbered placeholders and the values bound to them, run on
//! either backend. Values are always bound, never pasted into the text.

use chrono::NaiveDateTime;
use diesel::RunQueryDsl;

use crate::{DbConnection, Result};

/// Marks, in the text, where a set bound by [`Sql::in_ids`] goes (its bind number between two
/// marks): never valid SQL, so never confused with the query's own text.
const SET: char = '\u{1}';

/// A value bound into hand-written SQL.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Bool(bool),
    Time(NaiveDateTime),
    Int(i64),
}

/// Hand-written SQL with its binds, numbered `$1, $2, …` in order of appearance (read the same
/// way by SQLite and Postgres).
#[derive(Debug, Clone, Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) binds: Vec<Bind>,
}

impl Sql {
    pub(crate) fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
    pub(crate) fn bind(&mut self, b: Bind) -> &mut Self {
        self.binds.push(b);
        self.text.push_str(&format!("${}", self.binds.len()));
        self
    }
    pub(crate) fn bind_list(&mut self, items: impl IntoIterator<Item = String>) -> &mut Self {
        self.push("(");
        for (i, v) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(Bind::Text(v));
        }
        self.push(")")
    }
    /// ` IN` a set of ids, bound as one JSON array however many there are (correlation asks
    /// about thousands): a statement with hundreds of placeholders costs more to parse — twice
    /// on SQLite, which prepares it again once the values are bound — than to run. Each
    /// backend reads the array its own way (see [`Sql::render`]).
    pub(crate) fn in_ids<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) -> &mut Self {
        let json = serde_json::Value::from(ids.into_iter().collect::<Vec<_>>()).to_string();
        self.binds.push(Bind::Text(json));
        self.text
            .push_str(&format!(" {SET}{}{SET}", self.binds.len()));
        self
    }

    /// Runs a statement; returns the rows it changed.
    pub(crate) fn execute(self, conn: &mut DbConnection) -> Result<usize> {
        let pg = matches!(conn, DbConnection::Pg(_));
        Ok(self.boxed(pg).execute(conn)?)
    }

    /// The text as the backend reads it: a set bound by [`Sql::in_ids`] becomes `IN (SELECT
    /// value FROM json_each($n))` on SQLite, `= ANY(ARRAY(SELECT json_array_elements_text(
    /// $n::json)))` on Postgres (which then plans an index scan over the array).
    fn render(text: String, pg: bool) -> String {
        if !text.contains(SET) {
            return text;
        }
        let mut out = String::with_capacity(text.len() + 64);
        for (i, part) in text.split(SET).enumerate() {
            match (i % 2 == 1, pg) {
                (false, _) => out.push_str(part),
                (true, false) => {
                    out.push_str(&format!("IN (SELECT value FROM json_each(${part}))"))
                }
                (true, true) => out.push_str(&format!(
                    "= ANY(ARRAY(SELECT json_array_elements_text(${part}::json)))"
                )),
            }
        }
        out
    }

    fn boxed(
        self,
        pg: bool,
    ) -> diesel::query_builder::BoxedSqlQuery<
        'static,
        <DbConnection as diesel::Connection>::Backend,
        diesel::query_builder::SqlQuery,
    > {
        use diesel::sql_types::{BigInt, Bool, Text, Timestamp};
        let mut q = diesel::sql_query(Self::render(self.text, pg)).into_boxed();
        for b in self.binds {
            q = match b {
                Bind::Text(v) => q.bind::<Text, _>(v),
                Bind::Bool(v) => q.bind::<Bool, _>(v),
                Bind::Time(v) => q.bind::<Timestamp, _>(v),
                Bind::Int(v) => q.bind::<BigInt, _>(v),
            };
        }
        q
    }

    /// Runs the query and reads its rows.
    pub(crate) fn load<T>(self, conn: &mut DbConnection) -> Result<Vec<T>>
    where
        T: diesel::deserialize::QueryableByName<<DbConnection as diesel::Connection>::Backend>
            + 'static,
    {
        let pg = matches!(conn, DbConnection::Pg(_));
        Ok(self.boxed(pg).load(conn)?)
    }
}
