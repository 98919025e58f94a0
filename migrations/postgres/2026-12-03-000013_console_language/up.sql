-- The console's language, chosen per person: it follows them from one browser to another.
CREATE TABLE console_preferences (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    language TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
