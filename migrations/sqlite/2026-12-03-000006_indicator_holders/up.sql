-- How many cases hold each indicator (false positives not counted), kept by the database
-- itself on every insert, delete and change of a holding, whichever code path makes it (a
-- mail's extraction, an analyst, a merge, retention). Correlation checks thousands of
-- indicators a walk against the fan-out limit: a row read instead of a count each. A table of
-- its own, so that a bulk load writes narrow count rows rather than new versions of every
-- indicator. No row means no holder.
CREATE TABLE indicator_holders (
    indicator_id TEXT PRIMARY KEY NOT NULL,
    holders BIGINT NOT NULL
) WITHOUT ROWID;

INSERT INTO indicator_holders (indicator_id, holders)
SELECT indicator_id, count(*) FROM case_indicators
WHERE state <> 'false_positive' GROUP BY indicator_id;

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
