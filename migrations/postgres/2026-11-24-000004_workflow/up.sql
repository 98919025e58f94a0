-- Workflow: vetting marker, promised times, escalation, legal hold, retention on the case.
ALTER TABLE cases
    ADD COLUMN channel TEXT,
    ADD COLUMN vetting TEXT NOT NULL DEFAULT 'pending',
    ADD COLUMN first_response_due_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00',
    ADD COLUMN resolution_due_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00',
    ADD COLUMN escalation_reason TEXT,
    ADD COLUMN escalated_at TIMESTAMP,
    ADD COLUMN escalation_acknowledged_at TIMESTAMP,
    ADD COLUMN legal_hold TEXT,
    ADD COLUMN anonymized_at TIMESTAMP;
UPDATE cases SET vetting = CASE
    (SELECT verification FROM beneficiaries b WHERE b.id = cases.beneficiary_id)
    WHEN 'verified' THEN 'verified' WHEN 'rejected' THEN 'rejected' ELSE 'pending' END;
-- Cases opened before this version get the default targets.
UPDATE cases SET
    first_response_due_at = created_at + CASE urgency
        WHEN 'critical' THEN interval '1 hour' WHEN 'high' THEN interval '4 hours'
        WHEN 'medium' THEN interval '1 day' ELSE interval '3 days' END,
    resolution_due_at = created_at + CASE urgency
        WHEN 'critical' THEN interval '1 day' WHEN 'high' THEN interval '3 days'
        WHEN 'medium' THEN interval '7 days' ELSE interval '30 days' END;

-- One document per case (summary, description, messages, comments), its words folded by
-- Helpline (domain::search) so that both backends match alike. `head` holds the summary and
-- description alone: it ranks the matches (ts_rank over whole documents would read every
-- matching document, tens of thousands for common words).
CREATE TABLE case_search (
    ref BIGINT PRIMARY KEY NOT NULL,
    doc tsvector NOT NULL,
    head tsvector NOT NULL
);
CREATE INDEX case_search_doc ON case_search USING GIN (doc);
CREATE INDEX case_search_head ON case_search USING GIN (head);
-- The duty roster: who takes new cases when, and who is away.
CREATE TABLE shifts (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX shifts_by_end ON shifts (ends_at, starts_at);
CREATE TABLE absences (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX absences_by_end ON absences (ends_at, starts_at);

-- Switches a lead can turn (auto_assign), and markers of one-time upkeep (search_index).
CREATE TABLE settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
INSERT INTO settings (name, value) VALUES ('auto_assign', 'true');

-- Every change of hands, with the note to the next handler; shown on the timeline.
CREATE TABLE handoffs (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    from_user TEXT,
    to_user TEXT,
    note TEXT NOT NULL,
    automatic BOOLEAN NOT NULL,
    handed_by TEXT NOT NULL,
    handed_at TIMESTAMP NOT NULL
);
CREATE INDEX handoffs_by_case ON handoffs (case_id, handed_at);
CREATE INDEX handoffs_by_receiver ON handoffs (to_user, handed_at);

-- A broken target is announced once.
CREATE TABLE sla_announcements (
    case_id TEXT NOT NULL REFERENCES cases (id),
    target TEXT NOT NULL,
    announced_at TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, target)
);

-- Outgoing webhooks, written with the change they announce and sent after the commit.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
