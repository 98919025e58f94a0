-- Correlation asks, of every indicator a walk meets, whether another case holds it too: most
-- (nineteen in twenty at 100,000 cases) are held by their own case alone and lead nowhere.
-- This index holds only the shared ones, with their count, so that a walk's question is
-- answered from a small index and the lone indicators cost one short descent that finds
-- nothing.
CREATE INDEX indicator_holders_shared ON indicator_holders (indicator_id, holders)
WHERE holders > 1;
