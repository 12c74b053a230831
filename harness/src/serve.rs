//! `agency-harness fakes serve`: every fake on fixed loopback ports until
//! interrupted, for running the Worker (or anything else) against them by hand.
//!
//! Row `i` of [`ROWS`] listens on `127.0.0.1:<port-base + i>`. Every approved
//! binding gets a fresh canary for this serve (`canary::fresh`); the manifest
//! FILE maps each row's key to its base URL and the seeded bindings that
//! fake checks, with the values it accepts:
//!
//! ```json
//! {"asana": {"base_url": "http://127.0.0.1:4100/api/1.0",
//!            "credentials": {"AGENCY_OS_ASANA_AGENT_PAT": "2/…", "ASANA_WEBHOOK_SECRET": "…"}},
//!  "ga4": {"base_url": "http://127.0.0.1:4106/v1beta", "credentials": {}}, …}
//! ```
//!
//! Fakes whose tokens are minted by another fake list none (GA4, Box API,
//! Box upload/download: their tokens come from `google_oauth` / `box_auth`).
//! Asana lists `ASANA_WEBHOOK_SECRET` too: it does not check it, it *sends*
//! it (handshake, delivery signatures), so the Worker must be given the same
//! value. The manifest is written mode 0600 and removed on a clean stop
//! (SIGINT or SIGTERM); the canaries are worthless once the fakes stop.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use agency_core::binding::Binding;
use agency_fakes::{BaseUrls, Fakes, FakesConfig, Ga4Fixture, TaskFixture};
use anyhow::Context;
use serde_json::json;

use crate::canary;
use crate::runner::{AGENT_GID, AGENT_NAME, ALLOWED_PROJECT_GID};

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The first port: the fake in row i of the table listens on port-base + i (17 rows).
    #[arg(long)]
    pub port_base: u16,
    /// Where to write the manifest: JSON {key: {base_url, credentials: {BINDING: value}}}.
    #[arg(long)]
    pub manifest: PathBuf,
}

/// Every fake, by row (its port offset), with the seeded bindings it checks.
pub const ROWS: [(&str, &[Binding]); 17] = {
    use Binding::*;
    [
        ("asana", &[AsanaAgentPat, AsanaWebhookSecret]),
        ("box_auth", &[BoxClientId, BoxClientSecret, BoxEnterpriseId]),
        ("box_api", &[]),
        ("box_upload", &[]),
        ("box_download", &[]),
        ("google_oauth", &[GoogleClientId, GoogleClientSecret, GoogleRefreshToken]),
        ("ga4", &[]),
        ("google_ads", &[GoogleAdsDeveloperToken]),
        ("pagespeed", &[GooglePagespeedApiKey]),
        ("meta", &[MetaAccessToken]),
        ("accuranker", &[AccurankerApiKey]),
        ("dataforseo", &[DataforseoLogin, DataforseoPassword]),
        ("semrush", &[SemrushApiKey]),
        ("ahrefs", &[AhrefsApiKey]),
        ("browser_run", &[CloudflareBrowserRunApiToken]),
        ("ai_gateway", &[CloudflareAiGatewayToken]),
        ("harvest", &[HarvestAccessToken, HarvestAccountId]),
    ]
};

/// The served world: one eligible Asana task, one GA4 property.
pub const SAMPLE_TASK_GID: &str = "1200000000001001";
pub const SAMPLE_GA4_PROPERTY: &str = "345678901";

/// The base URL of the fake in row `key` of [`ROWS`].
pub fn base_url<'a>(urls: &'a BaseUrls, key: &str) -> &'a str {
    match key {
        "asana" => &urls.asana,
        "box_auth" => &urls.box_auth,
        "box_api" => &urls.box_api,
        "box_upload" => &urls.box_upload,
        "box_download" => &urls.box_download,
        "google_oauth" => &urls.google_oauth,
        "ga4" => &urls.ga4,
        "google_ads" => &urls.google_ads,
        "pagespeed" => &urls.pagespeed,
        "meta" => &urls.meta,
        "accuranker" => &urls.accuranker,
        "dataforseo" => &urls.dataforseo,
        "semrush" => &urls.semrush,
        "ahrefs" => &urls.ahrefs,
        "browser_run" => &urls.browser_run,
        "ai_gateway" => &urls.ai_gateway,
        "harvest" => &urls.harvest,
        _ => unreachable!("{key} is not a row of the serve table"),
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let last = u32::from(args.port_base) + ROWS.len() as u32 - 1;
    anyhow::ensure!(
        args.port_base > 0 && last <= u32::from(u16::MAX),
        "--port-base {} leaves no room for {} ports (the last would be {last})",
        args.port_base,
        ROWS.len()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a tokio runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut rng = rand::rngs::OsRng;
    let seeded: BTreeMap<Binding, String> = Binding::ALL
        .iter()
        .map(|binding| (*binding, canary::fresh(*binding, &mut rng)))
        .collect();
    let mut config = FakesConfig::new(
        seeded.iter().map(|(binding, value)| (binding.name().to_owned(), value.clone())).collect(),
    )
    .agent(AGENT_GID, AGENT_NAME)
    .task(TaskFixture {
        gid: SAMPLE_TASK_GID.into(),
        name: "Monthly traffic report: Acme Outdoor".into(),
        assignee_gid: Some(AGENT_GID.into()),
        completed: false,
        project_gids: vec![ALLOWED_PROJECT_GID.into()],
        tags: vec!["skill:ga4-traffic-report".into()],
        custom_fields: BTreeMap::from([("GA4 property".into(), format!("properties/{SAMPLE_GA4_PROPERTY}"))]),
    })
    .ga4_property(SAMPLE_GA4_PROPERTY, Ga4Fixture::default());
    for (index, (key, _)) in ROWS.iter().enumerate() {
        config = config.port(key, args.port_base + index as u16);
    }
    let fakes = Fakes::start(config).await.context("starting the fakes")?;
    let urls = fakes.base_urls();

    let manifest: serde_json::Map<String, serde_json::Value> = ROWS
        .iter()
        .map(|(key, bindings)| {
            let credentials: serde_json::Map<String, serde_json::Value> = bindings
                .iter()
                .map(|binding| (binding.name().to_owned(), json!(seeded[binding])))
                .collect();
            ((*key).to_owned(), json!({ "base_url": base_url(&urls, key), "credentials": credentials }))
        })
        .collect();
    write_manifest(&args.manifest, &serde_json::to_vec_pretty(&manifest)?)?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{:>3}  {:<13} {:>5}  base URL", "row", "fake", "port")?;
    for (index, (key, _)) in ROWS.iter().enumerate() {
        writeln!(stdout, "{index:>3}  {key:<13} {:>5}  {}", args.port_base + index as u16, base_url(&urls, key))?;
    }
    writeln!(
        stdout,
        "agent user {AGENT_GID}; task {SAMPLE_TASK_GID} in project {ALLOWED_PROJECT_GID}; GA4 property {SAMPLE_GA4_PROPERTY}"
    )?;
    writeln!(stdout, "manifest (base URLs and accepted canaries): {}", args.manifest.display())?;
    writeln!(stdout, "serving until interrupted (ctrl-c)")?;
    stdout.flush()?;
    drop(stdout);

    let signal = interrupted().await;
    drop(fakes);
    let _ = std::fs::remove_file(&args.manifest);
    let signal = signal?;
    eprintln!("stopped ({signal}); ports released, manifest removed");
    Ok(ExitCode::SUCCESS)
}

/// Waits for SIGINT (ctrl-c) or SIGTERM.
async fn interrupted() -> anyhow::Result<&'static str> {
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.map(|()| "interrupted").context("listening for ctrl-c"),
            _ = terminate.recv() => Ok("terminated"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.context("listening for ctrl-c")?;
        Ok("interrupted")
    }
}

/// The manifest holds canaries: readable by the owner only.
fn write_manifest(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing the manifest {}", path.display()))?;
    file.write_all(bytes)?;
    file.write_all(b"\n")?;
    Ok(())
}
