//! Runs one scenario against the native build: fresh canaries in every binding, fakes started
//! in-process, the runtime on an embedded SQLite, every delivery handed over, every queued job
//! run to a terminal status, every sink collected and scanned, every expectation checked.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agency_core::binding::Binding;
use agency_core::config::Config;
use agency_core::http::InboundRequest;
use agency_fakes::{Fakes, FakesConfig, SignatureMode};
use agency_native::{NativeOptions, NativeWorker};
use anyhow::Context;
use secrecy::SecretString;

use crate::canary::CanaryRegistry;
use crate::expect;
use crate::scan::{Finding, Scanner};
use crate::scenario::{Actor, DeliveryKind, Scenario, Signature};
use crate::sinks::{self, Collected, WorkerResponse};

/// The agent's Asana user and the one allowed project, as every scenario's world has them.
pub const AGENT_GID: &str = "1200000000000001";
pub const AGENT_NAME: &str = "Jessie (agent)";
pub const HUMAN_GID: &str = "1200000000000002";
pub const ALLOWED_PROJECT_GID: &str = "1200000000000100";
pub const DASHBOARD_URL: &str = "https://dashboard.agency.test";
/// Scenarios start at a fixed instant (2026-11-30T09:00:00Z) on a virtual clock.
pub const START_MS: i64 = 1_795_942_800_000;

pub struct Options {
    pub repo_root: PathBuf,
    pub echo_logs: bool,
}

pub struct Outcome {
    pub name: String,
    pub elapsed: Duration,
    pub failures: Vec<String>,
    pub findings: Vec<Finding>,
}

pub async fn run(path: &Path, scenario: &Scenario, options: &Options) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let name = path.file_stem().map_or_else(|| path.display().to_string(), |s| s.to_string_lossy().into_owned());
    let canaries = CanaryRegistry::default();
    let seeded = canaries.seed_all();

    let mut fakes_config = FakesConfig::new(seeded.iter().map(|(b, v)| (b.name().to_owned(), v.clone())).collect())
        .agent(AGENT_GID, AGENT_NAME);
    for task in &scenario.tasks {
        fakes_config = fakes_config.task(task.clone());
    }
    for (property, fixture) in &scenario.ga4_properties {
        fakes_config = fakes_config.ga4_property(property, fixture.clone());
    }
    for fault in &scenario.faults {
        fakes_config = fakes_config.fault(fault.clone());
    }
    let registry = canaries.clone();
    fakes_config = fakes_config.on_mint(move |label, value| registry.register(label, value));
    let fakes = Fakes::start(fakes_config).await.context("starting the fakes")?;

    let workdir = tempfile::tempdir().context("creating the scenario's work directory")?;
    let database = workdir.path().join("d1.sqlite3");
    let worker = NativeWorker::new(
        runtime_config(&fakes),
        seeded.iter().map(|(b, v)| (*b, SecretString::from(v.clone()))),
        NativeOptions {
            database: &database,
            migrations: &options.repo_root.join("migrations"),
            start_ms: START_MS,
            seed: seed_of(&name),
            echo_logs: options.echo_logs,
        },
    )
    .map_err(|e| anyhow::anyhow!("opening the native trace store: {e}"))?;

    let mut responses = Vec::new();
    for delivery in &scenario.deliveries {
        let asana = fakes.asana();
        let request = match delivery.kind {
            DeliveryKind::Handshake => asana.handshake(),
            DeliveryKind::Events => {
                let events = delivery
                    .events
                    .iter()
                    .map(|event| {
                        let user = match event.by {
                            Actor::Agent => AGENT_GID,
                            Actor::Human => HUMAN_GID,
                        };
                        match &event.story {
                            Some(story) => asana.story_added_event(&event.task, story, user),
                            None => asana.task_event(&event.task, user),
                        }
                    })
                    .collect();
                let mode = match delivery.signature {
                    Signature::Valid => SignatureMode::Valid,
                    Signature::Wrong => SignatureMode::Wrong,
                    Signature::Missing => SignatureMode::Missing,
                };
                asana.delivery(events, mode)
            }
        };
        for _ in 0..delivery.times {
            let inbound = InboundRequest {
                method: request.method.to_owned(),
                path: request.path.to_owned(),
                headers: request.headers.clone(),
                body: request.body.clone(),
            };
            let response = worker.handle(inbound).await;
            responses.push(WorkerResponse::from_core(response));
            worker.drain_queue().await.map_err(|e| anyhow::anyhow!("trace store failed while consuming: {e}"))?;
        }
    }

    let collected = Collected::gather(&fakes, &worker, &database, responses)?;
    let scanner = Scanner::new(canaries.all());
    let findings = sinks::scan_all(&scanner, &collected);
    let mut failures = expect::check(&name, scenario, &collected, &findings, &worker, &options.repo_root)?;
    failures.extend(expect::scope_invariants(&collected));
    Ok(Outcome { name, elapsed: started.elapsed(), failures, findings })
}

fn runtime_config(fakes: &Fakes) -> Config {
    let urls = fakes.base_urls();
    let vars = [
        ("ASANA_BASE_URL", urls.asana),
        ("GOOGLE_OAUTH_BASE_URL", urls.google_oauth),
        ("GA4_BASE_URL", urls.ga4),
        ("AI_GATEWAY_BASE_URL", urls.ai_gateway),
        ("AI_GATEWAY_ACCOUNT_ID", "harness-account".to_owned()),
        ("AI_GATEWAY_ID", "jessie".to_owned()),
        ("AI_MODEL", "openai/gpt-4o-mini".to_owned()),
        ("AGENT_USER_GID", AGENT_GID.to_owned()),
        ("ALLOWED_PROJECT_GIDS", ALLOWED_PROJECT_GID.to_owned()),
        ("DASHBOARD_URL", DASHBOARD_URL.to_owned()),
    ];
    Config::from_vars(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
        .expect("the harness sets every variable")
}

/// Ids and jitter are seeded per scenario, so a scenario's trace is the same on every run.
fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// Bindings the seed page approves, for checking scenario files' binding names.
pub fn is_binding_name(name: &str) -> bool {
    Binding::from_name(name).is_some()
}
