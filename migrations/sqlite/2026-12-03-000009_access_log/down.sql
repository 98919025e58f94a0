DROP TABLE access_head;
DROP TABLE access_events;
