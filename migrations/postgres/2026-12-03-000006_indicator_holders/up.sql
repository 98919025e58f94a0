-- How many cases hold each indicator (false positives not counted), kept by the database
-- itself on every insert, delete and change of a holding, whichever code path makes it (a
-- mail's extraction, an analyst, a merge, retention). Correlation checks thousands of
-- indicators a walk against the fan-out limit: a column read instead of a count each.
-- Statement-level triggers: a bulk insert updates each indicator once, not once per row. A
-- bulk load that recounts at its end (the demo seeder) sets `helpline.defer_holders` for its
-- transaction only (`SET LOCAL`), and the triggers leave the counting to it.
ALTER TABLE indicators ADD COLUMN holders BIGINT NOT NULL DEFAULT 0;

UPDATE indicators SET holders = c.n FROM (
    SELECT indicator_id, count(*) AS n FROM case_indicators
    WHERE state <> 'false_positive' GROUP BY indicator_id
) c WHERE c.indicator_id = indicators.id;

CREATE FUNCTION case_indicators_count_holders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('helpline.defer_holders', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE indicators i SET holders = i.holders + d.n FROM (
            SELECT indicator_id, count(*) AS n FROM new_rows
            WHERE state <> 'false_positive' GROUP BY indicator_id
        ) d WHERE i.id = d.indicator_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE indicators i SET holders = i.holders - d.n FROM (
            SELECT indicator_id, count(*) AS n FROM old_rows
            WHERE state <> 'false_positive' GROUP BY indicator_id
        ) d WHERE i.id = d.indicator_id;
    ELSE
        UPDATE indicators i SET holders = i.holders + d.n FROM (
            SELECT indicator_id, sum(n) AS n FROM (
                SELECT indicator_id, -1 AS n FROM old_rows WHERE state <> 'false_positive'
                UNION ALL
                SELECT indicator_id, 1 AS n FROM new_rows WHERE state <> 'false_positive'
            ) x GROUP BY indicator_id HAVING sum(n) <> 0
        ) d WHERE i.id = d.indicator_id;
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
