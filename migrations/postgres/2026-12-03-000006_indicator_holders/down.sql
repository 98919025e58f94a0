DROP TRIGGER case_indicators_holders_update ON case_indicators;
DROP TRIGGER case_indicators_holders_delete ON case_indicators;
DROP TRIGGER case_indicators_holders_insert ON case_indicators;
DROP FUNCTION case_indicators_count_holders();
DROP TABLE indicator_holders;
