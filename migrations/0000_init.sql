-- Migration number: 0000 2026-12-03T09:00:00.000Z
-- The trace schema. Every free-text column holds sanitized text only; no column holds a
-- credential, a raw provider payload, a prompt or a completion.

-- One row per run: a webhook delivery (kind 'delivery') or one task event's work (kind 'task').
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('delivery', 'task')),
    delivery_id TEXT,
    task_gid TEXT,
    skill TEXT,
    status TEXT NOT NULL CHECK (status IN (
        'handshake', 'accepted', 'rejected',
        'ignored', 'checking', 'ineligible', 'running', 'succeeded', 'failed')),
    reason TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
);

-- The idempotency key: at most one live or successful run per task and skill.
-- A failed run does not hold it, so a later delivery may retry.
CREATE UNIQUE INDEX runs_one_claim_per_task_skill
    ON runs (task_gid, skill) WHERE status IN ('running', 'succeeded');

CREATE TABLE run_steps (
    run_id TEXT NOT NULL REFERENCES runs (id),
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'skipped')),
    attempts INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    provider TEXT,
    summary TEXT,
    error TEXT,
    started_at TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- Every secret binding read, granted or denied (a denied read is a policy violation).
CREATE TABLE secret_reads (
    run_id TEXT NOT NULL REFERENCES runs (id),
    step_seq INTEGER NOT NULL,
    step TEXT NOT NULL,
    binding TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('granted', 'denied')),
    read_at TEXT NOT NULL
);

-- Where the sanitizer replaced a secret: which one, in which encoding, in what text.
CREATE TABLE redactions (
    run_id TEXT NOT NULL REFERENCES runs (id),
    step_seq INTEGER NOT NULL,
    place TEXT NOT NULL,
    label TEXT NOT NULL,
    encoding TEXT NOT NULL,
    count INTEGER NOT NULL
);

CREATE INDEX run_steps_by_run ON run_steps (run_id);
CREATE INDEX secret_reads_by_run ON secret_reads (run_id);
