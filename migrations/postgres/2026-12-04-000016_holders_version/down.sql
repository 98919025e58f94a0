CREATE OR REPLACE FUNCTION case_indicators_count_holders() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP INDEX indicator_holders_shared;
CREATE INDEX indicator_holders_shared ON indicator_holders (indicator_id, holders)
WHERE holders > 1;
ALTER TABLE indicator_holders DROP COLUMN version;
