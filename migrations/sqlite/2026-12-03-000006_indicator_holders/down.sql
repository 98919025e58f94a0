DROP TRIGGER case_indicators_holders_update;
DROP TRIGGER case_indicators_holders_delete;
DROP TRIGGER case_indicators_holders_insert;
ALTER TABLE indicators DROP COLUMN holders;
