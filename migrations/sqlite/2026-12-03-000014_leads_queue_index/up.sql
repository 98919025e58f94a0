-- The leads' queue ranks and counts every active case that needs a lead (at 100,000 cases,
-- tens of thousands can be overdue): this index holds every column it reads, so it is
-- scanned instead of the cases' wide rows (the case's id included, so the first page is
-- chosen from the index alone); only that page's rows are then read in full.
CREATE INDEX cases_leads_queue ON cases (status, merged_into, escalated_at,
    escalation_acknowledged_at, escalation_reason, vetting, first_response_at,
    first_response_due_at, resolution_due_at, priority, created_at, confidential, assignee_id,
    id);
