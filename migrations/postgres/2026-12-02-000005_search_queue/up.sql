-- Cases whose search document must be rebuilt: written in the transaction of the change,
-- drained in batches by the indexer, so a crash loses no pending rebuild and the write path
-- does not fold and index texts itself.
CREATE TABLE search_queue (
    ref BIGINT PRIMARY KEY NOT NULL
);
