DROP TRIGGER case_indicators_holders_update;
DROP TRIGGER case_indicators_holders_delete;
DROP TRIGGER case_indicators_holders_insert;

CREATE TRIGGER case_indicators_holders_insert AFTER INSERT ON case_indicators
WHEN NEW.state <> 'false_positive'
BEGIN
    INSERT INTO indicator_holders (indicator_id, holders) VALUES (NEW.indicator_id, 1)
    ON CONFLICT (indicator_id) DO UPDATE SET holders = holders + 1;
END;

CREATE TRIGGER case_indicators_holders_delete AFTER DELETE ON case_indicators
WHEN OLD.state <> 'false_positive'
BEGIN
    UPDATE indicator_holders SET holders = holders - 1 WHERE indicator_id = OLD.indicator_id;
END;

CREATE TRIGGER case_indicators_holders_update AFTER UPDATE OF state, indicator_id ON case_indicators
WHEN (OLD.state <> 'false_positive') <> (NEW.state <> 'false_positive')
    OR OLD.indicator_id <> NEW.indicator_id
BEGIN
    UPDATE indicator_holders SET holders = holders - 1
    WHERE indicator_id = OLD.indicator_id AND OLD.state <> 'false_positive';
    INSERT INTO indicator_holders (indicator_id, holders)
    SELECT NEW.indicator_id, 1 WHERE NEW.state <> 'false_positive'
    ON CONFLICT (indicator_id) DO UPDATE SET holders = holders + 1;
END;

DROP INDEX indicator_holders_shared;
CREATE INDEX indicator_holders_shared ON indicator_holders (indicator_id, holders)
WHERE holders > 1;
ALTER TABLE indicator_holders DROP COLUMN version;
