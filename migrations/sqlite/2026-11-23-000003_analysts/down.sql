DROP TABLE case_merges;
ALTER TABLE cases DROP COLUMN merged_into;
DROP TABLE custody_events;
ALTER TABLE evidence DROP COLUMN tlp;
DROP TABLE case_links;
DROP TABLE case_indicators;
DROP TABLE indicators;
