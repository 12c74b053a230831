//! Where a scenario's Worker runs. Each target starts a fresh Worker world per scenario, pointed
//! at the fakes, takes webhook deliveries, waits until queued work is done, and hands back its
//! Worker-side sinks; everything else (fakes, canaries, scanning, expectations) is shared.

use std::path::PathBuf;

use agency_core::binding::Binding;
use agency_fakes::{Fakes, WebhookRequest};
use agency_native::{NativeOptions, NativeWorker, StoredArtifact};
use async_trait::async_trait;
use secrecy::SecretString;

use crate::runner::{runtime_vars, START_MS};
use crate::sinks::WorkerResponse;

/// The Worker-side sinks of one scenario.
pub struct WorkerSinks {
    /// The trace store as a SQLite file (D1's local file on workerd).
    pub database: PathBuf,
    pub artifacts: Vec<StoredArtifact>,
    /// Every line the Worker (or its host) printed.
    pub logs: Vec<String>,
    /// Anything else the target stored locally, scanned whole (files, SQLite row by row).
    pub extra_paths: Vec<ExtraPath>,
}

/// A file or directory scanned whole, reported as `sink` (with the file in each location).
pub struct ExtraPath {
    pub sink: String,
    pub path: PathBuf,
}

impl ExtraPath {
    pub fn new(sink: &str, path: PathBuf) -> ExtraPath {
        ExtraPath { sink: sink.to_owned(), path }
    }
}

#[async_trait(?Send)]
pub trait Target {
    async fn start(&mut self, scenario: &str, fakes: &Fakes, secrets: &[(Binding, String)]) -> anyhow::Result<()>;
    async fn deliver(&mut self, request: &WebhookRequest) -> anyhow::Result<WorkerResponse>;
    /// Returns once every job queued so far has reached a terminal run status.
    async fn settle(&mut self) -> anyhow::Result<()>;
    async fn collect(&mut self) -> anyhow::Result<WorkerSinks>;
    /// Whether this build contains the harness-only mutant skills (`agency-core/mutants`).
    /// Where it does not, a mutant scenario checks that its skill is absent instead.
    fn has_mutants(&self) -> bool {
        true
    }
    /// A line about the target's own costs, printed after the suite.
    fn summary(&self) -> Option<String> {
        None
    }
}

/// The runtime built natively, in-process: embedded SQLite, in-memory R2, in-process queue,
/// virtual clock (sleeps cost nothing), randomness seeded per scenario.
pub struct NativeTarget {
    repo_root: PathBuf,
    echo_logs: bool,
    world: Option<(NativeWorker, tempfile::TempDir)>,
}

impl NativeTarget {
    pub fn new(repo_root: PathBuf, echo_logs: bool) -> NativeTarget {
        NativeTarget { repo_root, echo_logs, world: None }
    }

    fn worker(&self) -> anyhow::Result<&NativeWorker> {
        self.world.as_ref().map(|(worker, _)| worker).ok_or_else(|| anyhow::anyhow!("the native target was not started"))
    }
}

#[async_trait(?Send)]
impl Target for NativeTarget {
    async fn start(&mut self, scenario: &str, fakes: &Fakes, secrets: &[(Binding, String)]) -> anyhow::Result<()> {
        let vars = runtime_vars(fakes);
        let config = agency_core::config::Config::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))?;
        let workdir = tempfile::tempdir()?;
        let worker = NativeWorker::new(
            config,
            secrets.iter().map(|(b, v)| (*b, SecretString::from(v.clone()))),
            NativeOptions {
                database: &workdir.path().join("d1.sqlite3"),
                migrations: &self.repo_root.join("migrations"),
                start_ms: START_MS,
                seed: seed_of(scenario),
                echo_logs: self.echo_logs,
            },
        )
        .map_err(|e| anyhow::anyhow!("opening the native trace store: {e}"))?;
        self.world = Some((worker, workdir));
        Ok(())
    }

    async fn deliver(&mut self, request: &WebhookRequest) -> anyhow::Result<WorkerResponse> {
        let inbound = agency_core::http::InboundRequest {
            method: request.method.to_owned(),
            path: request.path.to_owned(),
            headers: request.headers.clone(),
            body: request.body.clone(),
        };
        Ok(WorkerResponse::from_core(self.worker()?.handle(inbound).await))
    }

    async fn settle(&mut self) -> anyhow::Result<()> {
        self.worker()?.drain_queue().await.map_err(|e| anyhow::anyhow!("trace store failed while consuming: {e}"))?;
        Ok(())
    }

    async fn collect(&mut self) -> anyhow::Result<WorkerSinks> {
        let (worker, workdir) = self.world.as_ref().ok_or_else(|| anyhow::anyhow!("the native target was not started"))?;
        Ok(WorkerSinks {
            database: workdir.path().join("d1.sqlite3"),
            artifacts: worker.artifacts.objects(),
            logs: worker.log.lines(),
            extra_paths: Vec::new(),
        })
    }
}

/// Ids and jitter are seeded per scenario, so a scenario's native trace is the same every run.
fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}
