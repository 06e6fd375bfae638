-- jobq's archive (`jobq archive`). Everything lives in the schema `jobq`, which the archiver
-- creates and sets as its search_path, so sqlx's migrations table is `jobq._sqlx_migrations`
-- and nothing collides with an application's own tables or migrations.

-- One row per finished outcome of a job. A job retried from the dead-letter queue that
-- finishes again gets a second row: same job_id, later finished_ms. The primary key makes a
-- replayed insert (after a crash, or by a second archiver) a no-op.
CREATE TABLE jobs (
    namespace    text        NOT NULL,
    job_id       text        NOT NULL,
    -- When this outcome was recorded, Unix ms on the Redis clock (the job's score in its
    -- completed / dead / cancelled set); with job_id it names the outcome.
    finished_ms  bigint      NOT NULL,
    queue        text        NOT NULL,
    type         text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('completed', 'dead', 'cancelled')),
    payload      jsonb       NOT NULL,
    result       jsonb,
    -- The last attempt's error; `errors` has every attempt's (the newest 10 jobq keeps).
    error        text,
    errors       jsonb       NOT NULL DEFAULT '[]',
    attempt      integer     NOT NULL,
    max_attempts integer     NOT NULL,
    recoveries   integer     NOT NULL DEFAULT 0,
    worker       text,
    unique_key   text,
    created_at   timestamptz,
    scheduled_at timestamptz,
    started_at   timestamptz,
    finished_at  timestamptz NOT NULL,
    -- Run time of the last attempt (completed and dead jobs).
    duration_ms  bigint,
    archived_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, job_id, finished_ms)
);

CREATE INDEX jobs_finished ON jobs (namespace, finished_at DESC);
CREATE INDEX jobs_type ON jobs (namespace, type, finished_at DESC);
CREATE INDEX jobs_queue ON jobs (namespace, queue, finished_at DESC);
-- `jobq history --where 'payload.user_id=42'` is a containment test (@>) this index serves.
CREATE INDEX jobs_payload ON jobs USING gin (payload jsonb_path_ops);

-- How far the archive has read each finished-jobs set of each queue: every job of that set
-- that finished at or before finished_ms is in `jobs`. Written in the same transaction as the
-- rows it covers, so a crash can neither skip nor repeat work.
CREATE TABLE archive_cursors (
    namespace   text        NOT NULL,
    queue       text        NOT NULL,
    state       text        NOT NULL,
    finished_ms bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, queue, state)
);
