DROP TABLE case_links;
DROP TABLE case_indicators;
DROP TABLE indicators;
