//! Asana beyond the comment loop: tasks, attachments, the webhook handshake
//! against a real local receiver, and `/events` sync tokens (PROVIDER-NOTES §1).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread::JoinHandle;

use agency_fakes::asana::{AGENT_PAT_BINDING, WEBHOOK_SECRET_BINDING};
use agency_fakes::{AsanaWebhookOptions, Fakes};
use serde_json::{json, Value};

use crate::support::{self, credential, http, status_and_json, AGENT_GID, PROJECT_GID, TASK_GID};

fn pat() -> String {
    credential(AGENT_PAT_BINDING)
}

pub async fn asana_get(fakes: &Fakes, path: &str) -> (u16, Value) {
    status_and_json(
        http()
            .get(format!("{}{path}", fakes.base_urls().asana))
            .bearer_auth(pat())
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub async fn asana_post(fakes: &Fakes, path: &str, body: &Value) -> (u16, Value) {
    status_and_json(
        http()
            .post(format!("{}{path}", fakes.base_urls().asana))
            .bearer_auth(pat())
            .json(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub async fn upload(fakes: &Fakes, form: reqwest::multipart::Form) -> (u16, Value) {
    status_and_json(
        http()
            .post(format!("{}/attachments", fakes.base_urls().asana))
            .bearer_auth(pat())
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub fn report_upload() -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("parent", TASK_GID)
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"<html>report</html>".to_vec())
                .file_name("report.html")
                .mime_str("text/html")
                .unwrap(),
        )
}

#[tokio::test]
async fn tasks_a_run_creates_are_what_the_next_reads_return() {
    let fakes = support::start(support::config()).await;
    let (status, created) = asana_post(
        &fakes,
        "/tasks",
        &json!({ "data": {
        "name": "Follow-up: Acme traffic dip",
        "notes": "Sessions fell 12% <week on week>",
        "projects": [PROJECT_GID],
        "assignee": "me",
        "due_on": "2026-12-07",
    } }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let task = &created["data"];
    let gid = task["gid"].as_str().unwrap().to_owned();
    assert_eq!(
        (&task["assignee"]["gid"], &task["due_on"]),
        (&json!(AGENT_GID), &json!("2026-12-07"))
    );
    assert_eq!(
        task["html_notes"],
        "<body>Sessions fell 12% &lt;week on week&gt;</body>"
    );

    let (_, read) = asana_get(&fakes, &format!("/tasks/{gid}")).await;
    assert_eq!(read["data"], *task);
    assert_eq!(fakes.asana().created_tasks(), std::slice::from_ref(&gid));

    let (_, listed) = asana_get(&fakes, &format!("/tasks?project={PROJECT_GID}")).await;
    let gids: Vec<&Value> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| &task["gid"])
        .collect();
    assert_eq!(gids, [&json!(TASK_GID), &json!(gid)]);
    assert_eq!(
        listed["data"][1],
        json!({ "gid": gid, "resource_type": "task", "name": "Follow-up: Acme traffic dip", "resource_subtype": "default_task" }),
        "TaskCompact"
    );
    let (_, mine) = asana_get(
        &fakes,
        "/tasks?assignee=me&workspace=1200000000000001&opt_fields=due_on,assignee.name&limit=1",
    )
    .await;
    assert_eq!(mine["data"].as_array().unwrap().len(), 1);
    assert!(
        mine["data"][0].get("assignee").is_some(),
        "opt_fields adds fields"
    );
    let next = mine["next_page"]["path"].as_str().unwrap();
    assert!(next.starts_with("/tasks?") && next.contains("offset="));
    let (_, second) = asana_get(&fakes, next).await;
    assert_eq!(second["next_page"], Value::Null);

    for (data, message) in [
        (json!({ "name": "no home" }), "workspace: Missing input"),
        (
            json!({ "workspace": "1200000000000001", "notes": "a", "html_notes": "<body>a</body>" }),
            "notes, html_notes: You may only specify one of these",
        ),
        (
            json!({ "workspace": "1200000000000001", "due_on": "next week" }),
            "due_on: Invalid date, expected YYYY-MM-DD",
        ),
    ] {
        let (status, body) = asana_post(&fakes, "/tasks", &json!({ "data": data })).await;
        assert_eq!(
            (status, &body["errors"][0]["message"]),
            (400, &json!(message))
        );
    }
    for query in ["", "?assignee=me", "?project=1&tag=2"] {
        let (status, body) = asana_get(&fakes, &format!("/tasks{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
    }
}

#[tokio::test]
async fn attachments_upload_as_multipart_list_get_and_download_within_two_minutes() {
    let fakes = support::start(support::config()).await;
    let (status, uploaded) = upload(&fakes, report_upload()).await;
    assert_eq!(status, 200, "§1: POST /attachments answers 200: {uploaded}");
    let attachment = &uploaded["data"];
    let gid = attachment["gid"].as_str().unwrap().to_owned();
    assert_eq!(
        (
            &attachment["name"],
            &attachment["resource_subtype"],
            &attachment["host"],
            &attachment["size"]
        ),
        (
            &json!("report.html"),
            &json!("asana"),
            &json!("asana"),
            &json!(19)
        )
    );
    assert_eq!(attachment["parent"]["gid"], TASK_GID);

    let external = reqwest::multipart::Form::new()
        .text("parent", TASK_GID)
        .text("resource_subtype", "external")
        .text("url", "https://dashboard.agency.test/reports/r-1")
        .text("name", "Dashboard");
    let (status, linked) = upload(&fakes, external).await;
    assert_eq!(
        (
            status,
            &linked["data"]["download_url"],
            &linked["data"]["connected_to_app"]
        ),
        (200, &Value::Null, &json!(false))
    );

    let (_, listed) = asana_get(&fakes, &format!("/attachments?parent={TASK_GID}")).await;
    let names: Vec<&Value> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["name"])
        .collect();
    assert_eq!(names, [&json!("report.html"), &json!("Dashboard")]);
    assert_eq!(
        listed["data"][0].as_object().unwrap().len(),
        4,
        "AttachmentCompact"
    );

    let (_, got) = asana_get(&fakes, &format!("/attachments/{gid}")).await;
    let download_url = got["data"]["download_url"].as_str().unwrap().to_owned();
    assert!(
        !download_url.contains(&pat()),
        "a pre-signed URL, not the PAT"
    );
    // No Authorization: the signature is the credential.
    let downloaded = http().get(&download_url).send().await.unwrap();
    assert_eq!(
        (
            downloaded.status().as_u16(),
            downloaded.headers()["content-type"].to_str().unwrap()
        ),
        (200, "text/html")
    );
    assert_eq!(
        downloaded.bytes().await.unwrap().as_ref(),
        b"<html>report</html>"
    );
    let forged = http()
        .get(download_url.replace("signature=", "signature=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let (_, again) = asana_get(&fakes, &format!("/attachments/{gid}")).await;
    assert_ne!(
        again["data"]["download_url"].as_str().unwrap(),
        download_url,
        "a fresh URL per read"
    );
    assert_eq!(
        http().get(&download_url).send().await.unwrap().status(),
        403,
        "the previous URL is dead"
    );

    assert_eq!(
        fakes.asana().attachments(TASK_GID)[0].2,
        b"<html>report</html>"
    );
    let no_file = reqwest::multipart::Form::new().text("parent", TASK_GID);
    let (status, body) = upload(&fakes, no_file).await;
    assert_eq!(
        (status, &body["errors"][0]["message"]),
        (400, &json!("file: Missing input"))
    );
    let (status, _) = asana_get(&fakes, "/attachments").await;
    assert_eq!(status, 400, "parent is required");
}

/// A one-request-at-a-time webhook receiver on loopback: answers each
/// handshake as `answer` says and reports the X-Hook-Secret it received.
pub struct Receiver {
    pub url: String,
    pub secrets: mpsc::Receiver<Option<String>>,
    _thread: JoinHandle<()>,
}

#[derive(Clone, Copy)]
pub enum Answer {
    Echo,
    NoEcho,
    WrongEcho,
    Status500,
}

pub fn start_receiver(answer: Answer, requests: usize) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/webhooks/asana?tenant=acme",
        listener.local_addr().unwrap()
    );
    let (sender, secrets) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        for _ in 0..requests {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut head = Vec::new();
            let mut buffer = [0u8; 1024];
            while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                let read = stream.read(&mut buffer).unwrap();
                if read == 0 {
                    break;
                }
                head.extend_from_slice(&buffer[..read]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            assert!(
                head.starts_with("POST /webhooks/asana?tenant=acme HTTP/1.1\r\n"),
                "{head}"
            );
            let secret = head
                .split("\r\n")
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.eq_ignore_ascii_case("x-hook-secret"))
                .map(|(_, value)| value.trim().to_owned());
            let response = match (answer, &secret) {
                (Answer::Echo, Some(secret)) => format!("HTTP/1.1 200 OK\r\nX-Hook-Secret: {secret}\r\nContent-Length: 0\r\n\r\n"),
                (Answer::WrongEcho, _) => "HTTP/1.1 200 OK\r\nX-Hook-Secret: canary-something-else\r\nContent-Length: 0\r\n\r\n".into(),
                (Answer::Status500, _) => "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".into(),
                _ => "HTTP/1.1 204 No Content\r\n\r\n".into(),
            };
            // Recorded before answering: once the fake has the answer, the test may look.
            sender.send(secret).unwrap();
            stream.write_all(response.as_bytes()).unwrap();
        }
    });
    Receiver {
        url,
        secrets,
        _thread: thread,
    }
}

fn webhook_request(target: &str) -> Value {
    json!({ "data": {
        "resource": PROJECT_GID,
        "target": target,
        "filters": [{ "resource_type": "task", "action": "changed", "fields": ["assignee"] }],
    } })
}

#[tokio::test]
async fn creating_a_webhook_runs_the_handshake_against_the_target_while_the_call_is_open() {
    let fakes = support::start(support::config()).await;
    let receiver = start_receiver(Answer::Echo, 1);
    let (status, created) = asana_post(&fakes, "/webhooks", &webhook_request(&receiver.url)).await;
    assert_eq!(status, 201, "{created}");
    let secret = receiver
        .secrets
        .try_recv()
        .expect("the handshake reached the target before the 201");
    assert_eq!(secret, Some(credential(WEBHOOK_SECRET_BINDING)));
    let webhook = &created["data"];
    assert_eq!(
        (
            &webhook["resource_type"],
            &webhook["active"],
            &webhook["target"]
        ),
        (&json!("webhook"), &json!(true), &json!(receiver.url))
    );
    assert_eq!(webhook["resource"]["gid"], PROJECT_GID);
    assert_eq!(webhook["filters"][0]["fields"], json!(["assignee"]));
    assert!(
        created.get("X-Hook-Secret").is_none(),
        "the secret stays out of the body by default"
    );
    assert_eq!(fakes.asana().webhooks(), std::slice::from_ref(webhook));
}

#[tokio::test]
async fn a_handshake_the_target_does_not_echo_fails_the_create_call() {
    let fakes = support::start(support::config()).await;
    for answer in [Answer::NoEcho, Answer::WrongEcho, Answer::Status500] {
        let receiver = start_receiver(answer, 1);
        let (status, body) = asana_post(&fakes, "/webhooks", &webhook_request(&receiver.url)).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("handshake"));
        assert!(
            receiver.secrets.try_recv().is_ok(),
            "the handshake was sent"
        );
    }
    // Nothing listens there (a port just released).
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (status, _) = asana_post(
        &fakes,
        "/webhooks",
        &webhook_request(&format!("http://{closed}/hook")),
    )
    .await;
    assert_eq!(status, 400);
    assert!(fakes.asana().webhooks().is_empty());
}

#[tokio::test]
async fn webhook_targets_off_loopback_get_403_and_the_real_rule_is_an_option() {
    let fakes = support::start(support::config()).await;
    for target in [
        "https://hooks.agency.test/asana",
        "http://10.0.0.7/hook",
        "http://example.com/hook",
    ] {
        let (status, body) = asana_post(&fakes, "/webhooks", &webhook_request(target)).await;
        assert_eq!(status, 403, "{target}: never contacted, 403: {body}");
    }
    let (status, _) = asana_post(&fakes, "/webhooks", &webhook_request("not a url")).await;
    assert_eq!(status, 400);

    let strict = support::config().asana_webhooks(AsanaWebhookOptions {
        reject_loopback_targets: true,
        secret_in_create_response: false,
    });
    let fakes = support::start(strict).await;
    let receiver = start_receiver(Answer::Echo, 1);
    for target in [receiver.url.clone(), "http://localhost:9/hook".to_owned()] {
        let (status, body) = asana_post(&fakes, "/webhooks", &webhook_request(&target)).await;
        assert_eq!(
            (status, body["errors"][0]["message"].is_string()),
            (403, true),
            "§1: localhost targets get 403"
        );
    }
    assert!(
        receiver.secrets.try_recv().is_err(),
        "a rejected target is never contacted"
    );

    let echoing = support::config().asana_webhooks(AsanaWebhookOptions {
        reject_loopback_targets: false,
        secret_in_create_response: true,
    });
    let fakes = support::start(echoing).await;
    let receiver = start_receiver(Answer::Echo, 1);
    let (status, created) = asana_post(&fakes, "/webhooks", &webhook_request(&receiver.url)).await;
    assert_eq!(
        (status, &created["X-Hook-Secret"]),
        (201, &json!(credential(WEBHOOK_SECRET_BINDING))),
        "§1 step 5, behind an option"
    );
}

#[tokio::test]
async fn events_need_a_sync_token_first_then_report_what_happened_since() {
    let fakes = support::start(support::config()).await;
    let events = |sync: Option<&str>| {
        let path = match sync {
            Some(sync) => format!("/events?resource={TASK_GID}&sync={sync}"),
            None => format!("/events?resource={TASK_GID}"),
        };
        let fakes = &fakes;
        async move { asana_get(fakes, &path).await }
    };
    let (status, first) = events(None).await;
    assert_eq!(status, 412, "§1: the first call gets 412");
    assert!(first["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Sync token invalid or too old"));
    let sync = first["sync"].as_str().unwrap().to_owned();

    let (status, quiet) = events(Some(&sync)).await;
    assert_eq!(
        (status, &quiet["data"], &quiet["has_more"]),
        (200, &json!([]), &json!(false))
    );
    let sync = quiet["sync"].as_str().unwrap().to_owned();

    asana_post(
        &fakes,
        &format!("/tasks/{TASK_GID}/stories"),
        &json!({ "data": { "text": "Report ready" } }),
    )
    .await;
    fakes.asana().push_event(
        TASK_GID,
        fakes.asana().task_event(TASK_GID, "1209000000000001"),
    );
    let (_, since) = events(Some(&sync)).await;
    let actions: Vec<(&Value, &Value)> = since["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| (&event["action"], &event["resource"]["resource_type"]))
        .collect();
    assert_eq!(
        actions,
        [
            (&json!("added"), &json!("story")),
            (&json!("changed"), &json!("task"))
        ]
    );
    assert_eq!(since["data"][0]["parent"]["gid"], TASK_GID);
    let sync = since["sync"].as_str().unwrap().to_owned();

    // Other resources' events stay out; a project sees its task's comments.
    let (_, project) = asana_get(&fakes, &format!("/events?resource={PROJECT_GID}")).await;
    assert_eq!(project["sync"].as_str().map(str::len), Some(32));

    fakes.asana().expire_sync_tokens();
    let (status, expired) = events(Some(&sync)).await;
    assert_eq!(status, 412, "an old token gets 412");
    assert_ne!(
        expired["sync"].as_str().unwrap(),
        sync,
        "with a fresh token"
    );
    let (status, _) = events(Some("not-a-token")).await;
    assert_eq!(status, 412);
    let (status, _) = asana_get(&fakes, "/events").await;
    assert_eq!(status, 400, "resource is required");
}

#[tokio::test]
async fn more_than_a_hundred_events_come_in_pages_with_has_more() {
    let fakes = support::start(support::config()).await;
    let (_, first) = asana_get(&fakes, &format!("/events?resource={TASK_GID}")).await;
    let mut sync = first["sync"].as_str().unwrap().to_owned();
    for _ in 0..150 {
        fakes.asana().push_event(
            TASK_GID,
            fakes.asana().task_event(TASK_GID, "1209000000000001"),
        );
    }
    let mut pages = Vec::new();
    loop {
        let (_, page) =
            asana_get(&fakes, &format!("/events?resource={TASK_GID}&sync={sync}")).await;
        pages.push(page["data"].as_array().unwrap().len());
        sync = page["sync"].as_str().unwrap().to_owned();
        if page["has_more"] == false {
            break;
        }
    }
    assert_eq!(pages, [100, 50]);
}
