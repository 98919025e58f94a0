//! Hand-written SQL where diesel's DSL falls short (filters built from many optional parts,
//! search, correlation): text with numbered placeholders and the values bound to them, run on
//! either backend. Values are always bound, never pasted into the text; only our own names
//! (an enum's `as_str`, see [`Sql::name`]) and numbers may be written in.

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
    /// Text or NULL.
    OptText(Option<String>),
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
        self.list(items, |sql, v| sql.bind(Bind::Text(v)))
    }
    /// One of our own names (an enum's `as_str`), written into the text as a quoted literal
    /// rather than bound, so that PostgreSQL's plan for the prepared statement, kept for every
    /// later run after five, knows which statuses or states it filters on (with them bound it
    /// guesses a third of the table and keeps planning each run anew). Only `'static` text
    /// of letters, digits and `_` is written in; anything else is bound, as every value is.
    pub(crate) fn name(&mut self, name: &'static str) -> &mut Self {
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            self.push("'").push(name).push("'")
        } else {
            self.bind(Bind::Text(name.to_owned()))
        }
    }
    /// A parenthesised list of our own names (see [`Sql::name`]).
    pub(crate) fn names(&mut self, names: impl IntoIterator<Item = &'static str>) -> &mut Self {
        self.list(names, Self::name)
    }
    /// A parenthesised, comma-separated list, each item written by `one`.
    fn list<T>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut one: impl FnMut(&mut Self, T) -> &mut Self,
    ) -> &mut Self {
        self.push("(");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            one(self, item);
        }
        self.push(")")
    }
    /// ` IN` a set of ids, bound as one JSON array however many there are (correlation asks
    /// about thousands): a statement with hundreds of placeholders costs more to parse — twice
    /// on SQLite, which prepares it again once the values are bound — than to run. Each
    /// backend reads the array its own way (see [`Sql::render`]).
    pub(crate) fn in_ids<T: serde::Serialize>(
        &mut self,
        ids: impl IntoIterator<Item = T>,
    ) -> &mut Self {
        let ids: Vec<T> = ids.into_iter().collect();
        // A list of strings or ids always serialises.
        let json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_owned());
        self.binds.push(Bind::Text(json));
        self.text
            .push_str(&format!(" {SET}{}{SET}", self.binds.len()));
        self
    }

    /// Runs a statement; returns the rows it changed.
    pub(crate) fn execute(self, conn: &mut DbConnection) -> Result<usize> {
        Ok(self.prepared(conn).execute(conn)?)
    }

    /// The statement for this connection's backend, as diesel runs it.
    fn prepared(self, conn: &DbConnection) -> Prepared {
        let pg = matches!(conn, DbConnection::Pg(_));
        Prepared {
            text: Self::render(self.text, pg),
            binds: self.binds,
        }
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

    /// Runs the query and reads its rows.
    pub(crate) fn load<T>(self, conn: &mut DbConnection) -> Result<Vec<T>>
    where
        T: diesel::deserialize::QueryableByName<<DbConnection as diesel::Connection>::Backend>
            + 'static,
    {
        Ok(self.prepared(conn).load(conn)?)
    }
}

type Db = <DbConnection as diesel::Connection>::Backend;

/// Hand-written SQL as diesel runs it: unlike diesel's `sql_query`, which prepares its
/// statement anew on every run, it is prepared once per connection and kept in diesel's cache
/// under its text (the write path runs the same few statements for every mail, and on SQLite
/// parsing them cost more than running them). The text's `$n` are its binds, in order.
struct Prepared {
    text: String,
    binds: Vec<Bind>,
}

impl diesel::query_builder::QueryId for Prepared {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for Prepared {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::RunQueryDsl<DbConnection> for Prepared {}

impl diesel::query_builder::QueryFragment<Db> for Prepared {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, Db>,
    ) -> diesel::QueryResult<()> {
        use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
        let mut rest = self.text.as_str();
        while let Some(at) = rest.find('$') {
            out.push_sql(&rest[..at]);
            let digits = rest[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            let n: usize = rest[at + 1..at + 1 + digits].parse().unwrap_or(0);
            let bind = n
                .checked_sub(1)
                .and_then(|i| self.binds.get(i))
                .ok_or_else(|| {
                    diesel::result::Error::QueryBuilderError(
                        format!("no value bound for ${n} in: {}", self.text).into(),
                    )
                })?;
            match bind {
                Bind::Text(v) => out.push_bind_param::<Text, _>(v)?,
                Bind::OptText(v) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                Bind::Bool(v) => out.push_bind_param::<Bool, _>(v)?,
                Bind::Time(v) => out.push_bind_param::<Timestamp, _>(v)?,
                Bind::Int(v) => out.push_bind_param::<BigInt, _>(v)?,
            }
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
        Ok(())
    }
}
