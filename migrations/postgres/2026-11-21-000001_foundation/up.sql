-- The case record of a helpline. Ids are UUIDv7 as TEXT, times are UTC without zone.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP
);

CREATE TABLE beneficiaries (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    channels TEXT NOT NULL,
    preferred_language TEXT,
    organisation TEXT,
    country TEXT,
    audience TEXT,
    verification TEXT NOT NULL,
    notes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX beneficiaries_audience ON beneficiaries (audience);

-- Email addresses are unique across beneficiaries, compared lower-cased.
CREATE TABLE beneficiary_emails (
    address_norm TEXT PRIMARY KEY NOT NULL,
    address TEXT NOT NULL,
    beneficiary_id TEXT NOT NULL REFERENCES beneficiaries (id),
    position INTEGER NOT NULL
);
CREATE INDEX beneficiary_emails_beneficiary ON beneficiary_emails (beneficiary_id);

CREATE TABLE verifications (
    id TEXT PRIMARY KEY NOT NULL,
    beneficiary_id TEXT NOT NULL REFERENCES beneficiaries (id),
    status TEXT NOT NULL,
    method TEXT,
    vouched_by TEXT,
    note TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TIMESTAMP NOT NULL
);
CREATE INDEX verifications_beneficiary ON verifications (beneficiary_id, decided_at);

CREATE TABLE cases (
    id TEXT PRIMARY KEY NOT NULL,
    ref BIGINT NOT NULL UNIQUE,
    beneficiary_id TEXT NOT NULL REFERENCES beneficiaries (id),
    status TEXT NOT NULL,
    urgency TEXT NOT NULL,
    impact TEXT NOT NULL,
    priority TEXT NOT NULL,
    priority_overridden BOOLEAN NOT NULL,
    summary TEXT NOT NULL,
    description TEXT NOT NULL,
    service_type TEXT NOT NULL,
    -- JSON array of the tags, so that a case reads in one row; case_tags indexes them.
    tags TEXT NOT NULL,
    assignee_id TEXT REFERENCES users (id),
    confidential BOOLEAN NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    first_response_at TIMESTAMP,
    resolved_at TIMESTAMP,
    closed_at TIMESTAMP,
    version BIGINT NOT NULL
);
CREATE INDEX cases_status ON cases (status, id);
CREATE INDEX cases_assignee ON cases (assignee_id, id);
CREATE INDEX cases_beneficiary ON cases (beneficiary_id, id);
CREATE INDEX cases_updated ON cases (updated_at, id);
CREATE INDEX cases_created ON cases (created_at);

CREATE TABLE case_tags (
    case_id TEXT NOT NULL REFERENCES cases (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (case_id, tag)
);
CREATE INDEX case_tags_tag ON case_tags (tag, case_id);

-- Who was granted access to a confidential case beyond its assignee and the leads.
CREATE TABLE case_access (
    case_id TEXT NOT NULL REFERENCES cases (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    granted_by TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_access_user ON case_access (user_id, case_id);

CREATE TABLE parties (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    emails TEXT NOT NULL,
    contact TEXT NOT NULL,
    notes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);

CREATE TABLE messages (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    direction TEXT NOT NULL,
    channel TEXT NOT NULL,
    party_id TEXT REFERENCES parties (id),
    subject TEXT,
    body TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX messages_case ON messages (case_id, occurred_at);

CREATE TABLE comments (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX comments_case ON comments (case_id, created_at);

CREATE TABLE actions (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    performed_by TEXT NOT NULL,
    performed_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX actions_case ON actions (case_id, performed_at);

CREATE TABLE next_steps (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    title TEXT NOT NULL,
    assignee_id TEXT REFERENCES users (id),
    due_at TIMESTAMP,
    done BOOLEAN NOT NULL,
    done_at TIMESTAMP,
    done_by TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX next_steps_case ON next_steps (case_id, created_at);

CREATE TABLE case_parties (
    case_id TEXT NOT NULL REFERENCES cases (id),
    party_id TEXT NOT NULL REFERENCES parties (id),
    role TEXT NOT NULL,
    note TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, party_id, role)
);
CREATE INDEX case_parties_party ON case_parties (party_id);

-- Append-only, hash-chained: each event's hash covers the one before (see domain::audit).
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY NOT NULL,
    id TEXT NOT NULL UNIQUE,
    occurred_at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    case_id TEXT,
    changes TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_case ON audit_events (case_id, seq);
CREATE INDEX audit_events_entity ON audit_events (entity_id, seq);

-- The head of the chain, kept apart so that deleting the last events shows.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);
-- Case references start at #1001. Postgres takes them from a sequence, which several writers
-- can draw from without waiting for each other's commits; SQLite has one writer and a counter.
INSERT INTO counters (name, value) VALUES ('case_ref', 1000);
CREATE SEQUENCE case_ref_seq START WITH 1001;

CREATE TABLE idempotency_keys (
    principal TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (principal, idem_key)
);
