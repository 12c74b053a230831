//! Checks a finished scenario against its expectations, and against the invariants every
//! scenario must keep whatever it expects (scopes, no unexpected leak).

use std::collections::BTreeSet;
use std::path::Path;

use crate::scan::Finding;
use crate::scenario::{Scenario, SnapshotKind};
use crate::sinks::Collected;
use crate::snapshot;

struct RunRow {
    id: String,
    kind: String,
    status: String,
    reason: Option<String>,
}

fn runs(collected: &Collected) -> anyhow::Result<Vec<RunRow>> {
    let mut statement = collected.database.prepare("SELECT id, kind, status, reason FROM runs ORDER BY rowid")?;
    let rows = statement.query_map([], |row| {
        Ok(RunRow { id: row.get(0)?, kind: row.get(1)?, status: row.get(2)?, reason: row.get(3)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn steps(collected: &Collected, run_id: &str) -> anyhow::Result<Vec<(String, String, i64)>> {
    let mut statement = collected.database.prepare("SELECT name, status, attempts FROM run_steps WHERE run_id = ?1 ORDER BY seq")?;
    let rows = statement.query_map([run_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn bindings(collected: &Collected, decision: &str) -> anyhow::Result<Vec<String>> {
    let mut statement = collected.database.prepare("SELECT binding FROM secret_reads WHERE decision = ?1 ORDER BY rowid")?;
    let rows = statement.query_map([decision], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn check(
    name: &str,
    scenario: &Scenario,
    collected: &Collected,
    findings: &[Finding],
    repo_root: &Path,
) -> anyhow::Result<Vec<String>> {
    let expect = &scenario.expect;
    let mut failures = Vec::new();

    let statuses: Vec<u16> = collected.responses.iter().map(|r| r.status).collect();
    if statuses != expect.responses {
        failures.push(format!("responses: expected {:?}, got {statuses:?}", expect.responses));
    }

    let actual = runs(collected)?;
    if actual.len() != expect.runs.len() {
        let got: Vec<String> = actual.iter().map(|r| format!("{}:{}", r.kind, r.status)).collect();
        failures.push(format!("runs: expected {} run(s), got {} {got:?}", expect.runs.len(), actual.len()));
    }
    for (i, (run, wanted)) in actual.iter().zip(&expect.runs).enumerate() {
        let n = i + 1;
        if run.kind != wanted.kind || run.status != wanted.status {
            failures.push(format!("run {n}: expected {}:{}, got {}:{}", wanted.kind, wanted.status, run.kind, run.status));
        }
        if let Some(reason) = &wanted.reason {
            if run.reason.as_deref() != Some(reason.as_str()) {
                failures.push(format!("run {n}: expected reason {reason:?}, got {:?}", run.reason));
            }
        }
        let run_steps = steps(collected, &run.id)?;
        if let Some(wanted_steps) = &wanted.steps {
            let got: Vec<String> = run_steps.iter().map(|(name, status, _)| format!("{name}={status}")).collect();
            if &got != wanted_steps {
                failures.push(format!("run {n}: expected steps {wanted_steps:?}, got {got:?}"));
            }
        }
        for (step, attempts) in &wanted.attempts {
            let got = run_steps.iter().find(|(name, _, _)| name == step).map(|(_, _, a)| *a);
            if got != Some(*attempts) {
                failures.push(format!("run {n}: expected {attempts} attempt(s) of {step}, got {got:?}"));
            }
        }
    }

    for binding in expect.bindings_read.iter().chain(&expect.denied_reads) {
        if !crate::runner::is_binding_name(binding) {
            failures.push(format!("expect names {binding:?}, which is not an approved binding"));
        }
    }
    let granted: BTreeSet<String> = bindings(collected, "granted")?.into_iter().collect();
    let wanted: BTreeSet<String> = expect.bindings_read.iter().cloned().collect();
    if granted != wanted {
        failures.push(format!("bindings read: expected {wanted:?}, got {granted:?}"));
    }
    let denied = bindings(collected, "denied")?;
    if denied != expect.denied_reads {
        failures.push(format!("denied reads: expected {:?}, got {denied:?}", expect.denied_reads));
    }

    let comments = collected.comments();
    if comments.len() != expect.comments {
        failures.push(format!("comments: expected {}, got {}", expect.comments, comments.len()));
    }

    if let Some(sleeps) = &expect.sleeps_ms {
        let got = collected.sleeps_ms();
        if &got != sleeps {
            failures.push(format!("sleeps: expected {sleeps:?} ms, got {got:?} ms"));
        }
    }

    for kind in &expect.snapshots {
        let value = match kind {
            SnapshotKind::Comment => comments.last().cloned(),
            SnapshotKind::ReportHtml => artifact(collected, "report.html"),
            SnapshotKind::ReportJson => artifact(collected, "report.json"),
        };
        match value {
            None => failures.push(format!("snapshot {}: nothing was produced", kind.name())),
            Some(value) => {
                if let Err(failure) = snapshot::check(repo_root, name, kind.name(), &value) {
                    failures.push(failure);
                }
            }
        }
    }

    failures.extend(leak_failures(expect, findings));
    Ok(failures)
}

fn artifact(collected: &Collected, name: &str) -> Option<String> {
    collected.artifacts.iter().find(|a| a.key.ends_with(&format!("/{name}"))).map(|a| a.body.clone())
}

/// With no expected leaks, any finding fails the scenario. A mutant names the leaks it must be
/// caught with: each must be found, and nothing else may be.
fn leak_failures(expect: &crate::scenario::Expect, findings: &[Finding]) -> Vec<String> {
    let matches = |f: &Finding, leak: &crate::scenario::ExpectLeak| {
        f.binding == leak.binding && f.path == leak.sink && f.encoding == leak.encoding
    };
    let mut failures: Vec<String> = findings
        .iter()
        .filter(|f| !expect.leaks.iter().any(|leak| matches(f, leak)))
        .map(|f| format!("leak: {f}"))
        .collect();
    for leak in &expect.leaks {
        if !findings.iter().any(|f| matches(f, leak)) {
            failures.push(format!(
                "expected leak not caught: {} in {} as {}",
                leak.binding, leak.sink, leak.encoding
            ));
        }
    }
    failures
}

/// A mutant scenario on a target built without mutants (the Worker never enables them): its
/// leaky skill must not exist there. Each task run is ineligible for naming an unknown skill,
/// only the intake and eligibility bindings are read, nothing is posted, and nothing leaks.
pub fn mutant_absent(scenario: &Scenario, collected: &Collected, findings: &[Finding]) -> anyhow::Result<Vec<String>> {
    let mut failures = Vec::new();
    let statuses: Vec<u16> = collected.responses.iter().map(|r| r.status).collect();
    if statuses != scenario.expect.responses {
        failures.push(format!("responses: expected {:?}, got {statuses:?}", scenario.expect.responses));
    }
    let tasks: Vec<RunRow> = runs(collected)?.into_iter().filter(|r| r.kind == "task").collect();
    if tasks.is_empty() {
        failures.push("mutant: expected its task run(s), got none".to_owned());
    }
    for run in &tasks {
        let unknown = run.reason.as_deref().is_some_and(|r| r.starts_with("unknown skill"));
        if run.status != "ineligible" || !unknown {
            failures.push(format!(
                "mutant: the Worker build must not know its skill, yet the task run is {} ({:?})",
                run.status, run.reason
            ));
        }
    }
    for binding in bindings(collected, "granted")? {
        if binding != "ASANA_WEBHOOK_SECRET" && binding != "AGENCY_OS_ASANA_AGENT_PAT" {
            failures.push(format!("mutant: {binding} was read, though no skill ran"));
        }
    }
    if !collected.comments().is_empty() {
        failures.push("mutant: a comment was posted, though no skill ran".to_owned());
    }
    failures.extend(findings.iter().map(|f| format!("leak: {f}")));
    Ok(failures)
}

/// What every scenario must keep: intake reads only the webhook secret; eligibility only the
/// Asana PAT; no other binding is read unless the run passed eligibility and claimed its task.
pub fn scope_invariants(collected: &Collected) -> Vec<String> {
    let query = "SELECT r.kind, r.status, r.skill, s.binding, s.step, s.step_seq, \
                 (SELECT e.status FROM run_steps e WHERE e.run_id = r.id AND e.name = 'eligibility') \
                 FROM secret_reads s JOIN runs r ON r.id = s.run_id WHERE s.decision = 'granted' ORDER BY s.rowid";
    let mut failures = Vec::new();
    let rows = collected.database.prepare(query).and_then(|mut statement| {
        statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, i64>(5)?,
                    row.get::<_, Option<String>>(6)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()
    });
    let rows = match rows {
        Ok(rows) => rows,
        Err(error) => return vec![format!("reading secret_reads: {error}")],
    };
    for (kind, status, skill, binding, step, seq, eligibility) in rows {
        let ok = match (kind.as_str(), binding.as_str()) {
            ("delivery", "ASANA_WEBHOOK_SECRET") => true,
            ("delivery", _) => false,
            ("task", "AGENCY_OS_ASANA_AGENT_PAT") => true,
            ("task", _) => {
                step != "eligibility"
                    && seq > 0
                    && eligibility.as_deref() == Some("ok")
                    && skill.is_some()
                    && matches!(status.as_str(), "running" | "succeeded" | "failed")
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("scope: {binding} was read by a {kind} run ({status}) in step {step} before eligibility passed"));
        }
    }
    failures
}
