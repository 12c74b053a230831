//! One run's context: its id, its secret scope, its sanitizer, and its steps. Each step's trace
//! rows (the step, its secret reads, its redactions, any run update) are written in one batch.

use std::cell::{Cell, RefCell};

use secrecy::SecretString;

use crate::binding::Binding;
use crate::config::Config;
use crate::error::StepError;
use crate::ids;
use crate::platform::{LogLevel, Platform, StoreError};
use crate::redact::{Redactor, Sanitized};
use crate::secrets::{SecretRead, SecretScope};
use crate::trace::{self, Statement, StepRow, StepStatus};

pub struct RunContext<'p> {
    pub platform: &'p Platform,
    pub config: &'p Config,
    pub run_id: String,
    scope: RefCell<SecretScope>,
    redactor: RefCell<Redactor>,
    next_seq: Cell<i64>,
}

/// A step in progress. Reads and redactions made on its behalf are kept here until it commits.
pub struct Step {
    pub seq: i64,
    pub name: &'static str,
    pub provider: Option<&'static str>,
    started_ms: i64,
    attempts: Cell<u32>,
    reads: RefCell<Vec<SecretRead>>,
    redactions: RefCell<Vec<(String, String, String)>>,
}

/// A step that failed for good: its name, its sanitized error, and the error itself.
pub struct Failure {
    pub step: &'static str,
    pub text: Sanitized,
    pub error: StepError,
}

impl Step {
    pub fn attempt(&self) -> u32 {
        let n = self.attempts.get() + 1;
        self.attempts.set(n);
        n
    }
}

impl<'p> RunContext<'p> {
    pub fn new(platform: &'p Platform, config: &'p Config, scope: SecretScope) -> RunContext<'p> {
        RunContext {
            platform,
            config,
            run_id: ids::new_id(&*platform.random),
            scope: RefCell::new(scope),
            redactor: RefCell::new(Redactor::new()),
            next_seq: Cell::new(0),
        }
    }

    pub fn now(&self) -> String {
        ids::timestamp(&*self.platform.clock)
    }

    /// Moves the run to the next stage's scope (e.g. from eligibility to the skill's toolkits).
    pub fn enter_scope(&self, scope: SecretScope) {
        *self.scope.borrow_mut() = scope;
    }

    pub fn begin_step(&self, name: &'static str, provider: Option<&'static str>) -> Step {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        Step {
            seq,
            name,
            provider,
            started_ms: self.platform.clock.now_ms(),
            attempts: Cell::new(0),
            reads: RefCell::new(Vec::new()),
            redactions: RefCell::new(Vec::new()),
        }
    }

    /// Reads a binding for `step`, if the current scope allows it. The value is registered with
    /// the run's sanitizer before it is handed out.
    pub async fn read_secret(&self, step: &Step, binding: Binding) -> Result<SecretString, StepError> {
        let granted = self.scope.borrow().allows(binding);
        step.reads.borrow_mut().push(SecretRead {
            binding,
            step: step.name,
            step_seq: step.seq,
            granted,
            at: self.now(),
        });
        if !granted {
            self.log(LogLevel::Warn, &format!("policy violation: step {} asked for {binding}; denied", step.name));
            return Err(StepError::PolicyViolation(binding));
        }
        let value = self.platform.secrets.get(binding).await?.ok_or(StepError::MissingSecret(binding))?;
        self.redactor.borrow_mut().register(binding.name(), &value);
        Ok(value)
    }

    /// Registers a credential minted during the run (an OAuth access token) with the sanitizer.
    pub fn register_minted(&self, label: &str, value: &SecretString) {
        self.redactor.borrow_mut().register(label, value);
    }

    /// The one sanitizer door for text leaving the run; `place` names where the text goes.
    pub fn sanitize(&self, step: &Step, place: &str, text: &str) -> Sanitized {
        let (clean, redactions) = self.redactor.borrow().sanitize(text);
        let mut recorded = step.redactions.borrow_mut();
        for redaction in redactions {
            recorded.push((place.to_owned(), redaction.label, redaction.encoding));
        }
        clean
    }

    /// A log line, sanitized with everything the run knows.
    pub fn log(&self, level: LogLevel, text: &str) {
        let (clean, _) = self.redactor.borrow().sanitize(&format!("run={} {text}", self.run_id));
        self.platform.log.write(level, &clean);
    }

    /// Writes the step's rows plus `extra` (run updates) in one atomic batch.
    pub async fn commit_step(
        &self,
        step: &Step,
        outcome: &Result<Option<Sanitized>, Sanitized>,
        extra: Vec<Statement>,
    ) -> Result<(), StoreError> {
        let statements = self.step_statements(step, outcome, extra);
        self.platform.traces.batch(statements).await
    }

    /// Like [`Self::commit_step`], for a run's first step: the run's row goes first in the
    /// batch (D1 enforces the steps' foreign key), so a run never exists without its first step.
    pub async fn commit_first_step(
        &self,
        step: &Step,
        outcome: &Result<Option<Sanitized>, Sanitized>,
        insert_run: Statement,
        extra: Vec<Statement>,
    ) -> Result<(), StoreError> {
        let mut statements = vec![insert_run];
        statements.extend(self.step_statements(step, outcome, extra));
        self.platform.traces.batch(statements).await
    }

    fn step_statements(
        &self,
        step: &Step,
        outcome: &Result<Option<Sanitized>, Sanitized>,
        extra: Vec<Statement>,
    ) -> Vec<Statement> {
        let (status, summary, error) = match outcome {
            Ok(summary) => (StepStatus::Ok, summary.as_ref(), None),
            Err(error) => (StepStatus::Failed, None, Some(error)),
        };
        let started_at = ids::format_ms(step.started_ms);
        let mut statements = vec![trace::insert_step(&StepRow {
            run_id: &self.run_id,
            seq: step.seq,
            name: step.name,
            status,
            attempts: i64::from(step.attempts.get().max(1)),
            duration_ms: self.platform.clock.now_ms() - step.started_ms,
            provider: step.provider,
            summary,
            error,
            started_at: &started_at,
        })];
        statements.extend(step.reads.borrow().iter().map(|read| trace::insert_secret_read(&self.run_id, read)));
        let mut counted: std::collections::BTreeMap<&(String, String, String), i64> = Default::default();
        let redactions = step.redactions.borrow();
        for key in redactions.iter() {
            *counted.entry(key).or_default() += 1;
        }
        statements.extend(counted.into_iter().map(|((place, label, encoding), count)| {
            trace::insert_redaction(&self.run_id, step.seq, place, label, encoding, count)
        }));
        statements.extend(extra);
        statements
    }

    /// Commits `step` with `result`'s outcome and hands the value back, or the failure that
    /// ends the skill. Only a trace-store failure is an `Err`.
    pub async fn settle<T>(
        &self,
        step: &Step,
        result: Result<T, StepError>,
        summary: impl FnOnce(&T) -> String,
    ) -> Result<Result<T, Failure>, StoreError> {
        match result {
            Ok(value) => {
                let summary = self.sanitize(step, "step.summary", &summary(&value));
                self.commit_step(step, &Ok(Some(summary)), Vec::new()).await?;
                Ok(Ok(value))
            }
            Err(error) => {
                let text = self.describe(step, &error);
                self.log(LogLevel::Error, &format!("step {} failed: {text}", step.name));
                self.commit_step(step, &Err(text.clone()), Vec::new()).await?;
                Ok(Err(Failure { step: step.name, text, error }))
            }
        }
    }

    /// Turns a step error into the sanitized text the trace and comments may carry.
    pub fn describe(&self, step: &Step, error: &StepError) -> Sanitized {
        self.sanitize(step, "step.error", &error.to_string())
    }
}
