//! A `[[faults]]` block in a scenario file takes effect on every fake, not only on those the
//! runtime's skill calls: one scenario file (written here, loaded by `scenario::load` like every
//! file in `scenarios/`) faults one endpoint of each fake with `statuses = [503, 429]` and
//! `retry_after`; each endpoint then answers 503, then its provider's throttle, each in that
//! provider's own error shape, then serves normally; the journal records all three.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use agency_fakes::{
    accuranker, ahrefs, ai_gateway, asana, box_api, browser_run, dataforseo, google_ads, google_oauth, harvest, meta,
    pagespeed, semrush, Fakes,
};
use agency_harness::canary::CanaryRegistry;
use agency_harness::{runner, scenario, serve};
use anyhow::{ensure, Context};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};

/// Every row's fault: these statuses, in order, then normal service.
const FAULT_STATUSES: [u16; 2] = [503, 429];
const RETRY_AFTER: &str = "7";

/// One endpoint of one fake, and how to call it as that provider's client would.
struct Row {
    fake: &'static str,
    endpoint: &'static str,
    method: Method,
    /// Under the fake's base URL.
    path: &'static str,
    /// Adds the credentials the fake checks, and whatever else the endpoint needs.
    request: fn(RequestBuilder, &Credentials) -> anyhow::Result<RequestBuilder>,
    /// The fake's own answer once the faults are spent.
    served: u16,
    /// How its fault answers look.
    dialect: Dialect,
}

/// How a provider's fault answers differ from the common case.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// A JSON error body; a 429 fault is HTTP 429; both faults carry `Retry-After`.
    Json,
    /// Semrush: the same, but the body is plain text (`ERROR <code> :: <MESSAGE>`).
    SemrushText,
    /// Meta: JSON; throttling is HTTP 400 with a throttle code, never a `Retry-After` (the wait
    /// is `x-ad-account-usage`'s `reset_time_duration`).
    Meta,
}

impl Dialect {
    /// The HTTP status of the answer to a fault with `fault_status`.
    fn status_for(self, fault_status: u16) -> u16 {
        match (self, fault_status) {
            (Dialect::Meta, 429) => 400,
            _ => fault_status,
        }
    }
}

/// A multipart upload of one small file to Box's root folder (attributes before the file).
const BOX_UPLOAD_BODY: &str = "--canary-boundary\r\n\
    Content-Disposition: form-data; name=\"attributes\"\r\n\r\n\
    {\"name\":\"report.txt\",\"parent\":{\"id\":\"0\"}}\r\n\
    --canary-boundary\r\n\
    Content-Disposition: form-data; name=\"file\"; filename=\"report.txt\"\r\n\
    Content-Type: text/plain\r\n\r\n\
    monthly report\r\n\
    --canary-boundary--\r\n";

/// One row per fake. The token endpoints come before the fakes that take their tokens: their
/// third (served) request mints the token those rows present.
const ROWS: &[Row] = &[
    Row {
        fake: "asana",
        endpoint: "get_me",
        method: Method::GET,
        path: "/users/me",
        request: |request, credentials| Ok(request.bearer_auth(credentials.get(asana::AGENT_PAT_BINDING)?)),
        served: 200,
        dialect: Dialect::Json,
    },
    Row {
        fake: "google_oauth",
        endpoint: "token",
        method: Method::POST,
        path: "/token",
        request: |request, credentials| {
            Ok(request.form(&[
                ("grant_type", "refresh_token".to_owned()),
                ("client_id", credentials.get(google_oauth::CLIENT_ID_BINDING)?),
                ("client_secret", credentials.get(google_oauth::CLIENT_SECRET_BINDING)?),
                ("refresh_token", credentials.get(google_oauth::REFRESH_TOKEN_BINDING)?),
            ]))
        },
        served: 200,
        dialect: Dialect::Json,
    },
    Row {
        fake: "ga4",
        endpoint: "run_report",
        method: Method::POST,
        // The scenario's GA4 property (`SCENARIO_HEAD`).
        path: "/properties/345678901:runReport",
        request: |request, credentials| {
            Ok(request.bearer_auth(credentials.get(google_oauth::MINTED_ACCESS_TOKEN_LABEL)?).json(&json!({
                "dateRanges": [{ "startDate": "28daysAgo", "endDate": "yesterday" }],
                "dimensions": [{ "name": "sessionDefaultChannelGroup" }],
                "metrics": [{ "name": "sessions" }],
            })))
        },
        served: 200,
        dialect: Dialect::Json,
    },
    Row {
        fake: "ai_gateway",
        endpoint: "chat_completions",
        method: Method::POST,
        path: "/harness-account/jessie/compat/chat/completions",
        request: |request, credentials| {
            let token = credentials.get(ai_gateway::GATEWAY_TOKEN_BINDING)?;
            Ok(request.header("cf-aig-authorization", format!("Bearer {token}")).json(&json!({
                "model": "openai/gpt-4o-mini",
                "messages": [{ "role": "user", "content": "Summarise: sessions 1200." }],
            })))
        },
        served: 200,
        dialect: Dialect::Json,
    },
    Row {
        fake: "accuranker",
        endpoint: "list_accounts",
        method: Method::GET,
        path: "/accounts/",
        request: |request, credentials| {
            let key = credentials.get(accuranker::API_KEY_BINDING)?;
            Ok(request.header("authorization", format!("Token {key}")))
        },
        served: 200,
        dialect: Dialect::Json,
    },
    Row {
        fake: "dataforseo",
        endpoint: "serp_tasks_ready",
        method: Method::GET,
        path: "/serp/google/organic/tasks_ready",
        request: |request, credentials| {
            let login = credentials.get(dataforseo::LOGIN_BINDING)?;
            Ok(request.basic_auth(login, Some(credentials.get(dataforseo::PASSWORD_BINDING)?)))
        },
        served: 200,
        dialect: Dialect::Json,
    },
    Row {
        fake: "semrush",
        endpoint: "report",
        method: Method::GET,
        path: "/?type=domain_ranks&domain=example.com",
        request: |request, credentials| Ok(request.query(&[("key", credentials.get(semrush::API_KEY_BINDING)?)])),
        served: 200,
        dialect: Dialect::SemrushText,
    },
    Row {
        fake: "ahrefs",
        endpoint: "domain_rating",
        method: Method::GET,
        path: "/site-explorer/domain-rating?target=example.com&date=2026-11-01",
        request: |request, credentials| Ok(request.bearer_auth(credentials.get(ahrefs::API_KEY_BINDING)?)),
        served: 200,
        dialect: Dialect::Json,
    },
    Row {
        fake: "browser_run",
        endpoint: "content",
        method: Method::POST,
        path: "/accounts/harness-account/browser-rendering/content",
        request: |request, credentials| {
            let token = credentials.get(browser_run::API_TOKEN_BINDING)?;
            Ok(request.bearer_auth(token).json(&json!({ "url": "https://example.com/" })))
        },
        served: 200,
        dialect: Dialect::Json,
    },
    Row {
        fake: "box_auth",
        endpoint: "token",
        method: Method::POST,
        path: "/oauth2/token",
        request: |request, credentials| {
            Ok(request.form(&[
                ("grant_type", "client_credentials".to_owned()),
                ("client_id", credentials.get(box_api::CLIENT_ID_BINDING)?),
                ("client_secret", credentials.get(box_api::CLIENT_SECRET_BINDING)?),
                ("box_subject_type", "enterprise".to_owned()),
                ("box_subject_id", credentials.get(box_api::ENTERPRISE_ID_BINDING)?),
            ]))
        },
        served: 200,
        dialect: Dialect::Json,
    },
    Row {
        fake: "box_api",
        endpoint: "list_folder_items",
        method: Method::GET,
        path: "/folders/0/items",
        request: |request, credentials| Ok(request.bearer_auth(credentials.get(box_api::MINTED_ACCESS_TOKEN_LABEL)?)),
        served: 200,
        dialect: Dialect::Json,
    },
    Row {
        fake: "box_upload",
        endpoint: "upload_file",
        method: Method::POST,
        path: "/files/content",
        request: |request, credentials| {
            Ok(request
                .bearer_auth(credentials.get(box_api::MINTED_ACCESS_TOKEN_LABEL)?)
                .header("content-type", "multipart/form-data; boundary=canary-boundary")
                .body(BOX_UPLOAD_BODY))
        },
        served: 201,
        dialect: Dialect::Json,
    },
    Row {
        fake: "box_download",
        endpoint: "download_content",
        method: Method::GET,
        // Pre-authorised links carry no credential; this capability was never issued, so
        // the fake's own answer is 404.
        path: "/d/1/canary-unissued-capability/download",
        request: |request, _| Ok(request),
        served: 404,
        dialect: Dialect::Json,
    },
    Row {
        fake: "google_ads",
        endpoint: "search_stream",
        method: Method::POST,
        path: "/v21/customers/1234567890/googleAds:searchStream",
        request: |request, credentials| {
            Ok(request
                .bearer_auth(credentials.get(google_oauth::MINTED_ACCESS_TOKEN_LABEL)?)
                .header("developer-token", credentials.get(google_ads::DEVELOPER_TOKEN_BINDING)?)
                .json(&json!({ "query": "SELECT campaign.id FROM campaign" })))
        },
        served: 200,
        dialect: Dialect::Json,
    },
    Row {
        fake: "pagespeed",
        endpoint: "run_pagespeed",
        method: Method::GET,
        path: "/runPagespeed?url=https://example.com/",
        request: |request, credentials| Ok(request.query(&[("key", credentials.get(pagespeed::API_KEY_BINDING)?)])),
        served: 200,
        dialect: Dialect::Json,
    },
    Row {
        fake: "meta",
        endpoint: "get_insights",
        method: Method::GET,
        // The ad account fake Meta serves when the config names none.
        path: "/v25.0/act_111122223333444/insights",
        request: |request, credentials| {
            Ok(request.query(&[("access_token", credentials.get(meta::ACCESS_TOKEN_BINDING)?)]))
        },
        served: 200,
        dialect: Dialect::Meta,
    },
    Row {
        fake: "harvest",
        endpoint: "list_time_entries",
        method: Method::GET,
        path: "/time_entries",
        request: |request, credentials| {
            Ok(request
                .bearer_auth(credentials.get(harvest::ACCESS_TOKEN_BINDING)?)
                .header("harvest-account-id", credentials.get(harvest::ACCOUNT_ID_BINDING)?))
        },
        served: 200,
        dialect: Dialect::Json,
    },
];

/// The scenario around the faults: the heartbeat's shape (no task, one empty delivery), plus
/// the GA4 property the `ga4` row reports on.
const SCENARIO_HEAD: &str = r#"description = "Every fake honours a fault from a scenario file."

[ga4_properties.345678901]
"#;
const SCENARIO_TAIL: &str = r#"
[[deliveries]]
kind = "events"
events = []

[expect]
responses = [200]
runs = []
bindings_read = []
"#;

/// The scenario's second kind of fault, on an endpoint no row faults: without statuses every
/// answer is slowed, and Harvest's credential rejection echoes the token presented.
const KNOB_FAKE: &str = "harvest";
const KNOB_ENDPOINT: &str = "get_me";
const KNOB_DELAY: Duration = Duration::from_millis(150);

/// The credentials the fakes accept: the run's canaries (seeded by binding name, minted tokens
/// by label, registered the moment they are minted), the latest of a label first.
struct Credentials(CanaryRegistry);

impl Credentials {
    fn get(&self, label: &str) -> anyhow::Result<String> {
        let canaries = self.0.all();
        let canary = canaries.iter().rev().find(|canary| canary.binding() == label).with_context(|| {
            format!("no credential {label}: a minted token exists only once an earlier row's token request is served")
        })?;
        Ok(canary.expose_value().to_owned())
    }
}

/// A scenario file in the format of `scenarios/`, faulting every row's endpoint, then the knob's.
fn scenario_file() -> String {
    let mut file = SCENARIO_HEAD.to_owned();
    for Row { fake, endpoint, .. } in ROWS {
        write!(
            file,
            r#"
[[faults]]
fake = "{fake}"
endpoint = "{endpoint}"
statuses = {FAULT_STATUSES:?}
retry_after = "{RETRY_AFTER}"
"#
        )
        .unwrap();
    }
    write!(
        file,
        r#"
[[faults]]
fake = "{KNOB_FAKE}"
endpoint = "{KNOB_ENDPOINT}"
delay_ms = {}
echo_credential = true
"#,
        KNOB_DELAY.as_millis()
    )
    .unwrap();
    file.push_str(SCENARIO_TAIL);
    file
}

#[tokio::test]
async fn a_fault_from_a_scenario_file_takes_effect_on_every_fake() {
    let rows: BTreeSet<&str> = ROWS.iter().map(|row| row.fake).collect();
    let every_fake: BTreeSet<&str> = serve::ROWS.iter().map(|(fake, _)| *fake).collect();
    assert_eq!(rows, every_fake, "one row per fake");
    assert_eq!(rows.len(), ROWS.len(), "one row per fake");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("every-fake-faulted.toml");
    std::fs::write(&path, scenario_file()).unwrap();
    let scenario = scenario::load(&path).unwrap_or_else(|error| panic!("the scenario loads: {error}"));

    // As the runner does: a fresh canary in every binding, the scenario's world, minted tokens noted.
    let registry = CanaryRegistry::default();
    let seeded = registry.seed_all();
    let minted = registry.clone();
    let config = runner::fakes_config(&scenario, &seeded).on_mint(move |label, value| minted.register(label, value));
    let credentials = Credentials(registry);
    let fakes = Fakes::start(config).await.unwrap_or_else(|error| panic!("the fakes start: {error}"));
    // Harvest rejects a request without a User-Agent; a real client sends one everywhere.
    let client = reqwest::Client::builder().user_agent("AgencyOS (ops@agency.example)").build().unwrap();

    let mut failures = Vec::new();
    for row in ROWS {
        if let Err(error) = check_row(row, &fakes, &client, &credentials).await {
            failures.push(format!("{} {}: {error:#}", row.fake, row.endpoint));
        }
    }
    if let Err(error) = check_knob_fault(&fakes, &client, &credentials).await {
        failures.push(format!("{KNOB_FAKE} {KNOB_ENDPOINT} (delay_ms, echo_credential): {error:#}"));
    }
    assert!(failures.is_empty(), "faults from a scenario file misbehaved:\n{}", failures.join("\n"));
}

/// Two faulted answers, one served, and the journal's record of all three.
async fn check_row(
    row: &Row,
    fakes: &Fakes,
    client: &reqwest::Client,
    credentials: &Credentials,
) -> anyhow::Result<()> {
    ensure!(!FAULT_STATUSES.contains(&row.served), "the table's served status must not be a fault status");
    let url = format!("{}{}", serve::base_url(&fakes.base_urls(), row.fake), row.path);
    let send = || async {
        (row.request)(client.request(row.method.clone(), &url), credentials)?.send().await.context("sending")
    };

    let mut expected_journal = Vec::new();
    for fault_status in FAULT_STATUSES {
        let answer = send().await?;
        check_fault_answer(row.dialect, fault_status, answer)
            .await
            .with_context(|| format!("the {fault_status} fault"))?;
        expected_journal.push(row.dialect.status_for(fault_status));
    }
    let served = send().await?;
    let status = served.status().as_u16();
    let retry_after = header(&served, "retry-after");
    let body = served.text().await?;
    ensure!(
        status == row.served && retry_after.is_none(),
        "served {status} (Retry-After {retry_after:?}), expected {}: {body}",
        row.served
    );
    expected_journal.push(row.served);

    let journaled: Vec<u16> = fakes
        .journal()
        .iter()
        .filter(|request| request.fake == row.fake && request.endpoint == Some(row.endpoint))
        .map(|request| request.status)
        .collect();
    ensure!(journaled == expected_journal, "journaled statuses {journaled:?}, expected {expected_journal:?}");
    Ok(())
}

async fn check_fault_answer(dialect: Dialect, fault_status: u16, answer: Response) -> anyhow::Result<()> {
    let status = answer.status().as_u16();
    ensure!(status == dialect.status_for(fault_status), "answered {status}");
    let retry_after = header(&answer, "retry-after");
    let content_type = header(&answer, "content-type").unwrap_or_default();
    let ad_account_usage = header(&answer, "x-ad-account-usage");
    let body = answer.bytes().await?;
    ensure!(!body.is_empty(), "an empty error body");
    match dialect {
        Dialect::Json | Dialect::Meta => {
            ensure!(content_type.starts_with("application/json"), "Content-Type {content_type:?}");
            serde_json::from_slice::<Value>(&body)
                .with_context(|| format!("a JSON error body: {}", String::from_utf8_lossy(&body)))?;
        }
        Dialect::SemrushText => {
            ensure!(content_type.starts_with("text/plain"), "Content-Type {content_type:?}");
            ensure!(body.starts_with(b"ERROR "), "Semrush's error text: {}", String::from_utf8_lossy(&body));
        }
    }
    if dialect == Dialect::Meta {
        ensure!(retry_after.is_none(), "Meta never sends Retry-After, got {retry_after:?}");
        if fault_status == 429 {
            let usage: Value = serde_json::from_str(&ad_account_usage.context("no x-ad-account-usage")?)?;
            ensure!(
                usage["reset_time_duration"] == json!(RETRY_AFTER.parse::<u64>()?),
                "the wait in x-ad-account-usage: {usage}"
            );
        }
    } else {
        ensure!(retry_after.as_deref() == Some(RETRY_AFTER), "Retry-After {retry_after:?}");
    }
    Ok(())
}

/// The knob fault: every answer waits, and the credential rejection echoes the wrong token.
async fn check_knob_fault(fakes: &Fakes, client: &reqwest::Client, credentials: &Credentials) -> anyhow::Result<()> {
    let wrong_token = "canary-wrong-harvest-token-5b1d4f8a";
    let started = Instant::now();
    let answer = client
        .get(format!("{}/users/me", fakes.base_urls().harvest))
        .bearer_auth(wrong_token)
        .header("harvest-account-id", credentials.get(harvest::ACCOUNT_ID_BINDING)?)
        .send()
        .await?;
    let status = answer.status().as_u16();
    let body: Value = answer.json().await?;
    ensure!(started.elapsed() >= KNOB_DELAY, "answered after {:?}, before the delay", started.elapsed());
    ensure!(status == 401, "answered {status}: {body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    ensure!(description.ends_with(wrong_token), "the rejection does not echo the token: {body}");
    Ok(())
}

fn header(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}
