-- SQLite already compares and orders text by its bytes (the BINARY collation); PostgreSQL's
-- columns are made to do the same in this migration's PostgreSQL twin.
SELECT 1;
