-- Who read a confidential case or its parts: append-only and hash-chained exactly like the
-- audit trail (the same columns and hash; `changes` holds what was read and through which
-- credential), with its own head, so that reads never wait on the audit chain's lock.
CREATE TABLE access_events (
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
CREATE INDEX access_events_case ON access_events (case_id, seq);
CREATE INDEX access_events_actor ON access_events (actor, seq);

CREATE TABLE access_head (
    id INTEGER PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO access_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
