//! Fake PageSpeed Insights: the key in the query, Lighthouse categories and
//! audits, Google's error with the legacy `errors[]`, and the DebugInfo echo;
//! answers held to the discovery doc's `PagespeedApiPagespeedResponseV5`.

use std::sync::OnceLock;

use agency_fakes::contract::{contracts_dir, ContractSchemas};
use agency_fakes::pagespeed::API_KEY_BINDING;
use agency_fakes::Fakes;
use serde_json::{json, Value};

use crate::box_api::assert_valid;
use crate::support::{self, credential, fault, http, status_and_json};

fn psi_schemas() -> &'static ContractSchemas {
    static SCHEMAS: OnceLock<ContractSchemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        ContractSchemas::load_discovery(&contracts_dir().join("google/pagespeedonline.v5.json"))
            .expect("the PageSpeed discovery document converts")
    })
}

pub fn key() -> String {
    credential(API_KEY_BINDING)
}

/// `runPagespeed` with these query pairs (the key among them or not).
pub async fn run(fakes: &Fakes, query: &[(&str, &str)]) -> reqwest::Response {
    http()
        .get(format!("{}/runPagespeed", fakes.base_urls().pagespeed))
        .query(query)
        .send()
        .await
        .unwrap()
}

fn categories(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body["lighthouseResult"]["categories"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn with_no_category_only_performance_runs_and_the_answer_matches_the_discovery_schema() {
    let fakes = support::start(support::config()).await;
    let key = key();
    let (status, body) =
        status_and_json(run(&fakes, &[("url", "https://example.com"), ("key", &key)]).await).await;
    assert_eq!(status, 200, "{body}");
    assert_valid(psi_schemas(), "PagespeedApiPagespeedResponseV5", &body);
    assert_eq!(
        (&body["kind"], &body["id"]),
        (
            &json!("pagespeedonline#result"),
            &json!("https://example.com/")
        )
    );
    assert_eq!(categories(&body), ["performance"]);
    let lighthouse = &body["lighthouseResult"];
    assert_eq!(
        lighthouse["configSettings"]["emulatedFormFactor"], "desktop",
        "desktop is the default"
    );
    let performance = &lighthouse["categories"]["performance"];
    let score = performance["score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&score));
    for reference in performance["auditRefs"].as_array().unwrap() {
        let audit = &lighthouse["audits"][reference["id"].as_str().unwrap()];
        assert!(
            audit["score"]
                .as_f64()
                .is_some_and(|score| (0.0..=1.0).contains(&score)),
            "{audit}"
        );
        assert_eq!(audit["scoreDisplayMode"], "numeric");
        assert!(audit["numericValue"].is_number() && audit["displayValue"].is_string());
    }
    assert!(
        body["loadingExperience"]["metrics"]["LARGEST_CONTENTFUL_PAINT_MS"]["percentile"].is_u64()
    );
    assert_eq!(body["originLoadingExperience"]["id"], "https://example.com");
}

#[tokio::test]
async fn categories_in_either_spelling_and_the_strategy_shape_a_deterministic_result() {
    let fakes = support::start(support::config()).await;
    let key = key();
    let query = [
        ("url", "https://example.com/pricing"),
        ("key", key.as_str()),
        ("category", "seo"),
        ("category", "BEST_PRACTICES"),
        ("category", "accessibility"),
        ("category", "PERFORMANCE"),
        ("strategy", "mobile"),
    ];
    let (status, mobile) = status_and_json(run(&fakes, &query).await).await;
    assert_eq!(status, 200, "{mobile}");
    assert_valid(psi_schemas(), "PagespeedApiPagespeedResponseV5", &mobile);
    assert_eq!(
        categories(&mobile),
        ["accessibility", "best-practices", "performance", "seo"]
    );
    assert_eq!(
        mobile["lighthouseResult"]["configSettings"]["formFactor"],
        "mobile"
    );
    let (_, again) = status_and_json(run(&fakes, &query).await).await;
    assert_eq!(
        again["lighthouseResult"]["categories"],
        mobile["lighthouseResult"]["categories"]
    );
    let mut desktop_query = query.to_vec();
    desktop_query.retain(|(name, _)| *name != "strategy");
    let (_, desktop) = status_and_json(run(&fakes, &desktop_query).await).await;
    assert_ne!(
        desktop["lighthouseResult"]["audits"]["largest-contentful-paint"]["numericValue"],
        mobile["lighthouseResult"]["audits"]["largest-contentful-paint"]["numericValue"]
    );
}

/// §3e: `{"error":{code,message,status,errors:[{message,domain,reason}],details}}`.
fn legacy_error(body: &Value) -> (&Value, &Value) {
    let error = &body["error"];
    let legacy = &error["errors"][0];
    assert_eq!(
        legacy["message"], error["message"],
        "the legacy entry repeats the message: {body}"
    );
    (error, legacy)
}

#[tokio::test]
async fn a_wrong_key_is_api_key_invalid_and_only_the_echo_knob_puts_it_in_debug_info() {
    let config = support::config().fault(fault(
        json!({ "fake": "pagespeed", "endpoint": "run_pagespeed", "echo_credential": true }),
    ));
    let plain = support::start(support::config()).await;
    let echoing = support::start(config).await;
    let query = [
        ("url", "https://example.com"),
        ("key", "AIzaCanaryWrongKey"),
    ];
    for (fakes, echoes) in [(&plain, false), (&echoing, true)] {
        let (status, body) = status_and_json(run(fakes, &query).await).await;
        assert_eq!(status, 400);
        let (error, legacy) = legacy_error(&body);
        // §3d "Bad key".
        assert_eq!(
            error["message"],
            "API key not valid. Please pass a valid API key."
        );
        assert_eq!(
            (&error["status"], &legacy["reason"], &legacy["domain"]),
            (
                &json!("INVALID_ARGUMENT"),
                &json!("badRequest"),
                &json!("global")
            )
        );
        let details = error["details"].as_array().unwrap();
        assert!(details
            .iter()
            .any(|detail| detail["reason"] == "API_KEY_INVALID"
                && detail["metadata"]["service"] == "pagespeedonline.googleapis.com"));
        let debug = details
            .iter()
            .find(|detail| detail["@type"] == "type.googleapis.com/google.rpc.DebugInfo");
        match echoes {
            // §3e: the captured DebugInfo "Invalid API key: <key>".
            true => assert_eq!(
                debug.unwrap()["detail"],
                "Invalid API key: AIzaCanaryWrongKey"
            ),
            false => assert!(debug.is_none() && !body.to_string().contains("AIzaCanaryWrongKey")),
        }
        assert!(
            !error["message"].as_str().unwrap().contains("AIzaCanary"),
            "the echo is in DebugInfo only"
        );
    }
    let key = key();
    assert_eq!(
        run(&echoing, &[("url", "https://example.com"), ("key", &key)])
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn without_a_key_the_shared_quota_answers_429() {
    let fakes = support::start(support::config()).await;
    let (status, body) =
        status_and_json(run(&fakes, &[("url", "https://example.com")]).await).await;
    assert_eq!(status, 429);
    let (error, legacy) = legacy_error(&body);
    // §3d "Quota": RESOURCE_EXHAUSTED, reason rateLimitExceeded, the captured text.
    assert_eq!(
        (&error["status"], &legacy["reason"]),
        (&json!("RESOURCE_EXHAUSTED"), &json!("rateLimitExceeded"))
    );
    assert!(error["message"]
        .as_str()
        .unwrap()
        .starts_with("Quota exceeded for quota group 'default'"));
}

#[tokio::test]
async fn bad_parameters_and_unreachable_pages_are_400s() {
    let fakes =
        support::start(support::config().pagespeed_failing_url("https://down.example.com")).await;
    let key = key();
    for query in [
        vec![("key", key.as_str())],
        vec![("url", "example.com"), ("key", key.as_str())],
        vec![
            ("url", "https://example.com"),
            ("key", key.as_str()),
            ("strategy", "tablet"),
        ],
        vec![
            ("url", "https://example.com"),
            ("key", key.as_str()),
            ("category", "speed"),
        ],
    ] {
        let (status, body) = status_and_json(run(&fakes, &query).await).await;
        assert_eq!(
            (status, &body["error"]["status"]),
            (400, &json!("INVALID_ARGUMENT")),
            "{query:?}"
        );
    }
    let (status, body) = status_and_json(
        run(
            &fakes,
            &[("url", "https://down.example.com/"), ("key", &key)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    let (error, legacy) = legacy_error(&body);
    // §3d "Lighthouse failure" (GoogleChrome/lighthouse #16900 capture).
    assert!(error["message"]
        .as_str()
        .unwrap()
        .starts_with("Lighthouse returned error: FAILED_DOCUMENT_REQUEST."));
    assert_eq!(
        (&legacy["domain"], &legacy["reason"]),
        (&json!("lighthouse"), &json!("lighthouseUserError"))
    );
}
