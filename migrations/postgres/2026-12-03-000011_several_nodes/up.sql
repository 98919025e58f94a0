-- Background work claimed by one node at a time: a row of a queue is taken by the node that
-- set `claimed_by` and `claimed_until`, and by no other until its outcome is recorded (which
-- clears the claim) or the lease runs out (the node died: another takes it over).
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until TIMESTAMP;
ALTER TABLE webhook_deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN claimed_until TIMESTAMP;

-- Failed logins per account name, shared by every node: five, and the account waits.
CREATE TABLE login_failures (
    account TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    paused_until TIMESTAMP
);

-- A counter every change to who may act bumps (a role, an account's activation, a token
-- revoked, a session given up or cut off): each node reads it twice a second and forgets what
-- it cached about callers when it moves. Triggers, so that no path can forget to bump it.
CREATE TABLE auth_epoch (
    id INTEGER PRIMARY KEY NOT NULL,
    epoch BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, epoch) VALUES (1, 0);
CREATE FUNCTION bump_auth_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER users_auth_epoch AFTER UPDATE OF role, active ON users
FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER api_tokens_auth_epoch AFTER UPDATE OF scopes, expires_at, revoked_at ON api_tokens
FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER revoked_sessions_auth_epoch AFTER INSERT ON revoked_sessions
FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
CREATE TRIGGER session_cutoffs_auth_epoch AFTER INSERT ON session_cutoffs
FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_epoch();
