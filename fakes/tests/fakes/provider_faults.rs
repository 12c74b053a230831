//! The one fault mechanism's shared knobs on the Box, Google Ads, PageSpeed,
//! Meta and Harvest fakes: each answers a status sequence with `Retry-After`
//! in its own shape (Meta's way: no Retry-After), and each with a credential
//! echoes it where its errors carry text back.

use std::time::{Duration, Instant};

use agency_fakes::box_api::CLIENT_SECRET_BINDING;
use agency_fakes::google_ads::DEFAULT_CUSTOMER_ID;
use agency_fakes::harvest::ACCESS_TOKEN_BINDING as HARVEST_TOKEN_BINDING;
use agency_fakes::meta::DEFAULT_AD_ACCOUNT_ID;
use agency_fakes::{Fakes, FakesConfig, FakesError, MetaAdAccountFixture};
use serde_json::{json, Value};

use crate::box_api::{
    self as box_tests, box_schemas, box_token, ccg_form, list_items, post_token, upload,
    REPORTS_FOLDER,
};
use crate::google_ads::{ads_error, Call};
use crate::harvest::{authed, create_entry, entry, url as harvest_url};
use crate::meta::{insights, Auth};
use crate::pagespeed::{key as psi_key, run};
use crate::support::{self, fault, http, mint_access_token, status_and_json};

fn retry_after(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned())
}

fn with_faults(specs: &[Value]) -> FakesConfig {
    specs.iter().fold(box_tests::box_config(2), |config, spec| {
        config.fault(fault(spec.clone()))
    })
}

#[tokio::test]
async fn box_hosts_answer_status_sequences_as_client_errors_with_retry_after() {
    let fakes = support::start(with_faults(&[
        json!({ "fake": "box_api", "endpoint": "list_folder_items", "statuses": [429, 503], "retry_after": "7" }),
        json!({ "fake": "box_auth", "endpoint": "token", "statuses": [429], "retry_after": "3" }),
        json!({ "fake": "box_upload", "endpoint": "upload_file", "statuses": [500] }),
        json!({ "fake": "box_download", "endpoint": "download_content", "statuses": [503], "retry_after": "2" }),
    ]))
    .await;
    let throttled = post_token(&fakes, &ccg_form()).await;
    assert_eq!(retry_after(&throttled).as_deref(), Some("3"));
    let (status, body) = status_and_json(throttled).await;
    assert_eq!(
        (status, &body["error"]),
        (429, &json!("rate_limit_exceeded")),
        "OAuth2Error shape: {body}"
    );
    let token = box_token(&fakes).await;

    let first = list_items(&fakes, Some(&token), REPORTS_FOLDER, "").await;
    assert_eq!(retry_after(&first).as_deref(), Some("7"));
    let (status, body) = status_and_json(first).await;
    // §2 "Rate limiting": 429 + retry-after + a ClientError body.
    assert_eq!(
        (status, &body["type"], &body["code"]),
        (429, &json!("error"), &json!("too_many_requests"))
    );
    crate::box_api::assert_valid(box_schemas(), "ClientError", &body);
    let second = list_items(&fakes, Some(&token), REPORTS_FOLDER, "").await;
    assert_eq!(
        (second.status().as_u16(), retry_after(&second).as_deref()),
        (503, Some("7"))
    );
    assert_eq!(
        list_items(&fakes, Some(&token), REPORTS_FOLDER, "")
            .await
            .status(),
        200
    );

    let (status, body) = status_and_json(upload(&fakes, &token, "a.txt", "0", b"a").await).await;
    assert_eq!(
        (status, &body["code"]),
        (500, &json!("internal_server_error"))
    );
    assert_eq!(
        upload(&fakes, &token, "a.txt", "0", b"a").await.status(),
        201
    );

    let content_url = format!("{}/files/300000000001/content", fakes.base_urls().box_api);
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let location = no_redirects
        .get(&content_url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let unavailable = http().get(&location).send().await.unwrap();
    assert_eq!(
        (
            unavailable.status().as_u16(),
            retry_after(&unavailable).as_deref()
        ),
        (503, Some("2"))
    );
    assert_eq!(http().get(&location).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn box_echo_puts_the_token_in_a_client_error_and_the_secret_in_error_description() {
    let fakes = support::start(with_faults(&[
        json!({ "fake": "box_api", "endpoint": "list_folder_items", "echo_credential": true }),
        json!({ "fake": "box_auth", "endpoint": "token", "statuses": [500], "echo_credential": true }),
    ]))
    .await;
    let wrong = "canary-presented-box-token";
    let response = list_items(&fakes, Some(wrong), "0", "").await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let (_, body) = status_and_json(response).await;
    // Under the knob the empty 401 becomes a ClientError carrying the token.
    assert_eq!(body["message"], format!("Unauthorized: {wrong}"));
    crate::box_api::assert_valid(box_schemas(), "ClientError", &body);
    let (status, body) = status_and_json(post_token(&fakes, &ccg_form()).await).await;
    assert_eq!(status, 500);
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains(&support::credential(CLIENT_SECRET_BINDING)));
    let token = box_token(&fakes).await;
    assert_eq!(
        list_items(&fakes, Some(&token), "0", "").await.status(),
        200
    );
}

#[tokio::test]
async fn google_ads_faults_are_google_ads_failures_in_the_array_and_echo_in_debug_info() {
    let config = support::config()
        .fault(fault(json!({ "fake": "google_ads", "endpoint": "search_stream", "statuses": [429, 500], "retry_after": "2", "echo_credential": true })));
    let (fakes, token) = support::start_with_token(config).await;
    let call = Call::new(
        DEFAULT_CUSTOMER_ID,
        &token,
        "SELECT campaign.id FROM campaign",
    );
    let first = call.send(&fakes).await;
    assert_eq!(retry_after(&first).as_deref(), Some("2"));
    let (status, body) = status_and_json(first).await;
    assert_eq!(status, 429);
    let (error, ads) = ads_error(&body);
    // §3c: 429 RESOURCE_EXHAUSTED (QuotaError RESOURCE_EXHAUSTED).
    assert_eq!(
        (&error["status"], &ads["errorCode"]),
        (
            &json!("RESOURCE_EXHAUSTED"),
            &json!({ "quotaError": "RESOURCE_EXHAUSTED" })
        )
    );
    let debug = error["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|detail| detail["@type"] == "type.googleapis.com/google.rpc.DebugInfo")
        .unwrap();
    let detail = debug["detail"].as_str().unwrap();
    assert!(
        detail.contains(&token)
            && detail.contains(&support::credential(
                agency_fakes::google_ads::DEVELOPER_TOKEN_BINDING
            ))
    );
    let second = call.send(&fakes).await;
    assert_eq!(retry_after(&second), None, "Retry-After only on 429/503");
    let (status, body) = status_and_json(second).await;
    assert_eq!(
        (status, &ads_error(&body).0["status"]),
        (500, &json!("INTERNAL"))
    );
    assert_eq!(call.send(&fakes).await.status(), 200);
}

#[tokio::test]
async fn pagespeed_faults_answer_the_captured_quota_error_with_retry_after() {
    let config = support::config()
        .fault(fault(json!({ "fake": "pagespeed", "endpoint": "run_pagespeed", "statuses": [429], "retry_after": "30", "echo_credential": true })));
    let fakes = support::start(config).await;
    let key = psi_key();
    let query = [("url", "https://example.com"), ("key", key.as_str())];
    let first = run(&fakes, &query).await;
    assert_eq!(retry_after(&first).as_deref(), Some("30"));
    let (status, body) = status_and_json(first).await;
    assert_eq!(
        (
            status,
            &body["error"]["status"],
            &body["error"]["errors"][0]["reason"]
        ),
        (
            429,
            &json!("RESOURCE_EXHAUSTED"),
            &json!("rateLimitExceeded")
        )
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("'Queries per 100 seconds' of service 'pagespeedonline.googleapis.com'"));
    let debug = &body["error"]["details"].as_array().unwrap().last().unwrap()["detail"];
    assert_eq!(debug, &json!(format!("Invalid API key: {key}")));
    assert_eq!(run(&fakes, &query).await.status(), 200);
}

#[tokio::test]
async fn meta_answers_a_429_fault_meta_s_way_http_400_a_throttle_code_usage_headers_no_retry_after()
{
    let config = support::config()
        .meta_ad_account(DEFAULT_AD_ACCOUNT_ID, MetaAdAccountFixture::default())
        .meta_ad_account("777", MetaAdAccountFixture { throttle_code: Some(17), ..MetaAdAccountFixture::default() })
        .fault(fault(json!({ "fake": "meta", "endpoint": "get_insights", "statuses": [429, 429, 503], "retry_after": "120" })));
    let fakes = support::start(config).await;
    let token = crate::meta::token();
    let first = insights(&fakes, DEFAULT_AD_ACCOUNT_ID, Auth::Query(&token), &[]).await;
    // Checklist item 4: Meta sends JSON usage headers and no Retry-After.
    assert_eq!(retry_after(&first), None);
    let header = |name: &str| -> Value {
        serde_json::from_str(first.headers()[name].to_str().unwrap()).unwrap()
    };
    let business = header("x-business-use-case-usage");
    let usage = &business[DEFAULT_AD_ACCOUNT_ID][0];
    assert_eq!(
        (
            &usage["type"],
            &usage["call_count"],
            &usage["estimated_time_to_regain_access"]
        ),
        (&json!("ads_insights"), &json!(100), &json!(2)),
        "minutes"
    );
    assert_eq!(
        header("x-ad-account-usage")["reset_time_duration"],
        120,
        "seconds"
    );
    assert_eq!(header("x-app-usage")["call_count"], 100);
    let (status, body) = status_and_json(first).await;
    // §4: throttling errors come with HTTP 400; 80000 is the ads_insights BUC code.
    assert_eq!(
        (
            status,
            &body["error"]["code"],
            &body["error"]["is_transient"]
        ),
        (400, &json!(80000), &json!(true))
    );
    assert!(body["error"]["fbtrace_id"].is_string());

    let (status, body) =
        status_and_json(insights(&fakes, "777", Auth::Query(&token), &[]).await).await;
    assert_eq!(
        (
            status,
            &body["error"]["code"],
            &body["error"]["error_subcode"]
        ),
        (400, &json!(17), &json!(2_446_079)),
        "the account's throttle code"
    );
    let unavailable = insights(&fakes, DEFAULT_AD_ACCOUNT_ID, Auth::Query(&token), &[]).await;
    assert_eq!(
        (unavailable.status().as_u16(), retry_after(&unavailable)),
        (503, None)
    );
    let (_, body) = status_and_json(unavailable).await;
    assert_eq!(
        (&body["error"]["code"], &body["error"]["is_transient"]),
        (&json!(2), &json!(true))
    );
    assert_eq!(
        insights(&fakes, DEFAULT_AD_ACCOUNT_ID, Auth::Query(&token), &[])
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn meta_echo_on_a_faulted_401_is_the_malformed_token_message() {
    let config = support::config().fault(fault(json!({ "fake": "meta", "endpoint": "get_insights", "statuses": [401], "echo_credential": true })));
    let fakes = support::start(config).await;
    let token = crate::meta::token();
    let (status, body) =
        status_and_json(insights(&fakes, DEFAULT_AD_ACCOUNT_ID, Auth::Bearer(&token), &[]).await)
            .await;
    assert_eq!((status, &body["error"]["code"]), (400, &json!(190)));
    assert_eq!(
        body["error"]["message"],
        format!("Malformed access token {token}")
    );
}

#[tokio::test]
async fn harvest_faults_answer_429_with_retry_after_and_echo_in_invalid_token() {
    let config = support::config()
        .fault(fault(json!({ "fake": "harvest", "endpoint": "list_time_entries", "statuses": [429], "retry_after": "15", "delay_ms": 200 })))
        .fault(fault(json!({ "fake": "harvest", "endpoint": "get_me", "echo_credential": true })))
        .fault(fault(json!({ "fake": "harvest", "endpoint": "create_time_entry", "malformed_body": true })));
    let fakes = support::start(config).await;
    let started = Instant::now();
    let throttled = authed(http().get(harvest_url(&fakes, "/time_entries")))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        (
            throttled.status().as_u16(),
            retry_after(&throttled).as_deref()
        ),
        (429, Some("15"))
    );
    let (_, body) = status_and_json(throttled).await;
    crate::box_api::assert_valid(crate::harvest::harvest_schemas(), "Error", &body);
    assert_eq!(
        authed(http().get(harvest_url(&fakes, "/time_entries")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let wrong = "canary-presented-harvest-token";
    let (status, body) = status_and_json(
        http()
            .get(harvest_url(&fakes, "/users/me"))
            .bearer_auth(wrong)
            .header(
                "Harvest-Account-Id",
                support::credential(agency_fakes::harvest::ACCOUNT_ID_BINDING),
            )
            .header("User-Agent", crate::harvest::USER_AGENT)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, &body["error"]), (401, &json!("invalid_token")));
    assert!(body["error_description"].as_str().unwrap().ends_with(wrong));
    assert!(!body
        .to_string()
        .contains(&support::credential(HARVEST_TOKEN_BINDING)));

    let response = authed(
        http()
            .post(harvest_url(&fakes, "/time_entries"))
            .json(&entry("2026-11-01", Some(1.0))),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 201);
    assert!(
        serde_json::from_slice::<Value>(&response.bytes().await.unwrap()).is_err(),
        "a truncated success body"
    );
    // The entry was stored all the same: a client that retries on the bad body duplicates it.
    assert_eq!(fakes.harvest_time_entries().len(), 1);
}

async fn start_error(config: FakesConfig) -> FakesError {
    match Fakes::start(config).await {
        Ok(_) => panic!("the fakes started despite a misconfiguration"),
        Err(error) => error,
    }
}

#[tokio::test]
async fn every_new_endpoint_is_in_the_fault_registry() {
    let endpoints = [
        ("box_auth", "token"),
        ("box_api", "list_folder_items"),
        ("box_api", "download_file"),
        ("box_upload", "upload_file"),
        ("box_download", "download_content"),
        ("google_ads", "search_stream"),
        ("pagespeed", "run_pagespeed"),
        ("meta", "get_insights"),
        ("harvest", "get_me"),
        ("harvest", "list_time_entries"),
        ("harvest", "create_time_entry"),
    ];
    let config = endpoints
        .iter()
        .fold(support::config(), |config, (fake, endpoint)| {
            config.fault(fault(
                json!({ "fake": fake, "endpoint": endpoint, "delay_ms": 1 }),
            ))
        });
    assert!(Fakes::start(config).await.is_ok());
    let error = start_error(support::config().fault(fault(
        json!({ "fake": "harvest", "endpoint": "delete_time_entry", "statuses": [500] }),
    )))
    .await;
    assert!(
        matches!(&error, FakesError::UnknownEndpoint { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("create_time_entry"),
        "the error lists the known endpoints"
    );
}

#[tokio::test]
async fn fakes_start_with_only_credentials() {
    let fakes = support::start(FakesConfig::new(support::credentials())).await;
    let urls = fakes.base_urls();
    for (url, path) in [
        (&urls.box_api, "/2.0"),
        (&urls.box_upload, "/api/2.0"),
        (&urls.pagespeed, "/pagespeedonline/v5"),
        (&urls.harvest, "/v2"),
    ] {
        assert!(url.ends_with(path), "{url} keeps the real base path");
    }
    let token = mint_access_token(&fakes).await;
    let call = Call::new(
        DEFAULT_CUSTOMER_ID,
        &token,
        "SELECT customer.id FROM customer",
    );
    assert_eq!(
        call.send(&fakes).await.status(),
        200,
        "a default Google Ads customer"
    );
    let meta_token = crate::meta::token();
    assert_eq!(
        insights(&fakes, DEFAULT_AD_ACCOUNT_ID, Auth::Query(&meta_token), &[])
            .await
            .status(),
        200,
        "a default ad account"
    );
    let (status, _) = create_entry(&fakes, entry("2026-11-01", None)).await;
    assert_eq!(status, 201, "a default Harvest project and task");
    let box_token = box_token(&fakes).await;
    assert_eq!(
        list_items(&fakes, Some(&box_token), "0", "").await.status(),
        200,
        "Box's root folder"
    );
}

/// Regression: wiremock's `MockServer::drop` blocks on `verify()`, whose
/// tokio `RwLock` reads take coop budget. Inside a task whose budget is
/// spent, tokio defers the wake to the scheduler the drop is blocking, so
/// dropping `Fakes` hung forever (`agency-harness run` never returned once
/// 17 servers' drops outran the harness task's budget).
#[test]
fn fakes_drop_cleanly_inside_a_task_whose_coop_budget_is_spent() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let fakes = support::start(FakesConfig::new(support::credentials())).await;
            tokio::task::yield_now().await;
            while tokio::task::coop::has_budget_remaining() {
                tokio::task::consume_budget().await;
            }
            drop(fakes);
        });
        let _ = done.send(());
    });
    assert!(
        finished.recv_timeout(Duration::from_secs(20)).is_ok(),
        "dropping Fakes hung"
    );
}
