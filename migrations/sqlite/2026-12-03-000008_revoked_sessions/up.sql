-- Staff access tokens given up before they expire (a logout): refused on every node sharing
-- the database until their expiry, then forgotten.
CREATE TABLE revoked_sessions (
    jti TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP NOT NULL
);
CREATE INDEX revoked_sessions_expiry ON revoked_sessions (expires_at);
