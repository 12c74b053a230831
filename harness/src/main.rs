//! `agency-harness`: runs the scenario suite (natively or on workerd), compares the two targets'
//! traces, and scans files for canaries.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agency_harness::scenario::Scenario;
use agency_harness::{parity, runner, scan, scenario, serve, target, workerd};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "agency-harness", about = "Contract-test and simulation harness for the Agency OS Worker")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenario files (default: scenarios/) and check every sink for every canary.
    Run(RunArgs),
    /// Run scenarios on both targets and diff their normalized traces (ids, times and dates masked).
    Parity(ParityArgs),
    /// Scan files, directories and SQLite databases for canaries.
    Scan(scan::cli::ScanArgs),
    /// The fake provider servers, standalone.
    #[command(subcommand)]
    Fakes(FakesCommand),
}

#[derive(Subcommand)]
enum FakesCommand {
    /// Serve every fake on fixed loopback ports until interrupted; write a manifest of base URLs and canaries.
    Serve(serve::ServeArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Which build of the Worker to run.
    #[arg(long, value_enum, default_value_t = Target::Native)]
    target: Target,
    /// Write new or changed snapshots instead of failing on them (review them with git diff).
    #[arg(long)]
    update_snapshots: bool,
    /// Mirror the runtime's (sanitized) log lines to stderr.
    #[arg(long)]
    verbose: bool,
    /// Scenario files or directories.
    paths: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct ParityArgs {
    /// Mirror the runtime's (sanitized) log lines and wrangler's output to stderr.
    #[arg(long)]
    verbose: bool,
    /// Scenario files or directories.
    paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    /// The runtime built natively, in-process, on an embedded SQLite.
    Native,
    /// The Worker's wasm32 build under `wrangler dev` (workerd, local D1, R2 and Queues).
    Workerd,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match cli.command {
        Command::Run(args) => run(args),
        Command::Parity(args) => parity(args),
        Command::Scan(args) => scan::cli::run(args).unwrap_or_else(|error| {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }),
        Command::Fakes(FakesCommand::Serve(args)) => serve::run(args).unwrap_or_else(|error| {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }),
    }
}

fn run(args: RunArgs) -> ExitCode {
    // Read by insta at each assertion; set before any thread exists.
    if args.update_snapshots {
        std::env::set_var("INSTA_UPDATE", "always");
    }
    quiet_insta(args.verbose);
    let repo_root = repo_root();
    let scenarios = match load_scenarios(&repo_root, args.paths) {
        Ok(scenarios) => scenarios,
        Err(code) => return code,
    };
    until_interrupted(run_suite(args.target, &scenarios, &repo_root, args.verbose))
}

/// Insta's own diff output would break the one-line-per-scenario report, so it shows only with
/// --verbose.
fn quiet_insta(verbose: bool) {
    if std::env::var_os("INSTA_OUTPUT").is_none() && !verbose {
        std::env::set_var("INSTA_OUTPUT", "none");
    }
}

fn load_scenarios(repo_root: &Path, paths: Vec<PathBuf>) -> Result<Vec<(PathBuf, Scenario)>, ExitCode> {
    let paths = if paths.is_empty() { vec![repo_root.join("scenarios")] } else { paths };
    let files = scenario::discover(&paths).map_err(|error| usage_error(&error.to_string()))?;
    let mut scenarios = Vec::new();
    for file in files {
        match scenario::load(&file) {
            Ok(loaded) => scenarios.push((file, loaded)),
            Err(error) => return Err(usage_error(&format!("invalid scenario file {error}"))),
        }
    }
    Ok(scenarios)
}

/// Runs `work` to completion unless SIGINT, SIGTERM or SIGHUP comes first; then `work` is
/// dropped, and with it any target (the workerd target stops wrangler's whole process group).
/// Should that not end the process within 15 s (or on a second signal), the Worker's process
/// groups are killed and the process exits anyway, so a wedged run still obeys a CI timeout.
fn until_interrupted(work: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<&'static str>();
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        runtime.block_on(async {
            let first = interrupted().await;
            let _ = signalled.send(first);
            let second = tokio::select! {
                second = interrupted() => second,
                _ = tokio::time::sleep(std::time::Duration::from_secs(15)) => "a 15 s grace period",
            };
            eprintln!("still running after {first} and {second}: killing the Worker's processes and exiting");
            workerd::process::kill_all_groups();
            std::process::exit(130);
        });
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts");
    runtime.block_on(async {
        tokio::select! {
            biased;
            Ok(signal) = on_signal => {
                eprintln!("interrupted ({signal}): stopping");
                ExitCode::from(130)
            }
            code = work => code,
        }
    })
}

async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut terminate), Ok(mut hangup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
        _ = hangup.recv() => "SIGHUP",
    }
}

fn make_target(kind: Target, repo_root: &Path, verbose: bool) -> anyhow::Result<Box<dyn target::Target>> {
    Ok(match kind {
        Target::Native => Box::new(target::NativeTarget::new(repo_root.to_path_buf(), verbose)),
        Target::Workerd => Box::new(workerd::WorkerdTarget::new(repo_root.to_path_buf(), verbose)?),
    })
}

async fn run_suite(kind: Target, scenarios: &[(PathBuf, Scenario)], repo_root: &Path, verbose: bool) -> ExitCode {
    let started = std::time::Instant::now();
    let mut target = match make_target(kind, repo_root, verbose) {
        Ok(target) => target,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    let (mut passed, mut failed, mut slowest) = (0, 0, (String::new(), std::time::Duration::ZERO));
    for (file, scenario) in scenarios {
        match runner::run(file, scenario, target.as_mut(), repo_root).await {
            Ok(outcome) if outcome.failures.is_empty() => {
                passed += 1;
                let caught = match &outcome.note {
                    Some(note) => format!(", {note}"),
                    None if scenario.expect.leaks.is_empty() => String::new(),
                    None => format!(", {} expected leak(s) caught", outcome.findings.len()),
                };
                println!("PASS {} ({:.2}s{caught})", outcome.name, outcome.elapsed.as_secs_f64());
                if outcome.elapsed > slowest.1 {
                    slowest = (outcome.name.clone(), outcome.elapsed);
                }
            }
            Ok(outcome) => {
                failed += 1;
                if outcome.elapsed > slowest.1 {
                    slowest = (outcome.name.clone(), outcome.elapsed);
                }
                println!("FAIL {} ({:.2}s)", outcome.name, outcome.elapsed.as_secs_f64());
                for failure in &outcome.failures {
                    println!("    {failure}");
                }
            }
            Err(error) => {
                failed += 1;
                println!("FAIL {}: {error:#}", file.display());
            }
        }
    }
    if let Some(summary) = target.summary() {
        eprintln!("{summary}");
    }
    drop(target);
    // On stdout, before the summary, so the summary stays the last line whatever the piping.
    let slowest = if slowest.0.is_empty() {
        String::new()
    } else {
        format!("; slowest scenario {} ({:.2}s)", slowest.0, slowest.1.as_secs_f64())
    };
    println!("suite: {:.2}s wall{slowest}", started.elapsed().as_secs_f64());
    println!("{passed} passed, {failed} failed");
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn parity(args: ParityArgs) -> ExitCode {
    quiet_insta(args.verbose);
    let repo_root = repo_root();
    let scenarios = match load_scenarios(&repo_root, args.paths) {
        Ok(scenarios) => scenarios,
        Err(code) => return code,
    };
    until_interrupted(run_parity(&scenarios, &repo_root, args.verbose))
}

/// Each scenario on the native target, then on workerd; the normalized traces must be equal
/// and the scenario must pass on both.
async fn run_parity(scenarios: &[(PathBuf, Scenario)], repo_root: &Path, verbose: bool) -> ExitCode {
    let mut native = target::NativeTarget::new(repo_root.to_path_buf(), verbose);
    let mut workerd = match workerd::WorkerdTarget::new(repo_root.to_path_buf(), verbose) {
        Ok(target) => target,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    let (mut same, mut differ, mut skipped) = (0, 0, 0);
    for (file, scenario) in scenarios {
        let on_native = runner::run(file, scenario, &mut native, repo_root).await;
        let on_workerd = runner::run(file, scenario, &mut workerd, repo_root).await;
        let (native_outcome, workerd_outcome) = match (on_native, on_workerd) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => {
                differ += 1;
                println!("DIFF {}: a target could not run it", file.display());
                for (name, result) in [("native", a.err()), ("workerd", b.err())] {
                    if let Some(error) = result {
                        println!("    {name}: {error:#}");
                    }
                }
                continue;
            }
        };
        if let Some(note) = &workerd_outcome.note {
            // A mutant runs its leaky skill natively and must find none in the Worker: the
            // traces differ by design, and each side was checked on its own terms.
            let ok = native_outcome.failures.is_empty() && workerd_outcome.failures.is_empty();
            if ok {
                skipped += 1;
            } else {
                differ += 1;
            }
            println!("{} {} (not compared: {note}; native {}, workerd {})", if ok { "SKIP" } else { "DIFF" }, native_outcome.name, verdict_of(&native_outcome), verdict_of(&workerd_outcome));
            for (name, outcome) in [("native", &native_outcome), ("workerd", &workerd_outcome)] {
                for failure in &outcome.failures {
                    println!("    {name} failed: {failure}");
                }
            }
            continue;
        }
        let lines = parity::diff(&native_outcome.trace, &workerd_outcome.trace);
        let verdict = verdict_of;
        let summary = format!(
            "{} (native {} {:.2}s, workerd {} {:.2}s, {} trace rows)",
            native_outcome.name,
            verdict(&native_outcome),
            native_outcome.elapsed.as_secs_f64(),
            verdict(&workerd_outcome),
            workerd_outcome.elapsed.as_secs_f64(),
            native_outcome.trace.len()
        );
        if lines.is_empty() && native_outcome.failures.is_empty() && workerd_outcome.failures.is_empty() {
            same += 1;
            println!("SAME {summary}");
            continue;
        }
        differ += 1;
        println!("DIFF {summary}");
        for line in &lines {
            println!("    {line}");
        }
        for (name, outcome) in [("native", &native_outcome), ("workerd", &workerd_outcome)] {
            for failure in &outcome.failures {
                println!("    {name} failed: {failure}");
            }
        }
    }
    if let Some(summary) = target::Target::summary(&workerd) {
        eprintln!("{summary}");
    }
    drop(workerd);
    let not_compared = if skipped > 0 { format!(", {skipped} not compared (mutants)") } else { String::new() };
    println!("{same} identical, {differ} differ{not_compared}");
    if differ == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn verdict_of(outcome: &runner::Outcome) -> &'static str {
    if outcome.failures.is_empty() { "PASS" } else { "FAIL" }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// The repository root: the nearest directory upwards holding `migrations/` and `scenarios/`,
/// else the one this binary was built from.
fn repo_root() -> PathBuf {
    let is_root = |dir: &Path| dir.join("migrations").is_dir() && dir.join("scenarios").is_dir();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .find(|dir| is_root(dir))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}
