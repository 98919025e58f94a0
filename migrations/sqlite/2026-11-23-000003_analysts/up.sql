-- Analysts: indicators (one row per canonical value, system-wide), their context on each case,
-- and explicit links between cases.

CREATE TABLE indicators (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (kind, value)
);

-- An indicator on a case: who added it and when, from which message, first and last seen,
-- its state and TLP marking.
CREATE TABLE case_indicators (
    case_id TEXT NOT NULL REFERENCES cases (id),
    indicator_id TEXT NOT NULL REFERENCES indicators (id),
    state TEXT NOT NULL,
    tlp TEXT NOT NULL,
    note TEXT NOT NULL,
    source_message_id TEXT REFERENCES messages (id),
    added_by TEXT NOT NULL,
    added_at TIMESTAMP NOT NULL,
    first_seen TIMESTAMP,
    last_seen TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, indicator_id)
) WITHOUT ROWID;
-- "Which cases hold this indicator?" — the correlation's every step, answered from the index
-- alone (the state decides whether a holder counts).
CREATE INDEX case_indicators_by_indicator ON case_indicators (indicator_id, case_id, state);

-- A link between two cases, stored once, read from both sides (the other side sees the
-- inverse kind).
CREATE TABLE case_links (
    case_id TEXT NOT NULL REFERENCES cases (id),
    target_id TEXT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, target_id)
);
CREATE INDEX case_links_by_target ON case_links (target_id, case_id);

-- Evidence gets its own TLP marking and a chain of custody: collected, viewed, exported,
-- verified, each with who and when.
ALTER TABLE evidence ADD COLUMN tlp TEXT NOT NULL DEFAULT 'amber';
CREATE TABLE custody_events (
    id TEXT PRIMARY KEY NOT NULL,
    evidence_id TEXT NOT NULL REFERENCES evidence (id),
    event TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX custody_events_by_item ON custody_events (evidence_id, at);

-- Merging: the source case keeps a pointer to where its log went, and the merge records what
-- it moved so that it can be undone exactly.
ALTER TABLE cases ADD COLUMN merged_into TEXT REFERENCES cases (id);
CREATE TABLE case_merges (
    id TEXT PRIMARY KEY NOT NULL,
    source_id TEXT NOT NULL REFERENCES cases (id),
    target_id TEXT NOT NULL REFERENCES cases (id),
    moved TEXT NOT NULL,
    merged_by TEXT NOT NULL,
    merged_at TIMESTAMP NOT NULL,
    undone_by TEXT,
    undone_at TIMESTAMP
);
CREATE INDEX case_merges_by_source ON case_merges (source_id, merged_at);
