-- Correlation keeps the cases holding each shared indicator between walks (the store's
-- `analysis::KeptHolders`); `version` tells a node whether what it kept is still true. It
-- moves whenever a holding of the indicator (false positives aside) is made, removed or
-- changed, whichever code path does it, and is read with the count a walk already reads, from
-- the same index: no node is ever told, each one sees.
ALTER TABLE indicator_holders ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

DROP INDEX indicator_holders_shared;
CREATE INDEX indicator_holders_shared ON indicator_holders (indicator_id, holders, version)
WHERE holders > 1;

-- As in `indicator_holders`, with the version moved; an update of holdings moves it for every
-- indicator whose (not false positive) holdings it touched, even when the count stays (a
-- holding confirmed, or moved to another case by a merge).
CREATE OR REPLACE FUNCTION case_indicators_count_holders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('helpline.defer_holders', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO indicator_holders AS h (indicator_id, holders)
        SELECT indicator_id, count(*) FROM new_rows
        WHERE state <> 'false_positive' GROUP BY indicator_id
        ON CONFLICT (indicator_id) DO UPDATE
        SET holders = h.holders + excluded.holders, version = h.version + 1;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE indicator_holders h SET holders = h.holders - d.n, version = h.version + 1 FROM (
            SELECT indicator_id, count(*) AS n FROM old_rows
            WHERE state <> 'false_positive' GROUP BY indicator_id
        ) d WHERE h.indicator_id = d.indicator_id;
    ELSE
        INSERT INTO indicator_holders AS h (indicator_id, holders)
        SELECT indicator_id, sum(n) FROM (
            SELECT indicator_id, -1 AS n FROM old_rows WHERE state <> 'false_positive'
            UNION ALL
            SELECT indicator_id, 1 AS n FROM new_rows WHERE state <> 'false_positive'
        ) x GROUP BY indicator_id
        ON CONFLICT (indicator_id) DO UPDATE
        SET holders = h.holders + excluded.holders, version = h.version + 1;
    END IF;
    RETURN NULL;
END;
$$;
