use agency_fakes::asana::{AGENT_PAT_BINDING, WEBHOOK_PATH, WEBHOOK_SECRET_BINDING};
use agency_fakes::SignatureMode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::{
    self, credential, http, status_and_json, AGENT_GID, AGENT_NAME, PROJECT_GID, TASK_GID,
};

fn pat() -> String {
    credential(AGENT_PAT_BINDING)
}

async fn get(url: String, authorization: Option<String>) -> (u16, Value) {
    let mut request = http().get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    status_and_json(request.send().await.unwrap()).await
}

async fn post_story(fakes: &agency_fakes::Fakes, data: Value) -> (u16, Value) {
    let url = format!("{}/tasks/{TASK_GID}/stories", fakes.base_urls().asana);
    status_and_json(
        http()
            .post(url)
            .bearer_auth(pat())
            .json(&json!({ "data": data }))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn accepts_the_agent_pat_and_answers_the_agent_user() {
    let fakes = support::start(support::config()).await;
    let (status, body) = get(
        format!("{}/users/me", fakes.base_urls().asana),
        Some(format!("Bearer {}", pat())),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["gid"], AGENT_GID);
    assert_eq!(body["data"]["name"], AGENT_NAME);
    assert_eq!(body["data"]["resource_type"], "user");
}

#[tokio::test]
async fn rejects_wrong_missing_and_malformed_credentials_as_asana_does() {
    let fakes = support::start(support::config()).await;
    let url = format!("{}/users/me", fakes.base_urls().asana);
    let not_authorized = json!({ "errors": [{ "message": "Not Authorized" }] });
    for authorization in [
        Some("Bearer canary-not-the-pat".to_owned()),
        None,
        // The right value without the Bearer scheme is still not a bearer token.
        Some(pat()),
    ] {
        assert_eq!(
            get(url.clone(), authorization).await,
            (401, not_authorized.clone())
        );
    }
    let statuses: Vec<u16> = fakes.journal().iter().map(|entry| entry.status).collect();
    assert_eq!(statuses, [401, 401, 401], "rejected requests are journaled");
}

#[tokio::test]
async fn serves_the_full_task_in_asanas_shape() {
    let fakes = support::start(support::config()).await;
    let (status, body) = get(
        format!("{}/tasks/{TASK_GID}", fakes.base_urls().asana),
        Some(format!("Bearer {}", pat())),
    )
    .await;
    assert_eq!(status, 200);
    let task = &body["data"];
    assert_eq!(task["gid"], TASK_GID);
    assert_eq!(task["resource_type"], "task");
    assert_eq!(task["completed"], false);
    assert_eq!(
        task["assignee"],
        json!({ "gid": AGENT_GID, "resource_type": "user", "name": AGENT_NAME })
    );
    assert_eq!(task["projects"][0]["gid"], PROJECT_GID);
    assert_eq!(task["memberships"][0]["project"]["gid"], PROJECT_GID);
    assert_eq!(task["tags"][0]["name"], "skill:ga4-report");
    let field = &task["custom_fields"][0];
    assert_eq!(
        (
            &field["name"],
            &field["type"],
            &field["text_value"],
            &field["display_value"]
        ),
        (
            &json!("Client"),
            &json!("text"),
            &json!("Acme"),
            &json!("Acme")
        )
    );
    assert!(task["permalink_url"].as_str().unwrap().ends_with(TASK_GID));
}

#[tokio::test]
async fn unknown_tasks_and_routes_are_404_in_the_asana_envelope() {
    let fakes = support::start(support::config()).await;
    let asana = fakes.base_urls().asana;
    let (status, body) = get(
        format!("{asana}/tasks/999"),
        Some(format!("Bearer {}", pat())),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({ "errors": [{ "message": "Unknown object: 999" }] })
        )
    );
    let (status, body) = get(
        format!("{asana}/portfolios"),
        Some(format!("Bearer {}", pat())),
    )
    .await;
    assert_eq!(status, 404);
    assert!(body["errors"][0]["message"].is_string());
    let journal = fakes.journal();
    assert_eq!(journal[0].endpoint, Some("get_task"));
    assert_eq!(
        (journal[1].endpoint, journal[1].status),
        (None, 404),
        "unrouted requests are journaled"
    );
}

#[tokio::test]
async fn stores_text_and_html_comments() {
    let fakes = support::start(support::config()).await;
    let (status, body) = post_story(&fakes, json!({ "text": "Report ready: 3 < 4" })).await;
    assert_eq!(status, 201, "{body}");
    let story = &body["data"];
    assert_eq!(story["resource_type"], "story");
    assert_eq!(story["resource_subtype"], "comment_added");
    assert_eq!(story["created_by"]["gid"], AGENT_GID);
    assert_eq!(story["text"], "Report ready: 3 < 4");
    assert_eq!(story["html_text"], "<body>Report ready: 3 &lt; 4</body>");
    assert!(story["created_at"].as_str().unwrap().ends_with('Z'));

    let (status, body) = post_story(
        &fakes,
        json!({ "html_text": "<body><strong>Done</strong> &amp; filed</body>" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["text"], "Done & filed");

    let stored = fakes.asana().stories(TASK_GID);
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored[1]["html_text"],
        "<body><strong>Done</strong> &amp; filed</body>"
    );
}

#[tokio::test]
async fn rejects_stories_with_both_neither_or_unwrapped_rich_text() {
    let fakes = support::start(support::config()).await;
    for data in [
        json!({ "text": "a", "html_text": "<body>a</body>" }),
        json!({}),
        json!({ "html_text": "<p>not wrapped</p>" }),
        json!({ "text": 7 }),
    ] {
        let (status, body) = post_story(&fakes, data.clone()).await;
        assert_eq!(status, 400, "{data}");
        assert!(body["errors"][0]["message"].is_string(), "{body}");
    }
    assert!(fakes.asana().stories(TASK_GID).is_empty());
}

#[tokio::test]
async fn lists_stories_and_pages_them_when_limit_is_given() {
    let fakes = support::start(support::config()).await;
    for index in 0..5 {
        post_story(&fakes, json!({ "text": format!("comment {index}") })).await;
    }
    let stories_url = format!("{}/tasks/{TASK_GID}/stories", fakes.base_urls().asana);
    let (status, all) = get(stories_url.clone(), Some(format!("Bearer {}", pat()))).await;
    assert_eq!(status, 200);
    assert_eq!(all["data"].as_array().unwrap().len(), 5);
    assert!(all.get("next_page").is_none(), "no limit, no next_page");
    assert!(
        all["data"][0].get("html_text").is_none(),
        "html_text only when opt_fields asks"
    );

    let mut texts = Vec::new();
    let mut url = format!("{stories_url}?limit=2&opt_fields=text,html_text");
    loop {
        let (status, page) = get(url, Some(format!("Bearer {}", pat()))).await;
        assert_eq!(status, 200, "{page}");
        assert!(page["data"].as_array().unwrap().len() <= 2);
        for story in page["data"].as_array().unwrap() {
            assert!(story["html_text"].is_string());
            texts.push(story["text"].as_str().unwrap().to_owned());
        }
        if page["next_page"].is_null() {
            break;
        }
        let uri = page["next_page"]["uri"].as_str().unwrap();
        assert!(uri.ends_with(page["next_page"]["path"].as_str().unwrap()));
        assert!(!uri.contains(&pat()), "next_page carries no credential");
        url = uri.to_owned();
    }
    assert_eq!(
        texts,
        (0..5)
            .map(|index| format!("comment {index}"))
            .collect::<Vec<_>>()
    );
}

/// HMAC-SHA256 per RFC 2104, written out here so the check does not share
/// the fake's HMAC code.
fn independent_hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut block_key = if key.len() > BLOCK {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    block_key.resize(BLOCK, 0);
    let pad = |byte: u8| {
        block_key
            .iter()
            .map(|key_byte| key_byte ^ byte)
            .collect::<Vec<u8>>()
    };
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

#[tokio::test]
async fn sends_the_handshake_with_the_hook_secret() {
    let fakes = support::start(support::config()).await;
    let handshake = fakes.asana().handshake();
    assert_eq!((handshake.method, handshake.path), ("POST", WEBHOOK_PATH));
    assert_eq!(
        header(&handshake.headers, "x-hook-secret"),
        Some(credential(WEBHOOK_SECRET_BINDING).as_str())
    );
    assert!(handshake.body.is_empty());
}

#[tokio::test]
async fn signs_deliveries_with_hmac_sha256_of_the_raw_body() {
    let fakes = support::start(support::config()).await;
    let asana = fakes.asana();
    let events = vec![
        asana.task_event(TASK_GID, "1209000000000001"),
        asana.story_added_event(TASK_GID, "1300", AGENT_GID),
    ];
    let secret = credential(WEBHOOK_SECRET_BINDING);

    let valid = asana.delivery(events.clone(), SignatureMode::Valid);
    assert_eq!(valid.path, WEBHOOK_PATH);
    let body: Value = serde_json::from_slice(&valid.body).unwrap();
    assert_eq!(body["events"], Value::Array(events.clone()));
    let expected = independent_hmac_sha256_hex(secret.as_bytes(), &valid.body);
    assert_eq!(
        header(&valid.headers, "x-hook-signature"),
        Some(expected.as_str())
    );

    let wrong = asana.delivery(events.clone(), SignatureMode::Wrong);
    let wrong_signature = header(&wrong.headers, "x-hook-signature").unwrap();
    assert_eq!(wrong_signature.len(), 64, "a well-formed hex signature");
    assert_ne!(
        wrong_signature,
        independent_hmac_sha256_hex(secret.as_bytes(), &wrong.body)
    );

    let unsigned = asana.delivery(events, SignatureMode::Missing);
    assert_eq!(header(&unsigned.headers, "x-hook-signature"), None);
}

#[tokio::test]
async fn builds_asana_events_for_task_changes_and_added_stories() {
    let fakes = support::start(support::config()).await;
    let changed = fakes.asana().task_event(TASK_GID, "1209000000000001");
    assert_eq!(changed["action"], "changed");
    assert_eq!(changed["resource"]["gid"], TASK_GID);
    assert_eq!(changed["resource"]["resource_type"], "task");
    assert_eq!(changed["user"]["gid"], "1209000000000001");
    assert_eq!(changed["parent"], Value::Null);
    assert_eq!(changed["change"]["field"], "assignee");
    assert_eq!(changed["change"]["new_value"]["gid"], AGENT_GID);

    let added = fakes
        .asana()
        .story_added_event(TASK_GID, "1300000000000009", AGENT_GID);
    assert_eq!(added["action"], "added");
    assert_eq!(added["resource"]["resource_type"], "story");
    assert_eq!(added["resource"]["gid"], "1300000000000009");
    assert_eq!(added["parent"]["gid"], TASK_GID);
    assert!(
        added.get("change").is_none(),
        "change only on changed events"
    );
}
