use agency_fakes::google_oauth::{ACCESS_TOKEN_PREFIX, MINTED_ACCESS_TOKEN_LABEL};
use serde_json::{json, Value};

use crate::support::{self, http, mint_recorder, refresh_form, status_and_json};

async fn post_token(fakes: &agency_fakes::Fakes, form: &[(&'static str, String)]) -> (u16, Value) {
    let url = format!("{}/token", fakes.base_urls().google_oauth);
    status_and_json(http().post(url).form(form).send().await.unwrap()).await
}

fn with_field(field: &'static str, value: &str) -> Vec<(&'static str, String)> {
    refresh_form()
        .into_iter()
        .map(|(key, old)| (key, if key == field { value.to_owned() } else { old }))
        .collect()
}

fn without_field(field: &'static str) -> Vec<(&'static str, String)> {
    refresh_form()
        .into_iter()
        .filter(|(key, _)| *key != field)
        .collect()
}

#[tokio::test]
async fn mints_a_fresh_google_shaped_token_per_call_and_tells_the_hook_first() {
    let (minted, hook) = mint_recorder();
    let fakes = support::start(support::config().on_mint(hook)).await;

    let (status, first) = post_token(&fakes, &refresh_form()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 3599);
    assert!(first["scope"].is_string());
    let (_, second) = post_token(&fakes, &refresh_form()).await;

    let tokens: Vec<&str> = [&first, &second]
        .map(|body| body["access_token"].as_str().unwrap())
        .to_vec();
    assert_ne!(tokens[0], tokens[1], "every call mints a fresh token");
    for token in &tokens {
        let random_part = token
            .strip_prefix(ACCESS_TOKEN_PREFIX)
            .expect("ya29. prefix");
        // 16 base64 characters carry 96 bits.
        assert!(random_part.len() >= 16);
        assert!(random_part
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'));
    }
    let recorded = minted.lock().unwrap().clone();
    let expected: Vec<(String, String)> = tokens
        .iter()
        .map(|token| (MINTED_ACCESS_TOKEN_LABEL.to_owned(), token.to_string()))
        .collect();
    assert_eq!(recorded, expected);
}

#[tokio::test]
async fn a_wrong_client_is_invalid_client() {
    let fakes = support::start(support::config()).await;
    let invalid_client = json!({ "error": "invalid_client", "error_description": "Unauthorized" });
    for field in ["client_id", "client_secret"] {
        assert_eq!(
            post_token(&fakes, &with_field(field, "canary-wrong")).await,
            (401, invalid_client.clone())
        );
    }
}

#[tokio::test]
async fn a_wrong_refresh_token_is_invalid_grant() {
    let fakes = support::start(support::config()).await;
    assert_eq!(
        post_token(&fakes, &with_field("refresh_token", "canary-revoked")).await,
        (
            400,
            json!({ "error": "invalid_grant", "error_description": "Token has been expired or revoked." })
        )
    );
}

#[tokio::test]
async fn an_unsupported_grant_is_unsupported_grant_type() {
    let fakes = support::start(support::config()).await;
    let (status, body) = post_token(&fakes, &with_field("grant_type", "client_credentials")).await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn missing_fields_are_invalid_request() {
    let fakes = support::start(support::config()).await;
    for field in ["client_id", "client_secret", "refresh_token"] {
        let (status, body) = post_token(&fakes, &without_field(field)).await;
        assert_eq!(
            (status, &body["error"]),
            (400, &json!("invalid_request")),
            "{field}"
        );
    }
    assert!(fakes
        .journal()
        .iter()
        .all(|entry| entry.fake == "google_oauth" && entry.status == 400));
}
