//! Runs one scenario against the native build: fresh canaries in every binding, fakes started
//! in-process, the runtime on an embedded SQLite, every delivery handed over, every queued job
//! run to a terminal status, every sink collected and scanned, every expectation checked.

use std::path::Path;
use std::time::{Duration, Instant};

use agency_core::binding::Binding;
use agency_fakes::{AsanaFake, Fakes, FakesConfig, SignatureMode, WebhookRequest};
use anyhow::Context;

use crate::canary::CanaryRegistry;
use crate::expect;
use crate::scan::{Finding, Scanner};
use crate::scenario::{Actor, Delivery, DeliveryKind, Scenario, Signature};
use crate::sinks::{self, Collected};
use crate::target::Target;

/// The agent's Asana user and the one allowed project, as every scenario's world has them.
pub const AGENT_GID: &str = "1200000000000001";
pub const AGENT_NAME: &str = "Jessie (agent)";
pub const HUMAN_GID: &str = "1200000000000002";
pub const ALLOWED_PROJECT_GID: &str = "1200000000000100";
pub const DASHBOARD_URL: &str = "https://dashboard.agency.test";
/// Scenarios start at a fixed instant (2026-11-30T09:00:00Z) on a virtual clock.
pub const START_MS: i64 = 1_796_029_200_000;

pub struct Outcome {
    pub name: String,
    pub elapsed: Duration,
    pub failures: Vec<String>,
    pub findings: Vec<Finding>,
    /// The run's trace, normalized for comparing targets ([`crate::parity`]).
    pub trace: Vec<String>,
    /// Set when the scenario was checked differently on this target (a mutant on a build
    /// without mutants).
    pub note: Option<String>,
}

pub async fn run(path: &Path, scenario: &Scenario, target: &mut dyn Target, repo_root: &Path) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let name = path.file_stem().map_or_else(|| path.display().to_string(), |s| s.to_string_lossy().into_owned());
    let canaries = CanaryRegistry::default();
    let seeded = canaries.seed_all();

    let registry = canaries.clone();
    let fakes_config = fakes_config(scenario, &seeded).on_mint(move |label, value| registry.register(label, value));
    let fakes = Fakes::start(fakes_config).await.context("starting the fakes")?;

    target.start(&name, &fakes, &seeded).await.context("starting the Worker")?;
    let mut responses = Vec::new();
    for delivery in &scenario.deliveries {
        let request = webhook_request(fakes.asana(), delivery);
        for _ in 0..delivery.times {
            responses.push(target.deliver(&request).await.context("delivering a webhook")?);
            target.settle().await?;
        }
    }

    let collected = Collected::gather(&fakes, target.collect().await?, responses)?;
    let scanner = Scanner::new(canaries.all());
    let findings = sinks::scan_all(&scanner, &collected)?;
    let mutant_absent = !scenario.expect.leaks.is_empty() && !target.has_mutants();
    let mut failures = if mutant_absent {
        expect::mutant_absent(scenario, &collected, &findings)?
    } else {
        expect::check(&name, scenario, &collected, &findings, repo_root)?
    };
    failures.extend(expect::scope_invariants(&collected));
    let note = mutant_absent.then(|| "a mutant: its skill is absent from this build, as checked".to_owned());
    let trace = crate::parity::normalized_trace(&collected.database)?;
    Ok(Outcome { name, elapsed: started.elapsed(), failures, findings, trace, note })
}

/// The fakes' world for `scenario`: the seeded canaries as the credentials they accept, the agent,
/// and the scenario's tasks, GA4 properties and faults.
pub fn fakes_config(scenario: &Scenario, seeded: &[(Binding, String)]) -> FakesConfig {
    let mut config = FakesConfig::new(seeded.iter().map(|(b, v)| (b.name().to_owned(), v.clone())).collect())
        .agent(AGENT_GID, AGENT_NAME);
    for task in &scenario.tasks {
        config = config.task(task.clone());
    }
    for (property, fixture) in &scenario.ga4_properties {
        config = config.ga4_property(property, fixture.clone());
    }
    for fault in &scenario.faults {
        config = config.fault(fault.clone());
    }
    config
}

fn webhook_request(asana: &AsanaFake, delivery: &Delivery) -> WebhookRequest {
    match delivery.kind {
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
    }
}

/// The Worker's non-secret configuration (its `[vars]`), pointing every provider at its fake.
pub fn runtime_vars(fakes: &Fakes) -> Vec<(&'static str, String)> {
    let urls = fakes.base_urls();
    vec![
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
    ]
}

/// Bindings the seed page approves, for checking scenario files' binding names.
pub fn is_binding_name(name: &str) -> bool {
    Binding::from_name(name).is_some()
}
