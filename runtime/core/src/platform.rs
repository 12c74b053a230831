//! The I/O seams. The core never performs I/O itself: every effect goes through one of these
//! traits, implemented natively (`agency-native`) and on the Worker (`agency-worker`).
//!
//! Futures are `?Send`: the Worker's JS-backed types are not `Send`, so native code drives the
//! core on a current-thread runtime.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::binding::Binding;
use crate::http::{HttpRequest, HttpResponse};
use crate::redact::Sanitized;
use crate::trace::{Row, Statement};

/// Outbound HTTP. Implementations return `Err` only for transport failures (connection refused,
/// reset, timeout); every HTTP status, including 5xx, is an `Ok` response.
#[async_trait(?Send)]
pub trait HttpClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// A transport failure. Its text is produced by the adapter and is sanitized before storage.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// The trace store (D1 on the Worker, SQLite natively). The SQL is defined once, in
/// [`crate::trace`]; stores only execute it.
#[async_trait(?Send)]
pub trait TraceStore {
    /// Runs the statements in one atomic batch: all apply or none does.
    async fn batch(&self, statements: Vec<Statement>) -> Result<(), StoreError>;
    /// Runs one read-only query.
    async fn query(&self, statement: Statement) -> Result<Vec<Row>, StoreError>;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write (used to claim a task atomically).
    #[error("constraint violated")]
    Conflict,
    #[error("store failure: {0}")]
    Other(String),
}

/// Where artifacts go (R2 on the Worker). Everything handed in is already sanitized.
#[async_trait(?Send)]
pub trait ArtifactStore {
    async fn put(&self, object: Artifact) -> Result<(), StoreError>;
}

/// One object for the artifact store: key, body, content type and custom metadata, all sanitized.
#[derive(Clone, Debug)]
pub struct Artifact {
    pub key: Sanitized,
    pub body: Sanitized,
    pub content_type: &'static str,
    pub metadata: BTreeMap<String, Sanitized>,
}

/// Secret values by binding name. Async so both Worker secrets and Secrets Store's `get()` fit.
/// Only [`crate::secrets::SecretScope`] calls this, so every read is scoped and traced.
#[async_trait(?Send)]
pub trait SecretSource {
    /// `Ok(None)` when the binding is not configured.
    async fn get(&self, binding: Binding) -> Result<Option<SecretString>, StoreError>;
}

/// The work queue between intake and the consumer (a Cloudflare Queue on the Worker).
#[async_trait(?Send)]
pub trait WorkQueue {
    async fn send(&self, job: crate::job::TaskJob) -> Result<(), StoreError>;
}

/// Wall-clock time. Never `SystemTime::now()` in the core: it panics on wasm32.
pub trait Clock {
    fn now_ms(&self) -> i64;
}

/// Waiting, so tests of `Retry-After` never really sleep.
#[async_trait(?Send)]
pub trait Sleeper {
    async fn sleep(&self, duration: Duration);
}

/// Randomness (ids, jitter). Seedable natively; `crypto.getRandomValues` on the Worker.
pub trait RandomSource {
    fn next_u64(&self) -> u64;
}

/// Where log lines go. Lines arrive already sanitized: see [`crate::log::Logger`].
pub trait LogSink {
    fn write(&self, level: LogLevel, line: &Sanitized);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Every seam the core needs, handed in by the platform layer.
#[derive(Clone)]
pub struct Platform {
    pub http: Rc<dyn HttpClient>,
    pub traces: Rc<dyn TraceStore>,
    pub artifacts: Rc<dyn ArtifactStore>,
    pub secrets: Rc<dyn SecretSource>,
    pub queue: Rc<dyn WorkQueue>,
    pub clock: Rc<dyn Clock>,
    pub sleeper: Rc<dyn Sleeper>,
    pub random: Rc<dyn RandomSource>,
    pub log: Rc<dyn LogSink>,
}
