-- Mail: raw messages kept byte for byte, the quarantine, correspondents' certificates,
-- message ids for threading, evidence from attachments, and the outbox.

-- Content-addressed bytes (raw messages, attachments, composed replies), stored once.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY NOT NULL,
    size BIGINT NOT NULL,
    data BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Every message posted by a gateway; the same bytes twice are one row.
CREATE TABLE inbound_mail (
    id TEXT PRIMARY KEY NOT NULL,
    sha256 TEXT NOT NULL UNIQUE REFERENCES blobs (sha256),
    rfc_message_id TEXT,
    size BIGINT NOT NULL,
    sender TEXT,
    state TEXT NOT NULL,
    reason TEXT,
    crypto TEXT,
    case_id TEXT REFERENCES cases (id),
    message_id TEXT REFERENCES messages (id),
    new_case BOOLEAN NOT NULL,
    received_by TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX inbound_mail_state ON inbound_mail (state, received_at);
CREATE INDEX inbound_mail_sender ON inbound_mail (sender);

-- RFC 5322 Message-IDs seen or sent on a case, for In-Reply-To / References threading.
CREATE TABLE mail_ids (
    rfc_message_id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    message_id TEXT REFERENCES messages (id)
);

-- Beneficiaries' OpenPGP certificates, with how each was obtained and whether a person
-- confirmed it.
CREATE TABLE certificates (
    id TEXT PRIMARY KEY NOT NULL,
    beneficiary_id TEXT NOT NULL REFERENCES beneficiaries (id),
    fingerprint TEXT NOT NULL,
    armored TEXT NOT NULL,
    user_ids TEXT NOT NULL,
    emails TEXT NOT NULL,
    expires_at TIMESTAMP,
    revoked BOOLEAN NOT NULL,
    can_encrypt BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    confirmed BOOLEAN NOT NULL,
    added_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (beneficiary_id, fingerprint)
);
-- Every key id and fingerprint in a certificate, to find it from a signature's issuer.
CREATE TABLE certificate_keys (
    handle TEXT NOT NULL,
    certificate_id TEXT NOT NULL REFERENCES certificates (id),
    PRIMARY KEY (handle, certificate_id)
);

-- Files kept on a case (from mail attachments for now), bytes in blobs.
CREATE TABLE evidence (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    filename TEXT,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    source TEXT NOT NULL,
    message_id TEXT REFERENCES messages (id),
    description TEXT NOT NULL,
    collected_by TEXT NOT NULL,
    collected_at TIMESTAMP NOT NULL
);
CREATE INDEX evidence_case ON evidence (case_id, collected_at);
CREATE INDEX evidence_sha256 ON evidence (sha256);

-- Replies waiting for (or done with) the SMTP relay; one row per outbound message.
CREATE TABLE outbox (
    message_id TEXT PRIMARY KEY NOT NULL REFERENCES messages (id),
    case_id TEXT NOT NULL REFERENCES cases (id),
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    encrypted BOOLEAN NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_case ON outbox (case_id);

-- The mail facts of a message (JSON): Message-ID, crypto outcome, addresses.
ALTER TABLE messages ADD COLUMN email TEXT;
ALTER TABLE beneficiaries ADD COLUMN require_encryption BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE cases ADD COLUMN require_encryption BOOLEAN NOT NULL DEFAULT FALSE;
