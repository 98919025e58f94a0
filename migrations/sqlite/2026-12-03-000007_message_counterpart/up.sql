-- Who a message was with, by kind: the beneficiary, a party (party_id names it), or someone the
-- case does not know (mail threaded by its tag or reply headers from an address that is neither
-- the beneficiary's nor a party's: recorded as what it is, never as the beneficiary).
ALTER TABLE messages ADD COLUMN counterpart TEXT NOT NULL DEFAULT 'beneficiary';
UPDATE messages SET counterpart = 'party' WHERE party_id IS NOT NULL;
