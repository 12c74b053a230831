//! In-memory seams: artifacts, queue, secrets, log capture, a virtual clock and seeded randomness.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use agency_core::binding::Binding;
use agency_core::job::TaskJob;
use agency_core::platform::{
    Artifact, ArtifactStore, Clock, LogLevel, LogSink, RandomSource, SecretSource, Sleeper, StoreError, WorkQueue,
};
use agency_core::redact::Sanitized;
use async_trait::async_trait;
use secrecy::SecretString;

#[derive(Clone, Debug)]
pub struct StoredArtifact {
    pub key: String,
    pub body: String,
    pub content_type: String,
    pub metadata: BTreeMap<String, String>,
}

/// An R2 stand-in that keeps objects by key.
#[derive(Default)]
pub struct MemoryArtifacts {
    objects: RefCell<BTreeMap<String, StoredArtifact>>,
}

impl MemoryArtifacts {
    pub fn objects(&self) -> Vec<StoredArtifact> {
        self.objects.borrow().values().cloned().collect()
    }
}

#[async_trait(?Send)]
impl ArtifactStore for MemoryArtifacts {
    async fn put(&self, object: Artifact) -> Result<(), StoreError> {
        let stored = StoredArtifact {
            key: object.key.as_str().to_owned(),
            body: object.body.into_string(),
            content_type: object.content_type.to_owned(),
            metadata: object.metadata.into_iter().map(|(k, v)| (k, v.into_string())).collect(),
        };
        self.objects.borrow_mut().insert(stored.key.clone(), stored);
        Ok(())
    }
}

/// An in-process work queue: intake pushes, the caller drains.
#[derive(Default)]
pub struct MemoryQueue {
    jobs: RefCell<VecDeque<TaskJob>>,
}

impl MemoryQueue {
    pub fn pop(&self) -> Option<TaskJob> {
        self.jobs.borrow_mut().pop_front()
    }
}

#[async_trait(?Send)]
impl WorkQueue for MemoryQueue {
    async fn send(&self, job: TaskJob) -> Result<(), StoreError> {
        self.jobs.borrow_mut().push_back(job);
        Ok(())
    }
}

/// Secrets handed in by the harness (canaries) or a local operator.
pub struct MapSecrets {
    values: HashMap<Binding, SecretString>,
}

impl MapSecrets {
    pub fn new(values: impl IntoIterator<Item = (Binding, SecretString)>) -> MapSecrets {
        MapSecrets { values: values.into_iter().collect() }
    }
}

#[async_trait(?Send)]
impl SecretSource for MapSecrets {
    async fn get(&self, binding: Binding) -> Result<Option<SecretString>, StoreError> {
        Ok(self.values.get(&binding).cloned())
    }
}

/// Captures every (already sanitized) log line, and mirrors it to stderr when asked.
#[derive(Default)]
pub struct CapturedLog {
    lines: RefCell<Vec<String>>,
    echo: bool,
}

impl CapturedLog {
    pub fn echoing(echo: bool) -> CapturedLog {
        CapturedLog { lines: RefCell::default(), echo }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.borrow().clone()
    }
}

impl LogSink for CapturedLog {
    fn write(&self, level: LogLevel, line: &Sanitized) {
        let line = format!("{} {}", level.as_str(), line);
        if self.echo {
            eprintln!("{line}");
        }
        self.lines.borrow_mut().push(line);
    }
}

/// Virtual time: starts where told, and moves only when the core sleeps (or `advance` is
/// called), so a `Retry-After` of 30 s costs nothing and every timestamp is reproducible.
pub struct VirtualClock {
    now_ms: Cell<i64>,
    slept: RefCell<Vec<Duration>>,
}

impl VirtualClock {
    pub fn starting_at(now_ms: i64) -> VirtualClock {
        VirtualClock { now_ms: Cell::new(now_ms), slept: RefCell::default() }
    }

    pub fn advance(&self, by: Duration) {
        self.now_ms.set(self.now_ms.get() + by.as_millis() as i64);
    }

    /// Every sleep the core asked for, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.slept.borrow().clone()
    }
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.get()
    }
}

#[async_trait(?Send)]
impl Sleeper for VirtualClock {
    async fn sleep(&self, duration: Duration) {
        self.slept.borrow_mut().push(duration);
        self.advance(duration);
    }
}

/// SplitMix64: small, seedable, and plenty for ids and jitter in tests.
pub struct SeededRandom {
    state: Cell<u64>,
}

impl SeededRandom {
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom { state: Cell::new(seed) }
    }
}

impl RandomSource for SeededRandom {
    fn next_u64(&self) -> u64 {
        let next = self.state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.set(next);
        let mut z = next;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
