-- The due time of each provider's next scheduled run, so that every
-- replica starts the run at the same time and only one of them claims it.
-- schedule names the schedule the time was computed from (such as
-- every:1800s); version counts the writes, for compare-and-swap updates.
CREATE TABLE schedules (
    provider TEXT NOT NULL PRIMARY KEY,
    due_at   TIMESTAMPTZ NOT NULL,
    schedule TEXT NOT NULL,
    version  BIGINT NOT NULL
);
