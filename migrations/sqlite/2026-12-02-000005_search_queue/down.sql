DROP TABLE search_queue;
