//! Fixtures and helpers shared by the fake tests. Every credential here is a
//! synthetic canary.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use agency_fakes::{
    accuranker, ahrefs, ai_gateway, asana, browser_run, dataforseo, google_oauth, semrush, Fakes,
    FakesConfig, FaultSpec, Ga4Fixture, TaskFixture,
};
use serde_json::Value;

pub const AGENT_GID: &str = "1201000000000077";
pub const AGENT_NAME: &str = "Jessie";
pub const TASK_GID: &str = "1205000000000042";
pub const PROJECT_GID: &str = "1204000000000007";
pub const PROPERTY_ID: &str = "345678901";
/// Dimension values per dimension and rows per page of [`PROPERTY_ID`].
pub const DIMENSION_VALUES: usize = 4;
pub const PAGE_SIZE_CAP: usize = 3;

const BINDINGS: &[&str] = &[
    asana::AGENT_PAT_BINDING,
    asana::WEBHOOK_SECRET_BINDING,
    google_oauth::CLIENT_ID_BINDING,
    google_oauth::CLIENT_SECRET_BINDING,
    google_oauth::REFRESH_TOKEN_BINDING,
    ai_gateway::GATEWAY_TOKEN_BINDING,
    accuranker::API_KEY_BINDING,
    dataforseo::LOGIN_BINDING,
    dataforseo::PASSWORD_BINDING,
    semrush::API_KEY_BINDING,
    ahrefs::API_KEY_BINDING,
    browser_run::API_TOKEN_BINDING,
    agency_fakes::box_api::CLIENT_ID_BINDING,
    agency_fakes::box_api::CLIENT_SECRET_BINDING,
    agency_fakes::box_api::ENTERPRISE_ID_BINDING,
    agency_fakes::google_ads::DEVELOPER_TOKEN_BINDING,
    agency_fakes::pagespeed::API_KEY_BINDING,
    agency_fakes::meta::ACCESS_TOKEN_BINDING,
    agency_fakes::harvest::ACCESS_TOKEN_BINDING,
    agency_fakes::harvest::ACCOUNT_ID_BINDING,
    // (other fakes' bindings go here)
];

pub fn credentials() -> BTreeMap<String, String> {
    BINDINGS
        .iter()
        .map(|binding| (binding.to_string(), credential(binding)))
        .collect()
}

/// The canary the fakes accept for `binding`.
pub fn credential(binding: &str) -> String {
    if binding == dataforseo::PASSWORD_BINDING {
        // As the harness seeds passwords: every character an encoding changes, and a non-ASCII one.
        return "canaryPw12/+=:&\"<%\u{e9}tail7f3a9c2e".to_owned();
    }
    format!("canary-{}-7f3a9c2e5b1d4f8a", binding.to_ascii_lowercase())
}

pub fn task() -> TaskFixture {
    TaskFixture {
        gid: TASK_GID.into(),
        name: "Monthly GA4 traffic report".into(),
        assignee_gid: Some(AGENT_GID.into()),
        completed: false,
        project_gids: vec![PROJECT_GID.into()],
        tags: vec!["skill:ga4-report".into()],
        custom_fields: BTreeMap::from([("Client".into(), "Acme".into())]),
    }
}

pub fn config() -> FakesConfig {
    FakesConfig::new(credentials())
        .agent(AGENT_GID, AGENT_NAME)
        .task(task())
        .ga4_property(
            PROPERTY_ID,
            Ga4Fixture {
                dimension_values: Some(DIMENSION_VALUES),
                page_size_cap: Some(PAGE_SIZE_CAP),
            },
        )
}

pub async fn start(config: FakesConfig) -> Fakes {
    Fakes::start(config).await.expect("the fakes start")
}

/// A fault as a scenario file writes it (the same serde path).
pub fn fault(spec: Value) -> FaultSpec {
    serde_json::from_value(spec).expect("a valid fault spec")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// A response header's value, if it has one (UTF-8).
pub fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
}

/// Status and JSON body of a response.
pub async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("a response body");
    (status, serde_json::from_slice(&body).expect("a JSON body"))
}

/// The form a correct refresh-token grant posts.
pub fn refresh_form() -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "refresh_token".into()),
        ("client_id", credential(google_oauth::CLIENT_ID_BINDING)),
        (
            "client_secret",
            credential(google_oauth::CLIENT_SECRET_BINDING),
        ),
        (
            "refresh_token",
            credential(google_oauth::REFRESH_TOKEN_BINDING),
        ),
    ]
}

/// Starts the fakes and mints a Google access token from them.
pub async fn start_with_token(config: FakesConfig) -> (Fakes, String) {
    let fakes = start(config).await;
    let token = mint_access_token(&fakes).await;
    (fakes, token)
}

pub async fn mint_access_token(fakes: &Fakes) -> String {
    let response = http()
        .post(format!("{}/token", fakes.base_urls().google_oauth))
        .form(&refresh_form())
        .send()
        .await
        .expect("the token request is answered");
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// Every (label, value) a mint hook received.
pub type Minted = Arc<Mutex<Vec<(String, String)>>>;

/// Records every (label, value) the mint hook receives.
pub fn mint_recorder() -> (Minted, impl Fn(&str, &str) + Send + Sync + 'static) {
    let minted = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&minted);
    (minted, move |label: &str, value: &str| {
        sink.lock()
            .unwrap()
            .push((label.to_owned(), value.to_owned()))
    })
}
