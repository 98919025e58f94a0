-- Correlation keeps the cases holding each shared indicator between walks (the store's
-- `analysis::KeptHolders`); `version` tells a node whether what it kept is still true. It
-- moves whenever a holding of the indicator (false positives aside) is made, removed or
-- changed, whichever code path does it, and is read with the count a walk already reads, from
-- the same index.
ALTER TABLE indicator_holders ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

DROP INDEX indicator_holders_shared;
CREATE INDEX indicator_holders_shared ON indicator_holders (indicator_id, holders, version)
WHERE holders > 1;

DROP TRIGGER case_indicators_holders_update;
DROP TRIGGER case_indicators_holders_delete;
DROP TRIGGER case_indicators_holders_insert;

CREATE TRIGGER case_indicators_holders_insert AFTER INSERT ON case_indicators
WHEN NEW.state <> 'false_positive'
BEGIN
    INSERT INTO indicator_holders (indicator_id, holders) VALUES (NEW.indicator_id, 1)
    ON CONFLICT (indicator_id) DO UPDATE SET holders = holders + 1, version = version + 1;
END;

CREATE TRIGGER case_indicators_holders_delete AFTER DELETE ON case_indicators
WHEN OLD.state <> 'false_positive'
BEGIN
    UPDATE indicator_holders SET holders = holders - 1, version = version + 1
    WHERE indicator_id = OLD.indicator_id;
END;

-- Any change to a holding that is not a false positive before or after it moves the version,
-- even when the count stays (a holding confirmed, or moved to another case by a merge).
CREATE TRIGGER case_indicators_holders_update
AFTER UPDATE OF state, indicator_id, case_id ON case_indicators
WHEN OLD.state <> 'false_positive' OR NEW.state <> 'false_positive'
BEGIN
    UPDATE indicator_holders
    SET holders = holders - (OLD.state <> 'false_positive'), version = version + 1
    WHERE indicator_id = OLD.indicator_id;
    INSERT INTO indicator_holders (indicator_id, holders)
    SELECT NEW.indicator_id, 1 WHERE NEW.state <> 'false_positive'
    ON CONFLICT (indicator_id) DO UPDATE SET holders = holders + 1, version = version + 1;
END;
