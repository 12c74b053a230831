//! The wire knobs (`reset_mid_body`, `short_body`) below HTTP, and the
//! existing knobs on the fakes added since, all through the one fault mechanism.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use agency_fakes::{dataforseo, Fakes, FakesError};
use serde_json::{json, Value};

use crate::cloudflare::{browser_run, browser_token};
use crate::seo::{
    accuranker_get, accuranker_token, ahrefs_get, ahrefs_key, dataforseo_auth, dataforseo_post,
    semrush_get, semrush_key, serp_task,
};
use crate::support::{self, credential, fault, http, status_and_json, TASK_GID};

const LIVE: &str = "/serp/google/organic/live/advanced";

/// Writes `request` on a fresh connection to `authority`, then reads until the
/// connection ends: everything received, and how it ended.
fn exchange(authority: &str, request: &str) -> (Vec<u8>, Result<(), ErrorKind>) {
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let ending = loop {
        match stream.read(&mut buffer) {
            Ok(0) => break Ok(()),
            Ok(read) => received.extend_from_slice(&buffer[..read]),
            Err(error) => break Err(error.kind()),
        }
    };
    (received, ending)
}

/// A raw HTTP/1.1 exchange on one connection: the head, then everything
/// until the connection ends, and how it ended.
fn raw_get(base_url: &str, path: &str, headers: &str) -> (String, Vec<u8>, Result<(), ErrorKind>) {
    let authority = base_url
        .strip_prefix("http://")
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let base_path = base_url
        .strip_prefix("http://")
        .unwrap()
        .strip_prefix(&authority)
        .unwrap();
    let (received, ending) = exchange(
        &authority,
        &format!("GET {base_path}{path} HTTP/1.1\r\nHost: {authority}\r\n{headers}\r\n"),
    );
    let split = received
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map_or(received.len(), |at| at + 4);
    let (head, body) = received.split_at(split);
    (
        String::from_utf8_lossy(head).into_owned(),
        body.to_vec(),
        ending,
    )
}

fn content_length(head: &str) -> usize {
    head.split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map(|(_, value)| value.trim().parse().unwrap())
        .expect("a Content-Length")
}

#[tokio::test]
async fn short_body_sends_half_the_announced_length_then_closes_on_asana_and_ahrefs() {
    let config = support::config()
        .fault(fault(json!({ "fake": "asana", "endpoint": "get_task", "short_body": true })))
        .fault(fault(json!({ "fake": "ahrefs", "endpoint": "metrics", "statuses": [429], "short_body": true })));
    let fakes = support::start(config).await;
    let urls = fakes.base_urls();
    let pat = format!(
        "Authorization: Bearer {}\r\n",
        credential(agency_fakes::asana::AGENT_PAT_BINDING)
    );

    let asana = urls.asana.clone();
    let (head, body, ending) =
        tokio::task::spawn_blocking(move || raw_get(&asana, &format!("/tasks/{TASK_GID}"), &pat))
            .await
            .unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("x-agency-fakes"),
        "the marker never leaves the proxy: {head}"
    );
    let announced = content_length(&head);
    assert_eq!(
        (body.len(), ending),
        (announced / 2, Ok(())),
        "half the body, then a clean close"
    );

    // Through reqwest: the status arrives, the body read fails.
    let response = http()
        .get(format!("{}/tasks/{TASK_GID}", urls.asana))
        .bearer_auth(credential(agency_fakes::asana::AGENT_PAT_BINDING))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.bytes().await.is_err(),
        "a body shorter than its Content-Length is an error"
    );

    // A faulted status is cut the same way; once the statuses run out, answers are whole.
    let response = http()
        .get(format!(
            "{}/site-explorer/metrics?target=a.example&date=2026-11-30",
            urls.ahrefs
        ))
        .bearer_auth(ahrefs_key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.bytes().await.is_err());
    let (status, body) = ahrefs_get(
        &fakes,
        "/site-explorer/metrics?target=a.example&date=2026-11-30",
        Some(&ahrefs_key()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn reset_mid_body_resets_the_connection_on_dataforseo_and_browser_run() {
    let config = support::config()
        .fault(fault(json!({ "fake": "dataforseo", "endpoint": "serp_live_advanced", "statuses": [500], "reset_mid_body": true })))
        .fault(fault(json!({ "fake": "browser_run", "endpoint": "screenshot", "reset_mid_body": true })));
    let fakes = support::start(config).await;
    let body = serp_task().to_string().into_bytes();

    let faulted = http()
        .post(format!("{}{LIVE}", fakes.base_urls().dataforseo))
        .header("authorization", dataforseo_auth())
        .body(body.clone())
        .send()
        .await;
    let failed = match faulted {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(failed, "a reset mid-body is an error for the client");
    let (status, envelope) = dataforseo_post(&fakes, LIVE, Some(dataforseo_auth()), &body).await;
    assert_eq!(
        (status, &envelope["status_code"]),
        (200, &json!(20000)),
        "the next request is served whole"
    );

    // Raw: part of the PNG arrives, then ECONNRESET rather than EOF.
    let browser = fakes.base_urls().browser_run;
    let token = browser_token();
    let (head, received, ending) = tokio::task::spawn_blocking(move || {
        let authority = browser.strip_prefix("http://").unwrap().split('/').next().unwrap().to_owned();
        let payload = r#"{"url":"https://acme-outdoor.example/"}"#;
        let (received, ending) = exchange(&authority, &format!("POST /client/v4/accounts/a/browser-rendering/screenshot HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}", payload.len()));
        let split = received.windows(4).position(|window| window == b"\r\n\r\n").map_or(0, |at| at + 4);
        (String::from_utf8_lossy(&received[..split]).into_owned(), received[split..].to_vec(), ending)
    })
    .await
    .unwrap();
    if !head.is_empty() {
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(received.len() < content_length(&head));
        assert!(received.is_empty() || received.starts_with(b"\x89PNG"));
    }
    assert_eq!(ending, Err(ErrorKind::ConnectionReset));
}

#[tokio::test]
async fn the_proxy_keeps_unfaulted_endpoints_whole_over_keep_alive() {
    let config = support::config().fault(fault(json!({ "fake": "asana", "endpoint": "create_story", "statuses": [503], "short_body": true })));
    let fakes = support::start(config).await;
    let client = http();
    // Many requests on one pooled connection through the proxy, one of them HEAD (no body).
    for _ in 0..20 {
        let response = client
            .get(format!("{}/users/me", fakes.base_urls().asana))
            .bearer_auth(credential(agency_fakes::asana::AGENT_PAT_BINDING))
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_json(response).await;
        assert_eq!(
            (status, body["data"]["resource_type"].as_str()),
            (200, Some("user"))
        );
    }
    let head = client
        .head(format!("{}/users/me", fakes.base_urls().asana))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 404, "no HEAD route: answered, not hung");
    let response = client
        .get(format!("{}/tasks/{TASK_GID}", fakes.base_urls().asana))
        .bearer_auth(credential(agency_fakes::asana::AGENT_PAT_BINDING))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(fakes.base_urls().asana.contains("127.0.0.1"));
}

#[tokio::test]
async fn wire_knobs_are_validated_at_start_up() {
    for spec in [
        json!({ "fake": "semrush", "endpoint": "report", "short_body": true, "reset_mid_body": true }),
        json!({ "fake": "semrush", "endpoint": "report", "short_body": false }),
    ] {
        match Fakes::start(support::config().fault(fault(spec.clone()))).await {
            Err(FakesError::InvalidFault { .. }) => {}
            Err(other) => panic!("{spec}: {other}"),
            Ok(_) => panic!("{spec}: started"),
        }
    }
    assert!(serde_json::from_value::<agency_fakes::FaultSpec>(
        json!({ "fake": "semrush", "endpoint": "report", "reset_mid_bodies": true })
    )
    .is_err());
}

#[tokio::test]
async fn statuses_retry_after_and_echo_in_each_new_fakes_own_shape() {
    let config = support::config()
        .fault(fault(json!({ "fake": "accuranker", "endpoint": "list_domains", "statuses": [429], "retry_after": "3" })))
        .fault(fault(json!({ "fake": "semrush", "endpoint": "report", "statuses": [429, 500], "echo_credential": true })))
        .fault(fault(json!({ "fake": "dataforseo", "endpoint": "serp_live_advanced", "statuses": [402] })))
        .fault(fault(json!({ "fake": "browser_run", "endpoint": "content", "statuses": [503], "retry_after": "1" })));
    let fakes = support::start(config).await;

    let response = accuranker_get(&fakes, "/domains/", accuranker_token()).await;
    assert_eq!(response.headers()["retry-after"], "3");
    let (status, body) = status_and_json(response).await;
    assert_eq!(
        (status, body),
        (429, json!({ "detail": "Request was throttled." }))
    );

    let query = format!("/?type=domain_ranks&key={}&domain=a.example", semrush_key());
    let (status, _, text) = semrush_get(&fakes, &query).await;
    assert_eq!(status, 429);
    assert_eq!(
        text,
        format!("ERROR 131 :: LIMIT EXCEEDED {}", semrush_key()),
        "§5c: the echo models the key after the message"
    );
    let (status, _, text) = semrush_get(&fakes, &query).await;
    assert_eq!(status, 500);
    assert!(text.starts_with("ERROR ") && text.contains(" :: "));

    let (status, envelope) = dataforseo_post(
        &fakes,
        LIVE,
        Some(dataforseo_auth()),
        serp_task().to_string().as_bytes(),
    )
    .await;
    assert_eq!(
        (status, &envelope["status_code"], &envelope["tasks"]),
        (402, &json!(40200), &Value::Null)
    );

    let response = browser_run(
        &fakes,
        "content",
        Some(&browser_token()),
        &json!({ "url": "https://a.example/" }),
    )
    .await;
    assert_eq!(response.headers()["retry-after"], "1");
    let (status, envelope) = status_and_json(response).await;
    assert_eq!((status, &envelope["success"]), (503, &json!(false)));
}

#[tokio::test]
async fn echo_credential_makes_normal_rejections_echo_on_dataforseo_and_semrush() {
    let config = support::config()
        .fault(fault(json!({ "fake": "dataforseo", "endpoint": "serp_live_advanced", "echo_credential": true })))
        .fault(fault(json!({ "fake": "semrush", "endpoint": "report", "echo_credential": true })));
    let fakes = support::start(config).await;
    let wrong = crate::seo::dataforseo_basic(
        &credential(dataforseo::LOGIN_BINDING),
        "canary-presented-pw",
    );
    let (status, envelope) = dataforseo_post(
        &fakes,
        LIVE,
        Some(wrong),
        serp_task().to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 401);
    // Only the credential the rejection concerns (the password) is echoed.
    let message = envelope["status_message"].as_str().unwrap();
    assert_eq!(
        message,
        "You are not authorized to access this resource.: canary-presented-pw"
    );

    let (_, _, text) = semrush_get(
        &fakes,
        "/?type=domain_ranks&key=canary-presented-key&domain=a.example",
    )
    .await;
    assert_eq!(
        text,
        "ERROR 120 :: WRONG KEY - ID PAIR canary-presented-key"
    );
}

#[tokio::test]
async fn delay_and_malformed_body_on_the_new_fakes() {
    let config = support::config()
        .fault(fault(
            json!({ "fake": "ahrefs", "endpoint": "domain_rating", "delay_ms": 250 }),
        ))
        .fault(fault(
            json!({ "fake": "accuranker", "endpoint": "list_accounts", "malformed_body": true }),
        ));
    let fakes = support::start(config).await;
    let started = Instant::now();
    let (status, _) = ahrefs_get(
        &fakes,
        "/site-explorer/domain-rating?target=a.example&date=2026-11-30",
        Some(&ahrefs_key()),
    )
    .await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(250));
    let body = accuranker_get(&fakes, "/accounts/", accuranker_token())
        .await
        .bytes()
        .await
        .unwrap();
    assert!(serde_json::from_slice::<Value>(&body).is_err());
}

#[tokio::test]
async fn a_start_up_error_after_servers_bound_returns_promptly_and_frees_every_port() {
    // The last fake's fixed port is taken: every other server has started (and
    // mounted its endpoints) when the bind fails, and they must all shut down.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = support::config().port("harvest", port).port("semrush", 0);
    let started = tokio::time::timeout(Duration::from_secs(20), Fakes::start(config))
        .await
        .expect("start-up fails promptly, without deadlocking on teardown");
    match started {
        Err(FakesError::Bind {
            key, port: failed, ..
        }) => assert_eq!((key.as_str(), failed), ("harvest", port)),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("started on a taken port"),
    }
    let unknown = tokio::time::timeout(
        Duration::from_secs(20),
        Fakes::start(support::config().port("dropbox", 0)),
    )
    .await
    .unwrap();
    assert!(matches!(unknown, Err(FakesError::UnknownPortKey { .. })));
}
