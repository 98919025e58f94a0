ALTER TABLE messages DROP COLUMN counterpart;
