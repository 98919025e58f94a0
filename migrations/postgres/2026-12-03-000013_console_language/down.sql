DROP TABLE console_preferences;
