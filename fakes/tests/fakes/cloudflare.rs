//! Browser Run quick actions and AI Gateway's provider-native paths and
//! `cf-aig-*` headers (PROVIDER-NOTES §6a–6c).

use std::io::Read;

use agency_fakes::ai_gateway::GATEWAY_TOKEN_BINDING;
use agency_fakes::browser_run::API_TOKEN_BINDING;
use agency_fakes::Fakes;
use serde_json::{json, Value};

use crate::ai_gateway::{gateway_auth, summary_request};
use crate::support::{self, credential, header, http, status_and_json};

pub async fn browser_run(
    fakes: &Fakes,
    action: &str,
    token: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut request = http()
        .post(format!(
            "{}/accounts/acct-0001/browser-rendering/{action}",
            fakes.base_urls().browser_run
        ))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

pub fn browser_token() -> String {
    credential(API_TOKEN_BINDING)
}

/// Checks a PNG the way a decoder would: signature, chunk CRCs, IHDR, and
/// an IDAT that inflates to exactly the scanlines IHDR announces.
pub fn assert_valid_png(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "the PNG signature");
    let mut position = 8;
    let (mut size, mut idat, mut kinds) = ((0, 0), Vec::new(), Vec::new());
    while position < bytes.len() {
        let length = u32::from_be_bytes(bytes[position..position + 4].try_into().unwrap()) as usize;
        let chunk = &bytes[position + 4..position + 8 + length];
        let stored = u32::from_be_bytes(
            bytes[position + 8 + length..position + 12 + length]
                .try_into()
                .unwrap(),
        );
        assert_eq!(crc32fast::hash(chunk), stored, "chunk CRC");
        let (kind, data) = chunk.split_at(4);
        match kind {
            b"IHDR" => {
                size = (
                    u32::from_be_bytes(data[..4].try_into().unwrap()),
                    u32::from_be_bytes(data[4..8].try_into().unwrap()),
                );
                assert_eq!(&data[8..], &[8, 2, 0, 0, 0], "8-bit RGB");
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        kinds.push(String::from_utf8_lossy(kind).into_owned());
        position += 12 + length;
    }
    assert_eq!(kinds.first().map(String::as_str), Some("IHDR"));
    assert_eq!(kinds.last().map(String::as_str), Some("IEND"));
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(idat.as_slice())
        .read_to_end(&mut raw)
        .expect("IDAT inflates (adler32 checked)");
    assert_eq!(
        raw.len() as u32,
        size.1 * (1 + 3 * size.0),
        "one filter byte and RGB pixels per row"
    );
    size
}

#[tokio::test]
async fn browser_run_renders_content_and_markdown_in_the_v4_envelope() {
    let fakes = support::start(support::config()).await;
    let token = browser_token();
    let page = json!({ "url": "https://acme-outdoor.example/landing?utm=1" });
    let (status, content) =
        status_and_json(browser_run(&fakes, "content", Some(&token), &page).await).await;
    assert_eq!(status, 200, "{content}");
    assert_eq!(
        (&content["success"], &content["errors"]),
        (&json!(true), &json!([]))
    );
    assert_eq!(
        content["meta"],
        json!({ "status": 200, "title": "acme-outdoor.example | Home" })
    );
    let html = content["result"].as_str().unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<h1>acme-outdoor.example</h1>"));

    let (_, markdown) =
        status_and_json(browser_run(&fakes, "markdown", Some(&token), &page).await).await;
    let markdown = markdown["result"].as_str().unwrap();
    assert!(
        markdown.starts_with("# acme-outdoor.example\n\n"),
        "{markdown}"
    );

    let given = json!({ "html": "<html><head><title>Brief</title></head><body><h2>Goals</h2><p>Grow <b>traffic</b>.</p></body></html>" });
    let (_, rendered) =
        status_and_json(browser_run(&fakes, "markdown", Some(&token), &given).await).await;
    assert_eq!(rendered["result"], "## Goals\n\nGrow traffic.");
    assert_eq!(rendered["meta"]["title"], "Brief");
}

#[tokio::test]
async fn browser_run_screenshots_are_raw_png_bytes_and_failures_are_json() {
    let fakes = support::start(support::config()).await;
    let response = browser_run(
        &fakes,
        "screenshot",
        Some(&browser_token()),
        &json!({ "url": "https://acme-outdoor.example/" }),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let png = response.bytes().await.unwrap();
    assert_eq!(assert_valid_png(&png), (32, 20));

    for body in [
        json!({}),
        json!({ "url": "ftp://x.example/" }),
        json!({ "url": "https://a.example", "html": "<p/>" }),
    ] {
        let response = browser_run(&fakes, "screenshot", Some(&browser_token()), &body).await;
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{body}"
        );
        let (status, envelope) = status_and_json(response).await;
        assert_eq!(
            (status, &envelope["success"], &envelope["result"]),
            (400, &json!(false), &Value::Null),
            "{body}"
        );
    }
}

#[tokio::test]
async fn browser_run_rejects_a_wrong_or_missing_token_with_403_code_10000() {
    let fakes = support::start(support::config()).await;
    let page = json!({ "url": "https://acme-outdoor.example/" });
    // The AI Gateway token is not Browser Run's.
    let gateway = credential(GATEWAY_TOKEN_BINDING);
    for token in [Some("canary-not-the-token"), Some(gateway.as_str()), None] {
        for action in ["content", "screenshot"] {
            let response = browser_run(&fakes, action, token, &page).await;
            assert_eq!(response.headers()["content-type"], "application/json");
            let (status, envelope) = status_and_json(response).await;
            assert_eq!(
                (status, envelope),
                (
                    403,
                    json!({ "success": false, "errors": [{ "code": 10000, "message": "Authentication error" }], "messages": [], "result": null })
                ),
                "{action} {token:?}"
            );
        }
    }
}

async fn gateway_post(
    fakes: &Fakes,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> reqwest::Response {
    let mut request = http()
        .post(format!(
            "{}/acct-0001/agency{path}",
            fakes.base_urls().ai_gateway
        ))
        .header("cf-aig-authorization", gateway_auth().unwrap())
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn ai_gateway_serves_provider_native_openai_and_anthropic_paths() {
    let fakes = support::start(support::config()).await;
    let mut openai = summary_request();
    openai["model"] = json!("gpt-4o-mini");
    let response = gateway_post(
        &fakes,
        "/openai/chat/completions",
        &[("authorization", "Bearer sk-canary-provider-key")],
        &openai,
    )
    .await;
    assert!(header(&response, "cf-aig-log-id").is_some());
    let (status, completion) = status_and_json(response).await;
    assert_eq!(
        (status, &completion["object"], &completion["model"]),
        (200, &json!("chat.completion"), &json!("gpt-4o-mini"))
    );

    let anthropic = json!({
        "model": "claude-3-haiku",
        "max_tokens": 256,
        "system": "You summarise traffic reports.",
        "messages": [{ "role": "user", "content": "sessions 1200\nusers 950" }],
    });
    let (status, message) =
        status_and_json(gateway_post(&fakes, "/anthropic/v1/messages", &[], &anthropic).await)
            .await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(
        (&message["type"], &message["role"], &message["stop_reason"]),
        (&json!("message"), &json!("assistant"), &json!("end_turn"))
    );
    assert!(message["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("2 lines of figures"));

    let logs = fakes.ai_gateway_logs();
    let summary: Vec<(&str, &str, &str, &str)> = logs
        .iter()
        .map(|log| {
            (
                log.endpoint,
                log.provider.as_str(),
                log.model.as_str(),
                log.path.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "openai_chat_completions",
                "openai",
                "gpt-4o-mini",
                "/openai/chat/completions"
            ),
            (
                "anthropic_messages",
                "anthropic",
                "claude-3-haiku",
                "/anthropic/v1/messages"
            ),
        ]
    );

    // The gateway token is still required on native paths.
    let response = http()
        .post(format!(
            "{}/acct-0001/agency/openai/chat/completions",
            fakes.base_urls().ai_gateway
        ))
        .json(&openai)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn ai_gateway_caches_identical_requests_unless_told_to_skip() {
    let fakes = support::start(support::config()).await;
    let path = "/compat/chat/completions";
    let first = gateway_post(&fakes, path, &[], &summary_request()).await;
    assert_eq!(
        header(&first, "cf-aig-cache-status").as_deref(),
        Some("MISS")
    );
    let first_log = header(&first, "cf-aig-log-id").unwrap();
    let (_, first_body) = status_and_json(first).await;

    let second = gateway_post(&fakes, path, &[], &summary_request()).await;
    assert_eq!(
        header(&second, "cf-aig-cache-status").as_deref(),
        Some("HIT")
    );
    assert_ne!(
        header(&second, "cf-aig-log-id").unwrap(),
        first_log,
        "a log id per request, hits too"
    );
    let (_, second_body) = status_and_json(second).await;
    assert_eq!(
        second_body, first_body,
        "a hit answers the cached body, id included"
    );

    let skipped = gateway_post(
        &fakes,
        path,
        &[("cf-aig-skip-cache", "true")],
        &summary_request(),
    )
    .await;
    assert_eq!(
        header(&skipped, "cf-aig-cache-status").as_deref(),
        Some("MISS")
    );
    let (_, skipped_body) = status_and_json(skipped).await;
    assert_ne!(skipped_body["id"], first_body["id"]);

    // Another provider key, another cache entry (the key is part of the cache key, hashed).
    let other_key = gateway_post(
        &fakes,
        path,
        &[("authorization", "Bearer sk-canary-other")],
        &summary_request(),
    )
    .await;
    assert_eq!(
        header(&other_key, "cf-aig-cache-status").as_deref(),
        Some("MISS")
    );
    let mut other_prompt = summary_request();
    other_prompt["messages"][1]["content"] = json!("Figures:\nsessions 1\n");
    let other_body = gateway_post(&fakes, path, &[], &other_prompt).await;
    assert_eq!(
        header(&other_body, "cf-aig-cache-status").as_deref(),
        Some("MISS")
    );

    // A zero TTL stores nothing; an explicit cache key groups different bodies.
    let mut ttl_prompt = summary_request();
    ttl_prompt["messages"][1]["content"] = json!("ttl zero");
    for _ in 0..2 {
        let response = gateway_post(&fakes, path, &[("cf-aig-cache-ttl", "0")], &ttl_prompt).await;
        assert_eq!(
            header(&response, "cf-aig-cache-status").as_deref(),
            Some("MISS")
        );
    }
    let keyed = gateway_post(
        &fakes,
        path,
        &[("cf-aig-cache-key", "weekly-summary")],
        &ttl_prompt,
    )
    .await;
    assert_eq!(
        header(&keyed, "cf-aig-cache-status").as_deref(),
        Some("MISS")
    );
    let keyed_again = gateway_post(
        &fakes,
        path,
        &[("cf-aig-cache-key", "weekly-summary")],
        &other_prompt,
    )
    .await;
    assert_eq!(
        header(&keyed_again, "cf-aig-cache-status").as_deref(),
        Some("HIT")
    );

    let cached: Vec<bool> = fakes
        .ai_gateway_logs()
        .iter()
        .map(|log| log.cached)
        .collect();
    assert_eq!(
        cached,
        [false, true, false, false, false, false, false, false, true]
    );
}

#[tokio::test]
async fn ai_gateway_validates_metadata_and_records_the_logging_headers() {
    let fakes = support::start(support::config()).await;
    let path = "/compat/chat/completions";
    let response = gateway_post(
        &fakes,
        path,
        &[
            (
                "cf-aig-metadata",
                r#"{"run":"r-1","attempt":2,"retry":false}"#,
            ),
            ("cf-aig-collect-log-payload", "false"),
            ("cf-aig-cache-ttl", "60"),
            ("cf-aig-event-id", "evt-42"),
        ],
        &summary_request(),
    )
    .await;
    assert_eq!(
        header(&response, "cf-aig-event-id").as_deref(),
        Some("evt-42")
    );
    assert_eq!(response.status(), 200);
    let log = fakes.ai_gateway_logs().pop().unwrap();
    assert_eq!(
        Value::Object(log.metadata.clone()),
        json!({ "run": "r-1", "attempt": 2, "retry": false })
    );
    assert!(!log.collect_log_payload && log.collect_log);
    assert_eq!(
        (log.cache_ttl, log.request_body, log.response_body),
        (Some(60), None, None),
        "no payload kept"
    );

    for metadata in [
        "not json",
        r#"["a"]"#,
        r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}"#,
        r#"{"nested":{"x":1}}"#,
        r#"{"list":[1]}"#,
        r#"{"none":null}"#,
    ] {
        let (status, body) = status_and_json(
            gateway_post(
                &fakes,
                path,
                &[("cf-aig-metadata", metadata)],
                &summary_request(),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, &body["success"]),
            (400, &json!(false)),
            "{metadata}"
        );
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cf-aig-metadata"));
    }
    let five = r#"{"a":1,"b":"2","c":true,"d":4.5,"e":"five"}"#;
    let (status, _) = status_and_json(
        gateway_post(
            &fakes,
            path,
            &[("cf-aig-metadata", five)],
            &summary_request(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "five scalar entries are fine");
    let (status, _) = status_and_json(
        gateway_post(
            &fakes,
            path,
            &[("cf-aig-skip-cache", "yes")],
            &summary_request(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        fakes.ai_gateway_logs().len(),
        2,
        "rejected requests are not gateway log entries"
    );
}
