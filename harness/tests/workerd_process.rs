//! Process hygiene of the workerd target, against the real `wrangler dev`: whether the target is
//! dropped, the harness is interrupted (SIGINT) or killed outright (SIGKILL), no port stays bound
//! and no process of wrangler's group (workerd included) stays alive.
//!
//! These need the wasm toolchain and wrangler, so they are ignored by a plain `cargo test`;
//! scripts/test.sh runs them after installing the toolchain:
//! `cargo test -p agency-harness --test workerd_process -- --ignored --test-threads=1`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agency_harness::workerd::process::{live_members, port_in_use};
use agency_harness::workerd::WorkerdTarget;
use agency_harness::{runner, scenario, target::Target};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

#[test]
#[ignore = "needs the wasm toolchain and wrangler (scripts/test.sh runs it)"]
fn dropping_the_target_frees_its_port_and_leaves_no_process() {
    std::env::set_var("INSTA_UPDATE", "no");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let repo = repo();
    let file = repo.join("scenarios/handshake.toml");
    let loaded = scenario::load(&file).unwrap();
    let mut target = WorkerdTarget::new(repo.clone(), false).unwrap();
    let outcome = runtime.block_on(runner::run(&file, &loaded, &mut target, &repo)).unwrap();
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let port = target.port();
    let group = target.process_group().expect("wrangler dev is running");
    assert!(port_in_use(port));
    assert!(live_members(group).iter().any(|(_, comm)| comm == "workerd"), "{:?}", live_members(group));
    assert!(target.summary().is_some());
    drop(target);
    assert!(live_members(group).is_empty(), "left behind: {:?}", live_members(group));
    assert!(!port_in_use(port), "port {port} is still bound");
}

/// The supervisor of `wrangler dev` started by harness process `harness`, once it exists:
/// (its pid, which is also its process group, the port wrangler serves on, and the target's
/// temporary directory).
fn wrangler_of(harness: u32) -> Option<(i32, u16, PathBuf)> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let ppid: u32 = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid != harness {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.iter().any(|a| a == "agency-harness-supervisor") && args.iter().any(|a| a == "dev") {
            let after = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
            let port = after("--port")?.parse().ok()?;
            let work = Path::new(&after("--config")?).parent()?.to_path_buf();
            return Some((pid, port, work));
        }
    }
    None
}

/// Starts the slowest scenario (real 2 s waits) on workerd and returns once its Worker serves.
fn harness_mid_scenario() -> (Child, i32, u16, PathBuf) {
    let child = Command::new(env!("CARGO_BIN_EXE_agency-harness"))
        .args(["run", "--target", "workerd", "scenarios/ga4-429-then-success.toml"])
        .current_dir(repo())
        .env("INSTA_UPDATE", "no")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut found = None;
    assert!(wait_until(Duration::from_secs(180), || {
        found = wrangler_of(child.id());
        found.as_ref().is_some_and(|(_, port, _)| port_in_use(*port))
    }));
    let (group, port, work) = found.unwrap();
    assert!(wait_until(Duration::from_secs(60), || live_members(group).iter().any(|(_, c)| c == "workerd")));
    (child, group, port, work)
}

#[test]
#[ignore = "needs the wasm toolchain and wrangler (scripts/test.sh runs it)"]
fn an_interrupted_run_stops_wrangler_and_exits_130() {
    let (mut child, group, port, work) = harness_mid_scenario();
    // SAFETY: kill(2) on the child we started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(live_members(group).is_empty(), "left behind: {:?}", live_members(group));
    assert!(wait_until(Duration::from_secs(5), || !port_in_use(port)), "port {port} is still bound");
    assert!(!work.exists(), "the temporary directory {} was not removed", work.display());
}

#[test]
#[ignore = "needs the wasm toolchain and wrangler (scripts/test.sh runs it)"]
fn a_killed_harness_still_takes_wrangler_down() {
    let (mut child, group, port, work) = harness_mid_scenario();
    child.kill().unwrap(); // SIGKILL: no handler, no destructor runs.
    child.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(15), || live_members(group).is_empty()),
        "left behind: {:?}",
        live_members(group)
    );
    assert!(wait_until(Duration::from_secs(5), || !port_in_use(port)), "port {port} is still bound");
    // Nothing ran the destructor that removes the temporary directory (synthetic canaries only).
    let _ = std::fs::remove_dir_all(work);
}
