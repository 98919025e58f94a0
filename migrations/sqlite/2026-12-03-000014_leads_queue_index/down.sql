DROP INDEX cases_leads_queue;
