-- Schedules of send and receive runs. What the caller defines is one JSON column; what running
-- changes has its own columns, so that the scheduler finds due schedules by index.
CREATE TABLE schedules (
    schedule_id   TEXT PRIMARY KEY,
    definition    TEXT NOT NULL,
    active        INTEGER NOT NULL,
    -- NULL while inactive.
    next_run_time TEXT,
    last_run_time TEXT,
    executions    INTEGER NOT NULL DEFAULT 0,
    -- What the last run did (models.RunSummary as JSON); NULL before the first run.
    last_result   TEXT,
    create_time   TEXT NOT NULL,
    update_time   TEXT NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_run_time) WHERE active = 1;
