//! The trace: every SQL statement the runtime runs, defined once here and executed by the
//! trace store seam (D1 on the Worker, SQLite natively) from the same `migrations/`.

use std::collections::BTreeMap;

use crate::redact::Sanitized;

/// A bound SQL parameter. Free text is only ever [`Sanitized`].
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Text(String),
}

/// One result row, by column name.
pub type Row = BTreeMap<String, SqlValue>;

/// A statement with positional parameters `?1`, `?2`, …
#[derive(Clone, Debug)]
pub struct Statement {
    pub sql: &'static str,
    pub params: Vec<SqlValue>,
}

fn text(value: &str) -> SqlValue {
    SqlValue::Text(value.to_owned())
}

fn opt_text(value: Option<&str>) -> SqlValue {
    value.map_or(SqlValue::Null, text)
}

fn clean(value: Option<&Sanitized>) -> SqlValue {
    value.map_or(SqlValue::Null, |v| text(v.as_str()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    Delivery,
    Task,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Handshake,
    Accepted,
    Rejected,
    Ignored,
    Checking,
    Ineligible,
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Handshake => "handshake",
            RunStatus::Accepted => "accepted",
            RunStatus::Rejected => "rejected",
            RunStatus::Ignored => "ignored",
            RunStatus::Checking => "checking",
            RunStatus::Ineligible => "ineligible",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }
}

/// A new run row.
pub struct NewRun<'a> {
    pub id: &'a str,
    pub kind: RunKind,
    pub delivery_id: Option<&'a str>,
    pub task_gid: Option<&'a str>,
    pub status: RunStatus,
    pub reason: Option<&'a Sanitized>,
    pub at: &'a str,
    /// Set for runs that end as they start (rejected, ignored, handshake).
    pub finished: bool,
}

pub fn insert_run(run: &NewRun<'_>) -> Statement {
    Statement {
        sql: "INSERT INTO runs (id, kind, delivery_id, task_gid, skill, status, reason, started_at, finished_at) \
              VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?8)",
        params: vec![
            text(run.id),
            text(match run.kind {
                RunKind::Delivery => "delivery",
                RunKind::Task => "task",
            }),
            opt_text(run.delivery_id),
            opt_text(run.task_gid),
            text(run.status.as_str()),
            clean(run.reason),
            text(run.at),
            if run.finished { text(run.at) } else { SqlValue::Null },
        ],
    }
}

/// Claims the (task, skill) idempotency key; fails with a conflict when another run holds it.
pub fn claim_run(run_id: &str, skill: &str) -> Statement {
    Statement {
        sql: "UPDATE runs SET skill = ?2, status = 'running' WHERE id = ?1",
        params: vec![text(run_id), text(skill)],
    }
}

pub fn finish_run(run_id: &str, status: RunStatus, reason: Option<&Sanitized>, at: &str) -> Statement {
    Statement {
        sql: "UPDATE runs SET status = ?2, reason = ?3, finished_at = ?4 WHERE id = ?1",
        params: vec![text(run_id), text(status.as_str()), clean(reason), text(at)],
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepStatus {
    Ok,
    Failed,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Ok => "ok",
            StepStatus::Failed => "failed",
        }
    }
}

pub struct StepRow<'a> {
    pub run_id: &'a str,
    pub seq: i64,
    pub name: &'a str,
    pub status: StepStatus,
    pub attempts: i64,
    pub duration_ms: i64,
    pub provider: Option<&'a str>,
    pub summary: Option<&'a Sanitized>,
    pub error: Option<&'a Sanitized>,
    pub started_at: &'a str,
}

pub fn insert_step(step: &StepRow<'_>) -> Statement {
    Statement {
        sql: "INSERT INTO run_steps (run_id, seq, name, status, attempts, duration_ms, provider, summary, error, started_at) \
              VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params: vec![
            text(step.run_id),
            SqlValue::Integer(step.seq),
            text(step.name),
            text(step.status.as_str()),
            SqlValue::Integer(step.attempts),
            SqlValue::Integer(step.duration_ms),
            opt_text(step.provider),
            clean(step.summary),
            clean(step.error),
            text(step.started_at),
        ],
    }
}

pub fn insert_secret_read(run_id: &str, read: &crate::secrets::SecretRead) -> Statement {
    Statement {
        sql: "INSERT INTO secret_reads (run_id, step_seq, step, binding, decision, read_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params: vec![
            text(run_id),
            SqlValue::Integer(read.step_seq),
            text(read.step),
            text(read.binding.name()),
            text(if read.granted { "granted" } else { "denied" }),
            text(&read.at),
        ],
    }
}

/// One row per (place, label, encoding): where the sanitizer replaced a secret, never what.
pub fn insert_redaction(run_id: &str, step_seq: i64, place: &str, label: &str, encoding: &str, count: i64) -> Statement {
    Statement {
        sql: "INSERT INTO redactions (run_id, step_seq, place, label, encoding, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params: vec![
            text(run_id),
            SqlValue::Integer(step_seq),
            text(place),
            text(label),
            text(encoding),
            SqlValue::Integer(count),
        ],
    }
}
