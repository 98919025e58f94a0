DROP TRIGGER users_auth_epoch ON users;
DROP TRIGGER api_tokens_auth_epoch ON api_tokens;

DO $$
DECLARE t record;
BEGIN
    FOR t IN
        SELECT c.table_name,
               string_agg(format('ALTER COLUMN %I TYPE text COLLATE "default"', c.column_name), ', ')
                   AS alters
        FROM information_schema.columns c
        JOIN information_schema.tables USING (table_schema, table_name)
        WHERE c.table_schema = current_schema() AND table_type = 'BASE TABLE'
          AND c.data_type = 'text' AND c.collation_name = 'C'
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
