-- Every text column of Helpline's compares and orders its bytes, as SQLite does. Under a
-- cluster's locale (e.g. C.UTF-8) PostgreSQL compared ids with strcoll in every index descent,
-- join and sort (~7% of its CPU on the two-step related page, a quarter of the leads' queue's
-- sort); ids, addresses, names and states need no language's order, and both backends now
-- order alike. All columns at once: two columns of different collations cannot be compared.
-- A test checks that every text column stays so (new tables must say COLLATE "C").

-- These triggers name columns they watch, which PostgreSQL will not retype under them.
DROP TRIGGER users_auth_epoch ON users;
DROP TRIGGER api_tokens_auth_epoch ON api_tokens;

DO $$
DECLARE t record;
BEGIN
    FOR t IN
        SELECT c.table_name,
               string_agg(format('ALTER COLUMN %I TYPE text COLLATE "C"', c.column_name), ', ')
                   AS alters
        FROM information_schema.columns c
        JOIN information_schema.tables USING (table_schema, table_name)
        WHERE c.table_schema = current_schema() AND table_type = 'BASE TABLE'
          AND c.data_type = 'text' AND c.collation_name IS DISTINCT FROM 'C'
          AND c.table_name NOT LIKE '\_\_diesel%'
        GROUP BY c.table_name
    LOOP
        EXECUTE format('ALTER TABLE %I %s', t.table_name, t.alters);
    END LOOP;
END;
$$;

CREATE TRIGGER users_auth_epoch AFTER UPDATE OF role, active ON users
FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER api_tokens_auth_epoch AFTER UPDATE OF scopes, expires_at, revoked_at ON api_tokens
FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
