//! Fake Harvest: Bearer + Harvest-Account-Id + User-Agent, `users/me`, and
//! stateful time entries with page/per_page/links; answers held to
//! harvest/harvest-openapi.yaml (closed).

use std::sync::OnceLock;

use agency_fakes::contract::{contracts_dir, ContractSchemas};
use agency_fakes::harvest::{ACCESS_TOKEN_BINDING, ACCOUNT_ID_BINDING};
use agency_fakes::{Fakes, HarvestFixture};
use serde_json::{json, Value};

use crate::box_api::assert_valid;
use crate::support::{self, credential, http, status_and_json};

pub const USER_AGENT: &str = "AgencyOS (ops@agency.example)";

pub fn harvest_schemas() -> &'static ContractSchemas {
    static SCHEMAS: OnceLock<ContractSchemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        ContractSchemas::load_openapi(&contracts_dir().join("harvest/harvest-openapi.yaml"))
            .expect("the Harvest OpenAPI spec converts")
    })
}

/// A request with Harvest's three headers (§7 "Authentication").
pub fn authed(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request
        .bearer_auth(credential(ACCESS_TOKEN_BINDING))
        .header("Harvest-Account-Id", credential(ACCOUNT_ID_BINDING))
        .header("User-Agent", USER_AGENT)
}

pub fn url(fakes: &Fakes, path: &str) -> String {
    format!("{}{path}", fakes.base_urls().harvest)
}

pub async fn create_entry(fakes: &Fakes, body: Value) -> (u16, Value) {
    status_and_json(
        authed(http().post(url(fakes, "/time_entries")).json(&body))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The default fixture's project and task.
pub fn entry(spent_date: &str, hours: Option<f64>) -> Value {
    let mut body = json!({ "project_id": 31_000_001, "task_id": 18_000_001, "spent_date": spent_date, "notes": "GA4 monthly report" });
    if let Some(hours) = hours {
        body["hours"] = json!(hours);
    }
    body
}

/// §7's verified 401 body.
fn invalid_token() -> Value {
    json!({ "error": "invalid_token", "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons." })
}

#[tokio::test]
async fn users_me_needs_the_token_the_account_id_and_a_user_agent() {
    let fakes = support::start(support::config()).await;
    let (status, me) = status_and_json(
        authed(http().get(url(&fakes, "/users/me")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_valid(harvest_schemas(), "User", &me);
    assert_eq!(
        (&me["first_name"], &me["is_active"]),
        (&json!("Jessie"), &json!(true))
    );

    let token = credential(ACCESS_TOKEN_BINDING);
    let account = credential(ACCOUNT_ID_BINDING);
    let me_url = url(&fakes, "/users/me");
    let cases = [
        http()
            .get(&me_url)
            .header("Harvest-Account-Id", &account)
            .header("User-Agent", USER_AGENT),
        http()
            .get(&me_url)
            .bearer_auth("canary-wrong")
            .header("Harvest-Account-Id", &account)
            .header("User-Agent", USER_AGENT),
        // A missing Harvest-Account-Id gets the same 401 (§7, [secondary]).
        http()
            .get(&me_url)
            .bearer_auth(&token)
            .header("User-Agent", USER_AGENT),
        http()
            .get(&me_url)
            .bearer_auth(&token)
            .header("Harvest-Account-Id", "1")
            .header("User-Agent", USER_AGENT),
    ];
    for request in cases {
        let (status, body) = status_and_json(request.send().await.unwrap()).await;
        assert_eq!((status, body), (401, invalid_token()));
    }
    // §7: "The User-Agent is required; without it you get 400 Bad Request."
    let (status, body) = status_and_json(
        http()
            .get(&me_url)
            .bearer_auth(&token)
            .header("Harvest-Account-Id", &account)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_valid(harvest_schemas(), "Error", &body);
    // §7: the query-string alternative.
    let by_query = http()
        .get(&me_url)
        .query(&[("access_token", &token), ("account_id", &account)])
        .header("User-Agent", USER_AGENT)
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 200);
}

#[tokio::test]
async fn posted_time_entries_are_listed_by_page_with_links() {
    let fakes = support::start(support::config()).await;
    let dates = [
        "2026-11-03",
        "2026-11-05",
        "2026-11-01",
        "2026-11-04",
        "2026-11-02",
    ];
    for date in dates {
        let (status, created) = create_entry(&fakes, entry(date, Some(1.5))).await;
        assert_eq!(status, 201, "{created}");
        assert_valid(harvest_schemas(), "TimeEntry", &created);
        assert_eq!(
            (&created["is_running"], &created["hours"]),
            (&json!(false), &json!(1.5))
        );
    }
    let (status, timer) = create_entry(&fakes, entry("2026-11-06", None)).await;
    assert_eq!(status, 201);
    // §7: with no hours a running timer starts.
    assert_eq!(
        (&timer["is_running"], &timer["hours"]),
        (&json!(true), &json!(0.0))
    );
    assert!(timer["timer_started_at"].is_string());

    let mut next = Some(url(&fakes, "/time_entries?per_page=2"));
    let mut listed = Vec::new();
    let mut pages = 0;
    while let Some(page_url) = next {
        let (status, page) =
            status_and_json(authed(http().get(&page_url)).send().await.unwrap()).await;
        assert_eq!(status, 200, "{page}");
        assert_valid(harvest_schemas(), "TimeEntries", &page);
        pages += 1;
        assert_eq!(
            (
                &page["page"],
                &page["total_pages"],
                &page["total_entries"],
                &page["per_page"]
            ),
            (&json!(pages), &json!(3), &json!(6), &json!(2))
        );
        assert!(page["links"]["first"]
            .as_str()
            .unwrap()
            .ends_with("page=1&per_page=2"));
        assert!(page["links"]["last"]
            .as_str()
            .unwrap()
            .ends_with("page=3&per_page=2"));
        listed.extend(page["time_entries"].as_array().unwrap().clone());
        // §7: follow `links` rather than build URLs.
        next = page["links"]["next"].as_str().map(str::to_owned);
    }
    assert_eq!(pages, 3);
    let listed_dates: Vec<&str> = listed
        .iter()
        .map(|entry| entry["spent_date"].as_str().unwrap())
        .collect();
    // §7: sorted by spent_date, most recent first.
    assert_eq!(
        listed_dates,
        [
            "2026-11-06",
            "2026-11-05",
            "2026-11-04",
            "2026-11-03",
            "2026-11-02",
            "2026-11-01"
        ]
    );
    assert_eq!(fakes.harvest_time_entries(), listed);

    let (_, filtered) = status_and_json(
        authed(http().get(url(
            &fakes,
            "/time_entries?from=2026-11-02&to=2026-11-04&is_running=false",
        )))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(filtered["total_entries"], 3);
}

#[tokio::test]
async fn validation_errors_are_422_message_bodies() {
    let fakes = support::start(support::config()).await;
    for body in [
        json!({ "task_id": 18_000_001, "spent_date": "2026-11-01" }),
        json!({ "project_id": 31_000_001, "task_id": 999, "spent_date": "2026-11-01" }),
        json!({ "project_id": 31_000_001, "task_id": 18_000_001, "spent_date": "November 1st" }),
    ] {
        let (status, error) = create_entry(&fakes, body.clone()).await;
        assert_eq!(status, 422, "{body}: {error}");
        assert_valid(harvest_schemas(), "Error", &error);
    }
    let (status, error) = status_and_json(
        authed(http().get(url(&fakes, "/time_entries?per_page=2001")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "§7: per_page above 2000 is a 422");
    assert_valid(harvest_schemas(), "Error", &error);
    assert!(fakes.harvest_time_entries().is_empty());
}

#[tokio::test]
async fn links_repeat_query_string_credentials_only_when_the_fixture_says_so() {
    let token = credential(ACCESS_TOKEN_BINDING);
    let account = credential(ACCOUNT_ID_BINDING);
    for echo in [false, true] {
        let fixture = HarvestFixture {
            links_echo_query_auth: echo,
            ..HarvestFixture::default()
        };
        let fakes = support::start(support::config().harvest(fixture)).await;
        for date in ["2026-11-01", "2026-11-02"] {
            create_entry(&fakes, entry(date, Some(1.0))).await;
        }
        let response = http()
            .get(url(&fakes, "/time_entries"))
            .query(&[
                ("access_token", token.as_str()),
                ("account_id", account.as_str()),
                ("per_page", "1"),
            ])
            .header("User-Agent", USER_AGENT)
            .send()
            .await
            .unwrap();
        let (status, page) = status_and_json(response).await;
        assert_eq!(status, 200, "{page}");
        let next = page["links"]["next"].as_str().unwrap();
        assert_eq!(next.contains(&token), echo, "{next}");
        assert_eq!(next.contains("account_id="), echo, "{next}");
    }
}
