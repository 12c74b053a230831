//! The `agency-harness` binary as users and CI call it: the scenario suite passes, a broken
//! scenario file is a usage error naming its file and line, and a mutant fails when its leak is
//! not expected.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn harness(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_agency-harness"))
        .args(args)
        .current_dir(repo())
        .env("INSTA_UPDATE", "no")
        .output()
        .expect("the harness binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_whole_suite_passes_with_the_mutant_caught() {
    let (code, stdout, stderr) = harness(&["run"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let scenarios = std::fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "toml"))
        .count();
    assert_eq!(stdout.lines().last(), Some(format!("{scenarios} passed, 0 failed").as_str()));
    assert!(stdout.lines().any(|l| l.starts_with("PASS mutant-raw-error-body") && l.contains("expected leak(s) caught")));
}

#[test]
fn an_invalid_scenario_is_a_usage_error_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, "description = \"x\"\n\n[[deliveries]]\nkind = \"events\"\nsignatur = \"wrong\"\n").unwrap();
    let (code, stdout, stderr) = harness(&["run", file.to_str().unwrap()]);
    assert_eq!(code, 2, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains(&format!("{}:5", file.display())), "{stderr}");
    assert!(stderr.contains("signatur"), "{stderr}");
}

#[test]
fn a_leak_nobody_expected_fails_the_scenario() {
    // The mutant scenario without its expectation: the scanner's finding must fail it.
    let text = std::fs::read_to_string(repo().join("scenarios/mutant-raw-error-body.toml")).unwrap();
    let (before, _) = text.split_once("leaks = [").expect("the mutant expects its leaks last");
    let unexpected = before.to_owned();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mutant-unexpected.toml");
    std::fs::write(&file, unexpected).unwrap();
    let (code, stdout, _) = harness(&["run", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("leak: "), "{stdout}");
    assert!(stdout.contains("AGENCY_OS_GOOGLE_CLIENT_SECRET"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("0 passed, 1 failed"));
}

#[test]
fn no_usage_is_a_usage_error() {
    let (code, _, _) = harness(&["run", "--target", "nowhere"]);
    assert_eq!(code, 2);
    let (code, _, stderr) = harness(&["run", "no/such/dir"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no/such/dir"));
}
