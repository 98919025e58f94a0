ALTER TABLE login_failures DROP COLUMN last_failed_at;
