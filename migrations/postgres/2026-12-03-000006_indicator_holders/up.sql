-- How many cases hold each indicator (false positives not counted), kept by the database
-- itself on every insert, delete and change of a holding, whichever code path makes it (a
-- mail's extraction, an analyst, a merge, retention). Correlation checks thousands of
-- indicators a walk against the fan-out limit: a row read instead of a count each. A table of
-- its own, so that a bulk load writes narrow count rows rather than new versions of every
-- indicator. No row means no holder.
-- Statement-level triggers: a bulk insert updates each count once, not once per row. A bulk
-- load that counts at its end (the demo seeder) sets `helpline.defer_holders` for its
-- transaction only (`SET LOCAL`), and the triggers leave the counting to it.
CREATE TABLE indicator_holders (
    indicator_id TEXT PRIMARY KEY NOT NULL,
    holders BIGINT NOT NULL
);

INSERT INTO indicator_holders (indicator_id, holders)
SELECT indicator_id, count(*) FROM case_indicators
WHERE state <> 'false_positive' GROUP BY indicator_id;

CREATE FUNCTION case_indicators_count_holders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('helpline.defer_holders', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO indicator_holders AS h (indicator_id, holders)
        SELECT indicator_id, count(*) FROM new_rows
        WHERE state <> 'false_positive' GROUP BY indicator_id
        ON CONFLICT (indicator_id) DO UPDATE SET holders = h.holders + excluded.holders;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE indicator_holders h SET holders = h.holders - d.n FROM (
            SELECT indicator_id, count(*) AS n FROM old_rows
            WHERE state <> 'false_positive' GROUP BY indicator_id
        ) d WHERE h.indicator_id = d.indicator_id;
    ELSE
        INSERT INTO indicator_holders AS h (indicator_id, holders)
        SELECT indicator_id, sum(n) FROM (
            SELECT indicator_id, -1 AS n FROM old_rows WHERE state <> 'false_positive'
            UNION ALL
            SELECT indicator_id, 1 AS n FROM new_rows WHERE state <> 'false_positive'
        ) x GROUP BY indicator_id HAVING sum(n) <> 0
        ON CONFLICT (indicator_id) DO UPDATE SET holders = h.holders + excluded.holders;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER case_indicators_holders_insert AFTER INSERT ON case_indicators
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION case_indicators_count_holders();

CREATE TRIGGER case_indicators_holders_delete AFTER DELETE ON case_indicators
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION case_indicators_count_holders();

CREATE TRIGGER case_indicators_holders_update AFTER UPDATE ON case_indicators
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION case_indicators_count_holders();
