-- How many cases hold each indicator (false positives not counted), kept by the database
-- itself on every insert, delete and change of a holding, whichever code path makes it (a
-- mail's extraction, an analyst, a merge, retention). Correlation checks thousands of
-- indicators a walk against the fan-out limit: a column read instead of a count each.
ALTER TABLE indicators ADD COLUMN holders BIGINT NOT NULL DEFAULT 0;

UPDATE indicators SET holders = (
    SELECT count(*) FROM case_indicators ci
    WHERE ci.indicator_id = indicators.id AND ci.state <> 'false_positive'
);

CREATE TRIGGER case_indicators_holders_insert AFTER INSERT ON case_indicators
WHEN NEW.state <> 'false_positive'
BEGIN
    UPDATE indicators SET holders = holders + 1 WHERE id = NEW.indicator_id;
END;

CREATE TRIGGER case_indicators_holders_delete AFTER DELETE ON case_indicators
WHEN OLD.state <> 'false_positive'
BEGIN
    UPDATE indicators SET holders = holders - 1 WHERE id = OLD.indicator_id;
END;

CREATE TRIGGER case_indicators_holders_update AFTER UPDATE OF state, indicator_id ON case_indicators
WHEN (OLD.state <> 'false_positive') <> (NEW.state <> 'false_positive')
    OR OLD.indicator_id <> NEW.indicator_id
BEGIN
    UPDATE indicators SET holders = holders - 1
    WHERE id = OLD.indicator_id AND OLD.state <> 'false_positive';
    UPDATE indicators SET holders = holders + 1
    WHERE id = NEW.indicator_id AND NEW.state <> 'false_positive';
END;
