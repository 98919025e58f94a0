//! Hand-written SQL where diesel's DSL falls short (filters built from many optional parts,
//! search, correlation): text with numbered placeholders and the values bound to them, run on
//! either backend. Values are always bound, never pasted into the text.

use chrono::NaiveDateTime;
use diesel::RunQueryDsl;

use crate::{DbConnection, Result};

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
    /// Runs a statement; returns the rows it changed.
    pub(crate) fn execute(self, conn: &mut DbConnection) -> Result<usize> {
        Ok(self.boxed().execute(conn)?)
    }

    fn boxed(
        self,
    ) -> diesel::query_builder::BoxedSqlQuery<
        'static,
        <DbConnection as diesel::Connection>::Backend,
        diesel::query_builder::SqlQuery,
    > {
        use diesel::sql_types::{BigInt, Bool, Text, Timestamp};
        let mut q = diesel::sql_query(self.text).into_boxed();
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
        Ok(self.boxed().load(conn)?)
    }
}
