//! Every knob of the one fault mechanism, each on at least two fakes.

use std::time::{Duration, Instant};

use agency_fakes::ai_gateway::GATEWAY_TOKEN_BINDING;
use agency_fakes::asana::AGENT_PAT_BINDING;
use agency_fakes::google_oauth::CLIENT_SECRET_BINDING;
use agency_fakes::{Fakes, FakesConfig, FakesError};
use serde_json::{json, Value};

use crate::ai_gateway::{chat, gateway_auth, summary_request};
use crate::ga4::{run_report, two_dimension_request};
use crate::support::{
    self, credential, fault, http, mint_access_token, refresh_form, status_and_json, PROPERTY_ID,
    TASK_GID,
};

async fn get_task(fakes: &Fakes, pat: &str) -> reqwest::Response {
    http()
        .get(format!("{}/tasks/{TASK_GID}", fakes.base_urls().asana))
        .bearer_auth(pat)
        .send()
        .await
        .unwrap()
}

async fn post_token(fakes: &Fakes) -> reqwest::Response {
    http()
        .post(format!("{}/token", fakes.base_urls().google_oauth))
        .form(&refresh_form())
        .send()
        .await
        .unwrap()
}

async fn run_report_response(fakes: &Fakes, token: &str) -> reqwest::Response {
    http()
        .post(format!(
            "{}/properties/{PROPERTY_ID}:runReport",
            fakes.base_urls().ga4
        ))
        .bearer_auth(token)
        .json(&two_dimension_request())
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned())
}

fn pat() -> String {
    credential(AGENT_PAT_BINDING)
}

#[tokio::test]
async fn a_status_sequence_with_retry_after_then_normal_service_on_asana() {
    let config = support::config().fault(fault(json!({
        "fake": "asana", "endpoint": "get_task", "statuses": [429, 503], "retry_after": "7",
    })));
    let fakes = support::start(config).await;

    let first = get_task(&fakes, &pat()).await;
    assert_eq!(retry_after(&first).as_deref(), Some("7"));
    let (status, body) = status_and_json(first).await;
    assert_eq!(status, 429);
    assert_eq!(
        body,
        json!({ "errors": [{ "message": "You've made too many requests and hit a rate limit. Please retry after the given amount of time." }] })
    );
    let second = get_task(&fakes, &pat()).await;
    assert_eq!(
        (second.status().as_u16(), retry_after(&second).as_deref()),
        (503, Some("7"))
    );
    let third = get_task(&fakes, &pat()).await;
    assert_eq!((third.status().as_u16(), retry_after(&third)), (200, None));

    // Other endpoints of the same fake are not faulted.
    let me = http()
        .get(format!("{}/users/me", fakes.base_urls().asana))
        .bearer_auth(pat())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

#[tokio::test]
async fn a_status_sequence_with_retry_after_then_normal_service_on_ga4() {
    let config = support::config().fault(fault(json!({
        "fake": "ga4", "endpoint": "run_report", "statuses": [429, 500], "retry_after": "2",
    })));
    let (fakes, token) = support::start_with_token(config).await;

    let first = run_report_response(&fakes, &token).await;
    assert_eq!(retry_after(&first).as_deref(), Some("2"));
    let (status, body) = status_and_json(first).await;
    assert_eq!(
        (status, &body["error"]["code"], &body["error"]["status"]),
        (429, &json!(429), &json!("RESOURCE_EXHAUSTED"))
    );
    let second = run_report_response(&fakes, &token).await;
    assert_eq!(retry_after(&second), None, "Retry-After only on 429/503");
    let (status, body) = status_and_json(second).await;
    assert_eq!(
        (status, &body["error"]["status"]),
        (500, &json!("INTERNAL"))
    );
    assert_eq!(run_report_response(&fakes, &token).await.status(), 200);
}

#[tokio::test]
async fn repeat_last_keeps_failing_on_google_oauth_and_ai_gateway() {
    let config = support::config()
        .fault(fault(json!({ "fake": "google_oauth", "endpoint": "token", "statuses": [503], "repeat_last": true })))
        .fault(fault(json!({ "fake": "ai_gateway", "endpoint": "chat_completions", "statuses": [429, 500], "repeat_last": true })));
    let fakes = support::start(config).await;
    for _ in 0..3 {
        let (status, body) = status_and_json(post_token(&fakes).await).await;
        assert_eq!(
            (status, &body["error"]),
            (503, &json!("temporarily_unavailable"))
        );
    }
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, body) =
            status_and_json(chat(&fakes, gateway_auth(), &summary_request()).await).await;
        assert_eq!(body["success"], false);
        statuses.push(status);
    }
    assert_eq!(statuses, [429, 500, 500, 500]);
}

#[tokio::test]
async fn delay_slows_answers_on_asana_and_ai_gateway() {
    const DELAY: Duration = Duration::from_millis(300);
    let config = support::config()
        .fault(fault(json!({ "fake": "asana", "endpoint": "get_task", "delay_ms": 300 })))
        .fault(fault(json!({ "fake": "ai_gateway", "endpoint": "chat_completions", "statuses": [503], "delay_ms": 300 })));
    let fakes = support::start(config).await;

    let started = Instant::now();
    assert_eq!(
        get_task(&fakes, &pat()).await.status(),
        200,
        "a delay alone still serves"
    );
    assert!(started.elapsed() >= DELAY);

    // Each chat's status and how long it took.
    let timed_chat = || async {
        let started = Instant::now();
        let status = chat(&fakes, gateway_auth(), &summary_request())
            .await
            .status();
        (status, started.elapsed())
    };
    let (status, elapsed) = timed_chat().await;
    assert_eq!(status, 503);
    assert!(elapsed >= DELAY);
    let (status, elapsed) = timed_chat().await;
    assert_eq!(status, 200);
    assert!(elapsed < DELAY, "the delay ends with the faulted answers");
}

#[tokio::test]
async fn malformed_bodies_on_success_and_on_faulted_answers() {
    let config = support::config()
        .fault(fault(json!({ "fake": "ga4", "endpoint": "run_report", "malformed_body": true })))
        .fault(fault(json!({ "fake": "asana", "endpoint": "create_story", "statuses": [500], "malformed_body": true })));
    let (fakes, token) = support::start_with_token(config).await;

    let report = run_report_response(&fakes, &token).await;
    assert_eq!(report.status(), 200);
    let body = report.bytes().await.unwrap();
    assert!(
        !body.is_empty() && serde_json::from_slice::<Value>(&body).is_err(),
        "a truncated success body"
    );

    let story_url = format!("{}/tasks/{TASK_GID}/stories", fakes.base_urls().asana);
    let story = json!({ "data": { "text": "hello" } });
    let post_story = || {
        http()
            .post(&story_url)
            .bearer_auth(pat())
            .json(&story)
            .send()
    };
    let faulted = post_story().await.unwrap();
    assert_eq!(faulted.status(), 500);
    assert!(
        serde_json::from_slice::<Value>(&faulted.bytes().await.unwrap()).is_err(),
        "a truncated error body"
    );
    let served = post_story().await.unwrap();
    assert_eq!(served.status(), 201);
    assert!(
        serde_json::from_slice::<Value>(&served.bytes().await.unwrap()).is_ok(),
        "faults end, bodies heal"
    );
}

#[tokio::test]
async fn echo_credential_makes_normal_rejections_echo_on_asana_and_ga4() {
    let config = support::config()
        .fault(fault(
            json!({ "fake": "asana", "endpoint": "get_task", "echo_credential": true }),
        ))
        .fault(fault(
            json!({ "fake": "ga4", "endpoint": "run_report", "echo_credential": true }),
        ));
    let fakes = support::start(config).await;

    let (status, body) = status_and_json(get_task(&fakes, "canary-presented-pat").await).await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({ "errors": [{ "message": "Not Authorized: canary-presented-pat" }] })
        )
    );

    let (status, body) = run_report(
        &fakes,
        PROPERTY_ID,
        Some("ya29.canary-presented"),
        &two_dimension_request(),
    )
    .await;
    assert_eq!(status, 401);
    let debug_info = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|detail| detail["@type"] == "type.googleapis.com/google.rpc.DebugInfo")
        .expect("a DebugInfo detail");
    assert_eq!(
        debug_info["detail"],
        "Invalid credential: ya29.canary-presented"
    );
    assert!(
        !body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("canary"),
        "Google echoes in DebugInfo only"
    );

    assert_eq!(
        get_task(&fakes, &pat()).await.status(),
        200,
        "a right credential is still served"
    );
}

#[tokio::test]
async fn echo_credential_on_faulted_answers_of_google_oauth_and_ai_gateway() {
    let config = support::config()
        .fault(fault(json!({ "fake": "google_oauth", "endpoint": "token", "statuses": [500], "echo_credential": true })))
        .fault(fault(json!({ "fake": "ai_gateway", "endpoint": "chat_completions", "statuses": [429], "echo_credential": true })));
    let fakes = support::start(config).await;

    let (status, body) = status_and_json(post_token(&fakes).await).await;
    assert_eq!((status, &body["error"]), (500, &json!("server_error")));
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains(&credential(CLIENT_SECRET_BINDING)));

    let (status, body) =
        status_and_json(chat(&fakes, gateway_auth(), &summary_request()).await).await;
    assert_eq!(status, 429);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains(&credential(GATEWAY_TOKEN_BINDING)));
}

#[tokio::test]
async fn the_journal_keeps_faulted_and_rejected_requests_in_arrival_order() {
    let config = support::config().fault(fault(
        json!({ "fake": "google_oauth", "endpoint": "token", "statuses": [503] }),
    ));
    let fakes = support::start(config).await;
    post_token(&fakes).await;
    let token = mint_access_token(&fakes).await;
    run_report(
        &fakes,
        PROPERTY_ID,
        Some("ya29.canary-wrong"),
        &two_dimension_request(),
    )
    .await;
    run_report(&fakes, PROPERTY_ID, Some(&token), &two_dimension_request()).await;

    let journal = fakes.journal();
    let summary: Vec<(&str, Option<&str>, u16)> = journal
        .iter()
        .map(|entry| (entry.fake, entry.endpoint, entry.status))
        .collect();
    assert_eq!(
        summary,
        [
            ("google_oauth", Some("token"), 503),
            ("google_oauth", Some("token"), 200),
            ("ga4", Some("run_report"), 401),
            ("ga4", Some("run_report"), 200),
        ]
    );
    let rejected = &journal[2];
    assert_eq!(
        (rejected.method.as_str(), rejected.path.as_str()),
        ("POST", "/v1beta/properties/345678901:runReport")
    );
    assert!(rejected
        .headers
        .iter()
        .any(|(name, value)| name == "authorization" && value == "Bearer ya29.canary-wrong"));
    assert!(String::from_utf8_lossy(&journal[0].body).contains("grant_type=refresh_token"));
}

async fn start_error(config: FakesConfig) -> FakesError {
    match Fakes::start(config).await {
        Ok(_) => panic!("the fakes started despite a misconfiguration"),
        Err(error) => error,
    }
}

#[tokio::test]
async fn start_up_fails_loudly_on_misused_faults() {
    let unknown_endpoint = start_error(support::config().fault(fault(json!({
        "fake": "asana", "endpoint": "delete_task", "statuses": [500],
    }))))
    .await;
    assert!(
        matches!(&unknown_endpoint, FakesError::UnknownEndpoint { endpoint, .. } if endpoint == "delete_task")
    );
    assert!(
        unknown_endpoint.to_string().contains("get_task"),
        "the error lists the known endpoints"
    );

    let unknown_fake = start_error(support::config().fault(fault(json!({
        "fake": "dropbox", "endpoint": "upload", "statuses": [500],
    }))))
    .await;
    assert!(matches!(unknown_fake, FakesError::UnknownFake { .. }));

    for spec in [
        json!({ "fake": "ga4", "endpoint": "run_report", "statuses": [200] }),
        json!({ "fake": "ga4", "endpoint": "run_report", "repeat_last": true }),
        json!({ "fake": "ga4", "endpoint": "run_report", "statuses": [500], "retry_after": "3" }),
        json!({ "fake": "ga4", "endpoint": "run_report" }),
    ] {
        let error = start_error(support::config().fault(fault(spec.clone()))).await;
        assert!(
            matches!(error, FakesError::InvalidFault { .. }),
            "{spec}: {error}"
        );
    }

    let twice = support::config()
        .fault(fault(
            json!({ "fake": "ga4", "endpoint": "run_report", "statuses": [500] }),
        ))
        .fault(fault(
            json!({ "fake": "ga4", "endpoint": "run_report", "delay_ms": 5 }),
        ));
    assert!(matches!(
        start_error(twice).await,
        FakesError::InvalidFault { .. }
    ));
}

#[test]
fn fault_specs_reject_unknown_fields() {
    let spec = json!({ "fake": "ga4", "endpoint": "run_report", "statusses": [500] });
    assert!(serde_json::from_value::<agency_fakes::FaultSpec>(spec).is_err());
}

#[tokio::test]
async fn start_up_fails_on_a_missing_credential_binding() {
    let mut credentials = support::credentials();
    credentials.remove(GATEWAY_TOKEN_BINDING);
    let error = start_error(FakesConfig::new(credentials)).await;
    assert!(matches!(
        error,
        FakesError::MissingCredential(GATEWAY_TOKEN_BINDING)
    ));
}
