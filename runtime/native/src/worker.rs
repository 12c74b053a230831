//! The runtime assembled from native adapters: the same core the Worker runs, in-process.

use std::path::Path;
use std::rc::Rc;

use agency_core::binding::Binding;
use agency_core::config::Config;
use agency_core::consume::{self, RunOutcome};
use agency_core::http::{InboundRequest, InboundResponse};
use agency_core::platform::{Platform, StoreError};
use secrecy::SecretString;

use crate::{CapturedLog, MapSecrets, MemoryArtifacts, MemoryQueue, ReqwestClient, SeededRandom, SqliteTraceStore, VirtualClock};

pub struct NativeWorker {
    pub config: Config,
    pub artifacts: Rc<MemoryArtifacts>,
    pub queue: Rc<MemoryQueue>,
    pub log: Rc<CapturedLog>,
    pub clock: Rc<VirtualClock>,
    pub traces: Rc<SqliteTraceStore>,
    platform: Platform,
}

pub struct NativeOptions<'a> {
    pub database: &'a Path,
    pub migrations: &'a Path,
    pub start_ms: i64,
    pub seed: u64,
    pub echo_logs: bool,
}

impl NativeWorker {
    pub fn new(
        config: Config,
        secrets: impl IntoIterator<Item = (Binding, SecretString)>,
        options: NativeOptions<'_>,
    ) -> Result<NativeWorker, StoreError> {
        let artifacts = Rc::new(MemoryArtifacts::default());
        let queue = Rc::new(MemoryQueue::default());
        let log = Rc::new(CapturedLog::echoing(options.echo_logs));
        let clock = Rc::new(VirtualClock::starting_at(options.start_ms));
        let traces = Rc::new(SqliteTraceStore::open(options.database, options.migrations)?);
        let platform = Platform {
            http: Rc::new(ReqwestClient::new()),
            traces: traces.clone(),
            artifacts: artifacts.clone(),
            secrets: Rc::new(MapSecrets::new(secrets)),
            queue: queue.clone(),
            clock: clock.clone(),
            sleeper: clock.clone(),
            random: Rc::new(SeededRandom::new(options.seed)),
            log: log.clone(),
        };
        Ok(NativeWorker { config, artifacts, queue, log, clock, traces, platform })
    }

    /// The fetch handler.
    pub async fn handle(&self, request: InboundRequest) -> InboundResponse {
        agency_core::intake::handle(&self.platform, &self.config, request).await
    }

    /// The queue consumer, run until the queue is empty.
    pub async fn drain_queue(&self) -> Result<Vec<RunOutcome>, StoreError> {
        let mut outcomes = Vec::new();
        while let Some(job) = self.queue.pop() {
            outcomes.push(consume::process(&self.platform, &self.config, &job).await?);
        }
        Ok(outcomes)
    }
}
