DROP INDEX indicator_holders_shared;
