-- Failures count within a window (15 minutes from the last one), so that a few typos spread
-- over weeks never add up to a pause; rows keyed "address:<ip>" count failures per source.
ALTER TABLE login_failures ADD COLUMN last_failed_at TIMESTAMP;
