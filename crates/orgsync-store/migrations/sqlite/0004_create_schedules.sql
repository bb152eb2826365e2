-- The due time of each provider's next scheduled run (UTC text, like the
-- other timestamps), kept so that it survives a restart. schedule names
-- the schedule the time was computed from (such as every:1800s); version
-- counts the writes, for compare-and-swap updates.
CREATE TABLE schedules (
    provider TEXT NOT NULL PRIMARY KEY,
    due_at   TEXT NOT NULL,
    schedule TEXT NOT NULL,
    version  INTEGER NOT NULL
);
