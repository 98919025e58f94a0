-- Workflow: vetting marker, promised times, escalation, legal hold, retention on the case.
ALTER TABLE cases ADD COLUMN channel TEXT;
ALTER TABLE cases ADD COLUMN vetting TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE cases ADD COLUMN first_response_due_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
ALTER TABLE cases ADD COLUMN resolution_due_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
ALTER TABLE cases ADD COLUMN escalation_reason TEXT;
ALTER TABLE cases ADD COLUMN escalated_at TIMESTAMP;
ALTER TABLE cases ADD COLUMN escalation_acknowledged_at TIMESTAMP;
ALTER TABLE cases ADD COLUMN legal_hold TEXT;
ALTER TABLE cases ADD COLUMN anonymized_at TIMESTAMP;
UPDATE cases SET vetting = CASE
    (SELECT verification FROM beneficiaries b WHERE b.id = cases.beneficiary_id)
    WHEN 'verified' THEN 'verified' WHEN 'rejected' THEN 'rejected' ELSE 'pending' END;
-- Cases opened before this version get the default targets.
UPDATE cases SET
    first_response_due_at = datetime(created_at, CASE urgency
        WHEN 'critical' THEN '+1 hours' WHEN 'high' THEN '+4 hours'
        WHEN 'medium' THEN '+1 days' ELSE '+3 days' END),
    resolution_due_at = datetime(created_at, CASE urgency
        WHEN 'critical' THEN '+1 days' WHEN 'high' THEN '+3 days'
        WHEN 'medium' THEN '+7 days' ELSE '+30 days' END);

-- One document per case (summary, description, messages, comments), its words folded by
-- Helpline (domain::search) so that both backends match alike; rowid is the case reference.
-- Contentless: the text lives in its tables, not twice. The words arrive folded and
-- space-separated, so the plainest tokenizer splits them as Helpline did, fastest.
CREATE VIRTUAL TABLE case_search USING fts5 (
    body, content = '', contentless_delete = 1, tokenize = 'ascii'
);
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

-- Search joins its matches to their cases by reference and filters them: this index answers
-- the join and every list filter without reading the case rows.
CREATE INDEX cases_search_filters ON cases (ref, confidential, status, urgency, priority,
    assignee_id, service_type, beneficiary_id, vetting, created_at, updated_at, id);
