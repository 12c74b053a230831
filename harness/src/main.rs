//! `agency-harness`: runs the scenario suite, and scans files for canaries.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agency_harness::{runner, scan, scenario, target};
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
    /// Scan files, directories and SQLite databases for canaries.
    Scan(scan::cli::ScanArgs),
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

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    /// The runtime built natively, in-process, on an embedded SQLite.
    Native,
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
        Command::Scan(args) => scan::cli::run(args).unwrap_or_else(|error| {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }),
    }
}

fn run(args: RunArgs) -> ExitCode {
    let Target::Native = args.target;
    // Read by insta at each assertion; set before any thread exists. Insta's own diff output
    // would break the one-line-per-scenario report, so it shows only with --verbose.
    if args.update_snapshots {
        std::env::set_var("INSTA_UPDATE", "always");
    }
    if std::env::var_os("INSTA_OUTPUT").is_none() && !args.verbose {
        std::env::set_var("INSTA_OUTPUT", "none");
    }
    let repo_root = repo_root();
    let paths = if args.paths.is_empty() { vec![repo_root.join("scenarios")] } else { args.paths };
    let files = match scenario::discover(&paths) {
        Ok(files) => files,
        Err(error) => return usage_error(&error.to_string()),
    };
    let mut scenarios = Vec::new();
    for file in files {
        match scenario::load(&file) {
            Ok(loaded) => scenarios.push((file, loaded)),
            Err(error) => return usage_error(&format!("invalid scenario file {error}")),
        }
    }

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts");
    let mut target = target::NativeTarget::new(repo_root.clone(), args.verbose);
    let started = std::time::Instant::now();
    let (mut passed, mut failed, mut slowest) = (0, 0, (String::new(), std::time::Duration::ZERO));
    for (file, scenario) in &scenarios {
        match runtime.block_on(runner::run(file, scenario, &mut target, &repo_root)) {
            Ok(outcome) if outcome.failures.is_empty() => {
                passed += 1;
                let caught = if scenario.expect.leaks.is_empty() { String::new() } else { format!(", {} expected leak(s) caught", outcome.findings.len()) };
                println!("PASS {} ({:.2}s{caught})", outcome.name, outcome.elapsed.as_secs_f64());
                if outcome.elapsed > slowest.1 {
                    slowest = (outcome.name.clone(), outcome.elapsed);
                }
            }
            Ok(outcome) => {
                failed += 1;
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
    eprintln!(
        "suite: {:.2}s wall; slowest scenario {} ({:.2}s)",
        started.elapsed().as_secs_f64(),
        slowest.0,
        slowest.1.as_secs_f64()
    );
    println!("{passed} passed, {failed} failed");
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
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
