//! The database's shape: text compares and orders by its bytes on both backends.

use diesel::RunQueryDsl;
use helpline_store::DbConnection;
use helpline_tests::{on_both_backends, Backend, TestApp};

#[derive(diesel::QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// Ids are compared in every join and index descent: by bytes they cost a `memcmp`, under a
/// locale a `strcoll`, and two columns of different collations cannot be compared at all on
/// PostgreSQL. So every text column is bytewise, on both backends, and so must new ones be.
fn every_text_column_compares_bytes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let other: Vec<Column> = app
        .store()
        .read(|c| {
            Ok(match c {
                DbConnection::Pg(c) => diesel::sql_query(
                    "SELECT c.table_name || '.' || c.column_name AS name \
                     FROM information_schema.columns c \
                     JOIN information_schema.tables USING (table_schema, table_name) \
                     WHERE c.table_schema = current_schema() AND table_type = 'BASE TABLE' \
                     AND c.data_type IN ('text', 'character varying', 'character') \
                     AND c.collation_name IS DISTINCT FROM 'C' \
                     AND c.table_name NOT LIKE '\\_\\_diesel%'",
                )
                .load(c)?,
                // SQLite's columns are BINARY unless a table says otherwise.
                DbConnection::Sqlite(c) => {
                    diesel::sql_query("SELECT name FROM sqlite_master WHERE sql LIKE '%COLLATE%'")
                        .load(c)?
                }
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let other: Vec<String> = other.into_iter().map(|c| c.name).collect();
    assert!(other.is_empty(), "not bytewise: {other:?}");
}

on_both_backends!(every_text_column_compares_bytes);
