DROP TABLE custody_events;
ALTER TABLE evidence DROP COLUMN tlp;
DROP TABLE case_links;
DROP TABLE case_indicators;
DROP TABLE indicators;
