//! Scenario files: TOML, one test case each. The format is documented in scenarios/README.md;
//! unknown keys are errors, so a typo fails loudly instead of silently testing nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agency_fakes::{FaultSpec, Ga4Fixture, TaskFixture};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub description: String,
    #[serde(default)]
    pub tasks: Vec<TaskFixture>,
    #[serde(default)]
    pub ga4_properties: BTreeMap<String, Ga4Fixture>,
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    pub deliveries: Vec<Delivery>,
    pub expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    pub kind: DeliveryKind,
    #[serde(default)]
    pub signature: Signature,
    #[serde(default)]
    pub events: Vec<EventSpec>,
    /// Deliver the same request this many times (a replay).
    #[serde(default = "one")]
    pub times: usize,
}

fn one() -> usize {
    1
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    Handshake,
    Events,
}

#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Signature {
    #[default]
    Valid,
    Wrong,
    Missing,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    pub task: String,
    /// Who acted: the agent itself, or a human.
    #[serde(default)]
    pub by: Actor,
    /// When set, the event is "story added" (a comment) on the task rather than a task change.
    pub story: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    #[default]
    Human,
    Agent,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The HTTP status of each delivery the Worker answered, in order.
    pub responses: Vec<u16>,
    /// Every run row, in the order the runs started.
    pub runs: Vec<ExpectRun>,
    /// The exact set of bindings granted to the runs (from D1's `secret_reads`).
    pub bindings_read: Vec<String>,
    /// Comments the runtime posted to fake Asana.
    #[serde(default)]
    pub comments: usize,
    /// Denied reads (policy violations) expected in `secret_reads`.
    #[serde(default)]
    pub denied_reads: Vec<String>,
    /// Waits the runtime asked for, in milliseconds (Retry-After and backoff), when checked.
    pub sleeps_ms: Option<Vec<u64>>,
    /// Insta snapshots to compare: "comment", "report_html", "report_json".
    #[serde(default)]
    pub snapshots: Vec<SnapshotKind>,
    /// A mutant's expected leaks; every finding must be one of these, and each must be found.
    #[serde(default)]
    pub leaks: Vec<ExpectLeak>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectRun {
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    /// `name=status` per step, in order, when checked.
    pub steps: Option<Vec<String>>,
    /// Attempts per step name, when checked.
    #[serde(default)]
    pub attempts: BTreeMap<String, i64>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotKind {
    Comment,
    ReportHtml,
    ReportJson,
}

impl SnapshotKind {
    pub fn name(self) -> &'static str {
        match self {
            SnapshotKind::Comment => "comment",
            SnapshotKind::ReportHtml => "report_html",
            SnapshotKind::ReportJson => "report_json",
        }
    }
}

#[derive(Debug, Deserialize, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExpectLeak {
    pub binding: String,
    pub sink: String,
    pub encoding: String,
}

/// A scenario file that could not be read or parsed; its message names the file and line.
#[derive(Debug)]
pub struct InvalidScenario(pub String);

impl std::fmt::Display for InvalidScenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidScenario {}

pub fn load(path: &Path) -> Result<Scenario, InvalidScenario> {
    let text = std::fs::read_to_string(path).map_err(|e| InvalidScenario(format!("{}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|span| text[..span.start].matches('\n').count() + 1);
        let place = line.map_or_else(|| path.display().to_string(), |l| format!("{}:{l}", path.display()));
        InvalidScenario(format!("{place}: {}", e.message()))
    })
}

/// The scenario files named by `paths` (files, or directories searched for `*.toml`), sorted.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InvalidScenario> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| InvalidScenario(format!("{}: {e}", path.display())))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(InvalidScenario(format!("{}: no such scenario file or directory", path.display())));
        }
    }
    if files.is_empty() {
        return Err(InvalidScenario("no scenario files found".into()));
    }
    Ok(files)
}
