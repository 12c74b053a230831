use agency_fakes::ai_gateway::GATEWAY_TOKEN_BINDING;
use serde_json::{json, Value};

use crate::support::{self, credential, http, status_and_json};

pub async fn chat(
    fakes: &agency_fakes::Fakes,
    gateway_auth: Option<String>,
    body: &Value,
) -> reqwest::Response {
    let url = format!(
        "{}/acct-0001/agency/compat/chat/completions",
        fakes.base_urls().ai_gateway
    );
    let mut request = http().post(url).json(body);
    if let Some(value) = gateway_auth {
        request = request.header("cf-aig-authorization", value);
    }
    request.send().await.unwrap()
}

pub fn gateway_auth() -> Option<String> {
    Some(format!("Bearer {}", credential(GATEWAY_TOKEN_BINDING)))
}

pub fn summary_request() -> Value {
    json!({
        "model": "openai/gpt-4o-mini",
        "messages": [
            { "role": "system", "content": "You summarise traffic reports." },
            { "role": "user", "content": "Figures:\nsessions 1200\nusers 950\nbounce rate 41%\nThanks." },
        ],
    })
}

#[tokio::test]
async fn answers_an_openai_chat_completion_with_gateway_headers() {
    let fakes = support::start(support::config()).await;
    let response = chat(&fakes, gateway_auth(), &summary_request()).await;
    let log_id = response.headers()["cf-aig-log-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(response.headers()["cf-aig-cache-status"], "MISS");
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert!(body["created"].is_i64());
    assert_eq!(body["model"], "gpt-4o-mini");
    let choice = &body["choices"][0];
    assert_eq!(
        (
            &choice["index"],
            &choice["message"]["role"],
            &choice["finish_reason"]
        ),
        (&json!(0), &json!("assistant"), &json!("stop"))
    );
    assert!(choice["message"]["content"]
        .as_str()
        .unwrap()
        .contains("3 lines of figures"));
    let usage = &body["usage"];
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );

    // An identical request is a cache hit: same body, its own log id.
    let again = chat(&fakes, gateway_auth(), &summary_request()).await;
    assert_ne!(
        again.headers()["cf-aig-log-id"].to_str().unwrap(),
        log_id,
        "a log id per request"
    );
    assert_eq!(again.headers()["cf-aig-cache-status"], "HIT");
    let (_, cached) = status_and_json(again).await;
    assert_eq!(cached, body);
    let mut uncached_request = summary_request();
    uncached_request["messages"][0]["content"] = json!("You summarise reports.");
    let (_, fresh) = status_and_json(chat(&fakes, gateway_auth(), &uncached_request).await).await;
    assert_ne!(fresh["id"], body["id"]);
    assert_eq!(
        fresh["choices"], body["choices"],
        "content depends only on the figures in the prompt"
    );
}

#[tokio::test]
async fn rejects_a_wrong_or_missing_gateway_token_in_the_cloudflare_envelope() {
    let fakes = support::start(support::config()).await;
    let unauthorized = json!({
        "success": false,
        "errors": [{ "code": 2009, "message": "Unauthorized" }],
        "messages": [],
        "result": null,
    });
    for auth in [
        Some("Bearer canary-not-the-gateway-token".to_owned()),
        None,
        Some(credential(GATEWAY_TOKEN_BINDING)),
    ] {
        let (status, body) = status_and_json(chat(&fakes, auth, &summary_request()).await).await;
        assert_eq!((status, body), (401, unauthorized.clone()));
    }
    // The token in the provider's `Authorization` header is not the gateway's.
    let url = format!(
        "{}/acct-0001/agency/compat/chat/completions",
        fakes.base_urls().ai_gateway
    );
    let response = http()
        .post(url)
        .bearer_auth(credential(GATEWAY_TOKEN_BINDING))
        .json(&summary_request())
        .send()
        .await;
    assert_eq!(response.unwrap().status(), 401);
}

#[tokio::test]
async fn a_model_without_a_provider_prefix_is_a_bad_request() {
    let fakes = support::start(support::config()).await;
    let mut request = summary_request();
    request["model"] = json!("gpt-4o-mini");
    let (status, body) = status_and_json(chat(&fakes, gateway_auth(), &request).await).await;
    assert_eq!((status, &body["success"]), (400, &json!(false)));
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("{provider}/{model}"));
}
