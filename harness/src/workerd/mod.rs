//! The workerd target: the Worker's wasm32 build under `wrangler dev` (workerd, miniflare's local
//! D1, R2 and Queues), driven over HTTP.
//!
//! One `wrangler dev` serves the whole suite. Each scenario gets fresh state inside the one
//! persist directory: [`WorkerdTarget::start`] writes this scenario's canaries to `.dev.vars` and
//! rewrites the derived config ([`config`]) with a fresh D1 database id, R2 bucket and queue and
//! `[vars]` pointing at this scenario's fakes; wrangler sees its config change and reloads the
//! Worker (a new workerd process, so no pooled connection to an earlier scenario's fakes
//! survives). The fresh database was migrated (`wrangler d1 migrations apply --local`) while the
//! previous scenario ran.
//!
//! Everything outside the repository lives in one temporary directory, removed at the end:
//! the copy of the build, the derived config, `.dev.vars` (mode 0600), the persist directory,
//! wrangler's logs, and HOME/XDG/TMPDIR for every wrangler process.

mod config;
pub mod process;
mod state;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agency_core::binding::Binding;
use agency_fakes::{Fakes, WebhookRequest};
use anyhow::{anyhow, bail, Context};
use async_trait::async_trait;

use crate::runner::runtime_vars;
use crate::sinks::WorkerResponse;
use crate::target::{ExtraPath, Target, WorkerSinks};
use config::{DerivedConfig, Resources};
use process::{Output, Supervised};

/// What installs everything this target needs (idempotent, reuses what is present).
pub const INSTALL_COMMAND: &str = "bash scripts/install-wasm-toolchain.sh";
const START_TIMEOUT: Duration = Duration::from_secs(90);
const RELOAD_TIMEOUT: Duration = Duration::from_secs(60);
const MIGRATIONS_TIMEOUT: Duration = Duration::from_secs(90);
/// Long enough for the slowest scenario's real waits (Retry-After, backoff) several times over.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Set to keep the temporary directory (persist dir, logs, derived config) for inspection.
pub const KEEP_ENV: &str = "AGENCY_WORKERD_KEEP";
const POLL: Duration = Duration::from_millis(20);

pub struct WorkerdTarget {
    repo_root: PathBuf,
    /// The temporary directory (None once kept for inspection, see [`KEEP_ENV`]).
    work: Option<tempfile::TempDir>,
    work_path: PathBuf,
    wrangler_bin: PathBuf,
    config: DerivedConfig,
    salt: String,
    port: u16,
    inspector_port: u16,
    output: Arc<Output>,
    wrangler: Option<Supervised>,
    http: reqwest::Client,
    generation: u32,
    /// Where the current scenario's share of wrangler's output begins.
    slice_start: usize,
    current: Option<Current>,
    next_database: Option<PreparedDatabase>,
    isolation: Vec<Duration>,
}

/// A fresh D1 database being migrated ahead of the scenario that will use it.
struct PreparedDatabase {
    generation: u32,
    resources: Resources,
    config: PathBuf,
    /// The D1 files that existed before its migrations started.
    before: std::collections::BTreeSet<PathBuf>,
    process: Supervised,
    from: usize,
}

/// The scenario being run.
struct Current {
    name: String,
    resources: Resources,
    d1_file: PathBuf,
    /// The output line that said this scenario's Worker is ready.
    ready_line: usize,
    /// Task jobs the Worker said it queued (`{"accepted":N}`), summed over deliveries.
    accepted: u64,
}

impl WorkerdTarget {
    /// Checks the toolchain, builds the Worker once (scripts/build-worker.sh) and copies the
    /// build aside. `wrangler dev` starts with the first scenario.
    pub fn new(repo_root: PathBuf, echo: bool) -> anyhow::Result<WorkerdTarget> {
        let wrangler_bin = check_toolchain(&repo_root)?;
        let work = tempfile::Builder::new().prefix("agency-workerd-").tempdir().context("creating the workerd target's temporary directory")?;
        let work_path = work.path().to_path_buf();
        for dir in ["persist", "wrangler-logs", "home/.config", "tmp", "output"] {
            std::fs::create_dir_all(work_path.join(dir))?;
        }
        build_worker(&repo_root, echo)?;
        copy_dir(&repo_root.join("runtime/worker/build"), &work_path.join("bundle")).context("copying the Worker build")?;
        let config = DerivedConfig::load(&repo_root.join("wrangler.toml"))?;
        let salt: String = format!("{:06x}", rand::random::<u32>() & 0x00ff_ffff);
        Ok(WorkerdTarget {
            repo_root,
            work: Some(work),
            work_path,
            wrangler_bin,
            config,
            salt,
            port: process::free_port()?,
            inspector_port: process::free_port()?,
            output: Output::new(echo),
            wrangler: None,
            // No idle pooling: a config reload closes wrangler's listener side, and a pooled
            // keep-alive connection would then fail mid-request ("connection closed before
            // message completed") — retrying instead could deliver a webhook twice.
            http: reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(60))
                .build()
                .context("an HTTP client")?,
            generation: 0,
            slice_start: 0,
            current: None,
            next_database: None,
            isolation: Vec::new(),
        })
    }

    /// The port `wrangler dev` serves the Worker on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process group of `wrangler dev`, once started.
    pub fn process_group(&self) -> Option<i32> {
        self.wrangler.as_ref().map(Supervised::pgid)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work_path.join(name)
    }

    fn persist(&self) -> PathBuf {
        self.path("persist")
    }

    /// The environment of every wrangler process: nothing inherited but PATH, so no credential
    /// in the caller's environment can reach the Worker, and every file wrangler writes lands in
    /// the temporary directory (and in the scan).
    fn env(&self) -> Vec<(String, String)> {
        let path_of = |name: &str| self.path(name).to_string_lossy().into_owned();
        vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())),
            ("HOME".into(), path_of("home")),
            ("XDG_CONFIG_HOME".into(), path_of("home/.config")),
            ("TMPDIR".into(), path_of("tmp")),
            ("LANG".into(), "C.UTF-8".into()),
            ("CI".into(), "true".into()),
            ("FORCE_COLOR".into(), "0".into()),
            ("NO_COLOR".into(), "1".into()),
            ("WRANGLER_SEND_METRICS".into(), "false".into()),
            ("WRANGLER_LOG_PATH".into(), path_of("wrangler-logs")),
            ("CLOUDFLARE_CF_FETCH_ENABLED".into(), "false".into()),
            ("CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV".into(), "true".into()),
            // wrangler's devtools inspector proxy asks workerd for Network events and writes
            // every one to wrangler's debug log, outbound response bodies included (base64): the
            // scan caught Google's token response, access token and all, there. wrangler 4.86
            // has no CLI flag for `dev.inspector: false`; this variable is the switch it honours
            // (it takes it for a VS Code debug terminal, whose own bootloader is absent here).
            ("VSCODE_INSPECTOR_OPTIONS".into(), "agency-harness: no devtools inspector proxy".into()),
        ]
    }

    fn config_path(&self) -> PathBuf {
        self.path("wrangler.toml")
    }

    /// `.dev.vars` beside the derived config, not `--env-file`: wrangler 4.86 copies `--env-file`
    /// values into its own process environment at start-up, and on every reload that copy wins
    /// over the file, so each scenario would run with the first scenario's canaries. `.dev.vars`
    /// is read afresh at each reload, and only for the names in `secrets.required`.
    fn secrets_path(&self) -> PathBuf {
        self.path(".dev.vars")
    }

    fn write_secrets(&self, secrets: &[(Binding, String)]) -> anyhow::Result<()> {
        let mut text = String::new();
        for (binding, value) in secrets {
            // Single-quoted dotenv values are literal; these characters would not survive.
            if value.contains(['\'', '\n', '\r', '$', '\\']) {
                bail!("the canary for {binding} cannot be written to a dotenv file");
            }
            text.push_str(&format!("{}='{}'\n", binding.name(), value));
        }
        write_private(&self.secrets_path(), text.as_bytes())
    }

    fn dev_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["dev".into(), "--config".into(), self.config_path().into()];
        args.extend(["--persist-to".into(), self.persist().into()]);
        args.extend(["--ip".into(), "127.0.0.1".into(), "--port".into(), self.port.to_string().into()]);
        args.extend(["--inspector-port".into(), self.inspector_port.to_string().into()]);
        args.push("--show-interactive-dev-session=false".into());
        args
    }

    /// `--config` follows: each run of it names its own config file.
    fn migrations_args(&self) -> Vec<OsString> {
        vec![
            "d1".into(),
            "migrations".into(),
            "apply".into(),
            config::D1_BINDING.into(),
            "--local".into(),
            "--persist-to".into(),
            self.persist().into(),
        ]
    }

    /// Starts `wrangler d1 migrations apply --local` for generation `generation`'s fresh
    /// database, from a config file of its own (`wrangler dev` watches only its own).
    fn prepare_database(&self, generation: u32) -> anyhow::Result<PreparedDatabase> {
        let resources = Resources::fresh(generation, &self.salt);
        let config = self.path(&format!("wrangler.migrations-{generation:04}.toml"));
        let text = self.config.render(&self.path("bundle").join("index.js"), &self.repo_root, &[], &resources)?;
        write_private(&config, text.as_bytes())?;
        let before = state::object_databases(&state::d1_dir(&self.persist()));
        let mut args = self.migrations_args();
        args.extend(["--config".into(), config.clone().into()]);
        let process = Supervised::spawn("wrangler d1 migrations apply", &self.wrangler_bin, &args, &self.work_path, &self.env(), &self.output)?;
        Ok(PreparedDatabase { generation, resources, config, before, process, from: self.output.len() })
    }

    /// Waits for a prepared database's migrations; returns its resources and D1 file.
    async fn finish_database(&mut self, mut prepared: PreparedDatabase) -> anyhow::Result<(Resources, PathBuf)> {
        let status = prepared.process.wait(MIGRATIONS_TIMEOUT).await?;
        if !status.success() {
            bail!("`wrangler d1 migrations apply --local` failed ({status}); wrangler's output:\n{}", self.output.tail(prepared.from, 30));
        }
        let _ = std::fs::remove_file(&prepared.config);
        let d1_dir = state::d1_dir(&self.persist());
        let created: Vec<PathBuf> = state::object_databases(&d1_dir).difference(&prepared.before).cloned().collect();
        let [d1_file] = created.as_slice() else {
            bail!("expected the migrations to create one D1 database file under {}, found {created:?}", d1_dir.display());
        };
        Ok((prepared.resources, d1_file.clone()))
    }

    fn wrangler_exited(&mut self) -> Option<String> {
        let status = self.wrangler.as_mut()?.try_wait()?;
        Some(format!("wrangler dev exited ({status}); its last lines:\n{}", self.output.tail(0, 30)))
    }

    /// Waits until the Worker serves `asana_url` (this scenario's config): the bindings table
    /// wrangler prints for a config names it, then "Ready on" (first start) or "Local server
    /// updated and ready" (reload) follows, and no newer reload starts right after.
    async fn wait_ready(&mut self, from: usize, asana_url: &str, timeout: Duration) -> anyhow::Result<usize> {
        let deadline = Instant::now() + timeout;
        let marker = format!("env.ASANA_BASE_URL (\"{asana_url}\")");
        let first_ready = format!("Ready on http://127.0.0.1:{}", self.port);
        let ready = |line: &str| line.contains("Local server updated and ready") || line.contains(&first_ready);
        loop {
            if let Some(error) = self.wrangler_exited() {
                bail!(error);
            }
            if let Some(table) = self.output.position(from, |l| l.contains(&marker)) {
                // The latest readiness after this config was read; a reload that follows it
                // (another change event) must be waited out too.
                if let Some(ready_at) = self.output.last_position(table, ready) {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    let reloading_again = self.output.position(ready_at + 1, |l| l.contains("Reloading local server")).is_some();
                    if !reloading_again {
                        return Ok(ready_at);
                    }
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "wrangler dev did not serve this scenario's config within {} s; its last lines:\n{}",
                    timeout.as_secs(),
                    self.output.tail(from, 30)
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

#[async_trait(?Send)]
impl Target for WorkerdTarget {
    async fn start(&mut self, scenario: &str, fakes: &Fakes, secrets: &[(Binding, String)]) -> anyhow::Result<()> {
        let started = Instant::now();
        self.generation += 1;
        self.current = None;
        let from = self.output.len();
        // This scenario's database was migrated while the previous scenario ran; the first
        // scenario's is migrated now, while wrangler dev starts.
        let database = match self.next_database.take() {
            Some(prepared) if prepared.generation == self.generation => prepared,
            _ => self.prepare_database(self.generation)?,
        };
        let vars = runtime_vars(fakes);
        let asana_url = vars.iter().find(|(n, _)| *n == "ASANA_BASE_URL").map(|(_, v)| v.clone()).unwrap_or_default();
        let main = self.path("bundle").join("index.js");
        let text = self.config.render(&main, &self.repo_root, &vars, &database.resources)?;

        // Secrets first: wrangler reads them when it sees the config change.
        self.write_secrets(secrets)?;
        write_watched(&self.config_path(), &text).context("writing the derived wrangler config")?;
        // A wrangler that died during an earlier scenario (that scenario failed with its
        // output) is replaced, so one crash does not fail the rest of the suite.
        if self.wrangler.as_mut().is_some_and(|w| w.try_wait().is_some()) {
            drop(self.wrangler.take());
            self.port = process::free_port()?;
            self.inspector_port = process::free_port()?;
        }
        let first = self.wrangler.is_none();
        if first {
            let dev = Supervised::spawn("wrangler dev", &self.wrangler_bin, &self.dev_args(), &self.work_path, &self.env(), &self.output)?;
            self.wrangler = Some(dev);
        }
        let ready_line = self.wait_ready(from, &asana_url, if first { START_TIMEOUT } else { RELOAD_TIMEOUT }).await?;
        let (resources, d1_file) = self.finish_database(database).await?;
        self.isolation.push(started.elapsed());
        self.current = Some(Current { name: scenario.to_owned(), resources, d1_file, ready_line, accepted: 0 });
        // The next scenario's fresh database, migrated in the background.
        self.next_database = Some(self.prepare_database(self.generation + 1)?);
        Ok(())
    }

    async fn deliver(&mut self, request: &WebhookRequest) -> anyhow::Result<WorkerResponse> {
        let current = self.current.as_mut().ok_or_else(|| anyhow!("the workerd target was not started"))?;
        let method = reqwest::Method::from_bytes(request.method.as_bytes())?;
        let mut outbound = self.http.request(method, format!("http://127.0.0.1:{}{}", self.port, request.path)).body(request.body.clone());
        for (name, value) in &request.headers {
            outbound = outbound.header(name, value);
        }
        let response = outbound.send().await.context("sending the webhook to wrangler dev")?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let body = response.text().await.context("reading the Worker's response")?;
        if status == 200 {
            if let Some(accepted) = serde_json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v["accepted"].as_u64()) {
                current.accepted += accepted;
            }
        }
        Ok(WorkerResponse { status, headers, body })
    }

    /// Waits until every job the Worker accepted has a terminal task run in D1 and its queue
    /// message was acknowledged (wrangler's `QUEUE <name> acked/total` line, printed once the
    /// consumer returned, so its console lines are in).
    async fn settle(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            let current = self.current.as_ref().ok_or_else(|| anyhow!("the workerd target was not started"))?;
            let (wanted, ready_line) = (current.accepted, current.ready_line);
            let terminal = state::terminal_task_runs(&current.d1_file)?;
            let prefix = format!("QUEUE {} ", current.resources.queue);
            let acked: u64 = self
                .output
                .slice(current.ready_line, None)
                .iter()
                .filter_map(|line| line.split_once(&prefix)?.1.split_once('/')?.0.trim().parse::<u64>().ok())
                .sum();
            if terminal >= wanted && acked >= wanted {
                return Ok(());
            }
            if let Some(error) = self.wrangler_exited() {
                bail!(error);
            }
            if Instant::now() > deadline {
                bail!(
                    "settle: after {} s only {terminal} of {wanted} accepted task job(s) reached a terminal run status, {acked} acknowledged; wrangler's last lines:\n{}",
                    SETTLE_TIMEOUT.as_secs(),
                    self.output.tail(ready_line, 20)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn collect(&mut self) -> anyhow::Result<WorkerSinks> {
        // Nothing but the idle Worker may write under the persist or temporary directories
        // while they are scanned: let the next scenario's migrations finish first (they
        // usually have, the scenario took longer).
        if let Some(next) = self.next_database.as_mut() {
            next.process.wait(MIGRATIONS_TIMEOUT).await?;
        }
        let current = self.current.as_ref().ok_or_else(|| anyhow!("the workerd target was not started"))?;
        let end = self.output.len();
        let lines = self.output.slice(self.slice_start, Some(end));
        let slice_file = self.path("output").join(format!("{:03}-{}.log", self.generation, current.name));
        std::fs::write(&slice_file, lines.join("\n")).context("writing wrangler's output")?;
        self.slice_start = end;
        if let Some(reload) = self.output.position(current.ready_line + 1, |l| l.contains("Reloading local server")) {
            bail!("wrangler reloaded the Worker during the scenario (output line {reload}); did something touch its config?");
        }
        let logs = self.output.slice(current.ready_line, Some(end)).iter().filter_map(|l| worker_console_line(l)).collect();

        let persist = self.persist();
        let mut extra_paths = vec![
            ExtraPath::new("d1", persist.join("v3").join("d1")),
            ExtraPath::new("r2", persist.join("v3").join("r2")),
        ];
        for top in [persist.clone(), persist.join("v3")] {
            for entry in std::fs::read_dir(&top).into_iter().flatten().flatten() {
                let path = entry.path();
                if path != persist.join("v3") && path != persist.join("v3").join("d1") && path != persist.join("v3").join("r2") {
                    extra_paths.push(ExtraPath::new("workerd-state", path));
                }
            }
        }
        // Wrangler's own output: this scenario's share of its console, its log files, and every
        // file it wrote for itself (never the secrets file or the build, which are inputs).
        extra_paths.push(ExtraPath::new("wrangler", slice_file));
        for dir in ["wrangler-logs", "home", "tmp", ".wrangler"] {
            if self.path(dir).exists() {
                extra_paths.push(ExtraPath::new("wrangler", self.path(dir)));
            }
        }
        Ok(WorkerSinks {
            database: current.d1_file.clone(),
            artifacts: state::r2_objects(&persist, &current.resources.bucket)?,
            logs,
            extra_paths,
        })
    }

    /// The Worker is built as shipped: never with `mutants`.
    fn has_mutants(&self) -> bool {
        false
    }

    fn summary(&self) -> Option<String> {
        if self.isolation.is_empty() {
            return None;
        }
        let total: Duration = self.isolation.iter().sum();
        let first = self.isolation[0];
        let rest = &self.isolation[1..];
        let per = if rest.is_empty() { first } else { rest.iter().sum::<Duration>() / rest.len() as u32 };
        Some(format!(
            "workerd: wrangler dev start-up {:.2}s; per-scenario isolation (fresh D1/R2/queue, new canaries and fakes: a config reload, the D1 migrations run during the previous scenario) {:.2}s on average; {:.2}s in all",
            first.as_secs_f64(),
            per.as_secs_f64(),
            total.as_secs_f64()
        ))
    }
}

impl Drop for WorkerdTarget {
    fn drop(&mut self) {
        // A database prepared for a scenario that will not run: stop its migrations.
        drop(self.next_database.take());
        if let Some(mut wrangler) = self.wrangler.take() {
            wrangler.stop(Duration::from_secs(5));
            let _ = process::wait_port_free(self.port, Duration::from_secs(5));
        }
        if std::env::var_os(KEEP_ENV).is_some() {
            if let Some(work) = self.work.take() {
                eprintln!("workerd: kept {} ({KEEP_ENV} is set; it holds this run's canaries: delete it)", work.keep().display());
            }
        }
    }
}

/// A line the Worker wrote to its console, in the native log's shape (`<level> run=…`).
/// Wrangler prints console.warn/error with a `▲ [WARNING]` / `✘ [ERROR]` prefix.
fn worker_console_line(line: &str) -> Option<String> {
    let (level, text) = if let Some(text) = line.strip_prefix("▲ [WARNING] ") {
        ("warn", text)
    } else if let Some(text) = line.strip_prefix("✘ [ERROR] ") {
        ("error", text)
    } else {
        ("info", line)
    };
    text.starts_with("run=").then(|| format!("{level} {text}"))
}

/// The wrangler binary, after checking what the target needs is installed; else an error naming
/// the command that installs it.
fn check_toolchain(repo_root: &Path) -> anyhow::Result<PathBuf> {
    let mut missing = Vec::new();
    if std::process::Command::new("node").arg("--version").output().map_or(true, |o| !o.status.success()) {
        missing.push("node (Node.js 20+)".to_owned());
    }
    let pinned = std::fs::read_to_string(repo_root.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["devDependencies"]["wrangler"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "the version in package.json".into());
    let wrangler = repo_root.join("node_modules").join(".bin").join("wrangler");
    let installed = std::fs::read_to_string(repo_root.join("node_modules/wrangler/package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned));
    match installed {
        Some(version) if version == pinned && wrangler.exists() => {}
        Some(version) => missing.push(format!("wrangler {pinned} (node_modules has {version})")),
        None => missing.push(format!("wrangler {pinned} (node_modules/.bin/wrangler)")),
    }
    // The wasm build's own tools (Debian's rustc-web, wasm-ld, worker-build, wasm-bindgen) are
    // checked by scripts/build-worker.sh, which names the same install command.
    if !missing.is_empty() {
        bail!(
            "the workerd target needs the wasm toolchain and wrangler, and this machine lacks: {}.\n  Install them with `{INSTALL_COMMAND}` (idempotent: it installs only what is missing).",
            missing.join(", ")
        );
    }
    Ok(wrangler)
}

/// The one Worker build (scripts/build-worker.sh), once per suite; its size line goes to stderr.
fn build_worker(repo_root: &Path, echo: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let output = std::process::Command::new("bash")
        .arg(repo_root.join("scripts/build-worker.sh"))
        .arg("--release")
        .current_dir(repo_root)
        .output()
        .context("running scripts/build-worker.sh")?;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if !output.status.success() {
        let tail: Vec<&str> = text.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
        bail!(
            "building the Worker (bash scripts/build-worker.sh --release) failed:\n{}\n  If a tool is missing, install it with `{INSTALL_COMMAND}`.",
            tail.join("\n")
        );
    }
    for line in text.lines() {
        if echo || line.contains(" raw ") {
            eprintln!("{line}");
        }
    }
    eprintln!("workerd: Worker built in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Every version of the derived config has this size, so each can be written in place with one
/// write and no truncation.
const CONFIG_FILE_SIZE: usize = 16 * 1024;

/// Writes the config wrangler watches. Not truncate-then-write: reading the empty file between
/// the two makes `wrangler dev` exit ("Missing entry-point"). Not rename-over either: wrangler's
/// watcher follows the first replacement and then goes deaf. So every version is padded to one
/// size and written over the old one in a single write, which raises one change event, after
/// the new bytes are in place.
fn write_watched(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::{Seek, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let mut padded = text.to_owned();
    if !padded.ends_with('\n') {
        padded.push('\n');
    }
    let filler = CONFIG_FILE_SIZE
        .checked_sub(padded.len() + 2)
        .ok_or_else(|| anyhow!("the derived wrangler config is larger than {CONFIG_FILE_SIZE} bytes"))?;
    padded.push('#');
    padded.push_str(&" ".repeat(filler));
    padded.push('\n');
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(path)?;
    file.seek(std::io::SeekFrom::Start(0))?;
    file.write_all(padded.as_bytes())?;
    file.set_len(CONFIG_FILE_SIZE as u64)?;
    Ok(())
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temporary)?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_are_read_back_in_the_native_shape() {
        assert_eq!(worker_console_line("▲ [WARNING] run=ab ga4 x: attempt 1 failed, retrying in 2000 ms").as_deref(), Some("warn run=ab ga4 x: attempt 1 failed, retrying in 2000 ms"));
        assert_eq!(worker_console_line("✘ [ERROR] run=ab step x failed").as_deref(), Some("error run=ab step x failed"));
        assert_eq!(worker_console_line("run=ab done").as_deref(), Some("info run=ab done"));
        assert_eq!(worker_console_line("[wrangler:info] POST /webhooks/asana 200 OK (5ms)"), None);
    }
}
