-- Cases whose search document must be rebuilt: written in the transaction of the change,
-- drained in batches by the indexer, so a crash loses no pending rebuild and the write path
-- does not fold and index texts itself. `stamp` changes with every new change to the case:
-- the indexer builds a document from what it read and takes the row off the queue only if
-- the stamp is still the one it read, so a change made meanwhile is indexed by the next pass.
CREATE TABLE search_queue (
    ref BIGINT PRIMARY KEY NOT NULL,
    stamp TEXT NOT NULL
);
