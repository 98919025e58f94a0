-- A staff member's TOTP secret (RFC 6238). Unconfirmed until a first code proves the
-- authenticator holds it. `last_step` is the last time step accepted: a code is good once.
CREATE TABLE second_factors (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    secret TEXT NOT NULL,
    confirmed_at TIMESTAMP,
    last_step BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- One-time codes for a lost authenticator, kept as SHA-256 hashes (each is 80 random bits).
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP,
    PRIMARY KEY (user_id, code_hash)
);

-- Access tokens issued before this instant are refused (set when an account is deactivated).
CREATE TABLE session_cutoffs (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    not_before TIMESTAMP NOT NULL
);
