//! Insta snapshots of what a run shows people (the comment, the report), with volatile values
//! masked (run ids, times, dates). Snapshots live in scenarios/snapshots/ and are reviewed on purpose
//! (`cargo insta review`, or `agency-harness run --update-snapshots` then `git diff`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

pub fn check(repo_root: &Path, scenario: &str, kind: &str, value: &str) -> Result<(), String> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo_root.join("scenarios").join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!("scenario {scenario}: {kind}"));
    settings.add_filter(r"\b[0-9a-f]{32}\b", "[RUN_ID]");
    settings.add_filter(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\b", "[TIME]");
    // Report periods come from the clock: fixed natively, the real one on workerd.
    settings.add_filter(r"\b\d{4}-\d{2}-\d{2}\b", "[DATE]");
    let name = format!("{scenario}__{kind}");
    let snapshot_name = name.as_str();
    // A mismatch is reported as a scenario failure, not as a panic message.
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = settings.bind(|| catch_unwind(AssertUnwindSafe(|| insta::assert_snapshot!(snapshot_name, value))));
    std::panic::set_hook(previous_hook);
    outcome.map_err(|_| format!("snapshot {name} is new or differs (review with `cargo insta review`, or rerun with --update-snapshots)"))
}
