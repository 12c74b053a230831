//! Fake Box: the CCG token endpoint, folder items (offset and marker), the
//! 302 to the download host, multipart upload, and Box's error shapes, with
//! the answers held to box/openapi.json (closed).

use std::sync::OnceLock;

use agency_fakes::box_api::{
    CLIENT_ID_BINDING, CLIENT_SECRET_BINDING, ENTERPRISE_ID_BINDING, MINTED_ACCESS_TOKEN_LABEL,
};
use agency_fakes::contract::{contracts_dir, ContractSchemas};
use agency_fakes::{BoxFileFixture, BoxFolderFixture, Fakes, FakesConfig};
use serde_json::{json, Value};

use crate::support::{
    self, credential, header, http, mint_access_token, mint_recorder, status_and_json,
};

pub const REPORTS_FOLDER: &str = "200000000001";
const ARCHIVE_FOLDER: &str = "200000000002";
const READY_FILE: &str = "300000000001";
const PENDING_FILE: &str = "300000000002";

pub fn box_schemas() -> &'static ContractSchemas {
    static SCHEMAS: OnceLock<ContractSchemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        ContractSchemas::load_openapi(&contracts_dir().join("box/openapi.json"))
            .expect("the Box OpenAPI spec converts")
    })
}

pub fn assert_valid(schemas: &ContractSchemas, schema: &str, instance: &Value) {
    if let Err(error) = schemas.validate(schema, instance) {
        panic!("{error}\ninstance: {instance:#}");
    }
}

/// A Reports folder holding an Archive subfolder and `files` small text files,
/// plus one file whose first download answers "not ready".
pub fn box_config(files: usize) -> FakesConfig {
    let mut config = support::config()
        .box_folder(BoxFolderFixture {
            id: REPORTS_FOLDER.into(),
            name: "Reports".into(),
            parent_id: "0".into(),
        })
        .box_folder(BoxFolderFixture {
            id: ARCHIVE_FOLDER.into(),
            name: "Archive".into(),
            parent_id: REPORTS_FOLDER.into(),
        })
        .box_file(BoxFileFixture {
            id: PENDING_FILE.into(),
            name: "fresh.csv".into(),
            parent_id: "0".into(),
            content: "date,sessions\n".into(),
            pending_downloads: 1,
        });
    for index in 0..files {
        config = config.box_file(BoxFileFixture {
            id: (300_000_000_100 + index as u64).to_string(),
            name: format!("report-{index:02}.txt"),
            parent_id: REPORTS_FOLDER.into(),
            content: format!("report {index}"),
            pending_downloads: 0,
        });
    }
    config.box_file(BoxFileFixture {
        id: READY_FILE.into(),
        name: "summary.txt".into(),
        parent_id: "0".into(),
        content: "all good".into(),
        pending_downloads: 0,
    })
}

pub fn ccg_form() -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", credential(CLIENT_ID_BINDING)),
        ("client_secret", credential(CLIENT_SECRET_BINDING)),
        ("box_subject_type", "enterprise".into()),
        ("box_subject_id", credential(ENTERPRISE_ID_BINDING)),
    ]
}

fn with_field(field: &str, value: &str) -> Vec<(&'static str, String)> {
    ccg_form()
        .into_iter()
        .map(|(key, old)| (key, if key == field { value.to_owned() } else { old }))
        .collect()
}

pub async fn post_token(fakes: &Fakes, form: &[(&'static str, String)]) -> reqwest::Response {
    http()
        .post(format!("{}/oauth2/token", fakes.base_urls().box_auth))
        .form(form)
        .send()
        .await
        .unwrap()
}

pub async fn box_token(fakes: &Fakes) -> String {
    let (status, body) = status_and_json(post_token(fakes, &ccg_form()).await).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

pub async fn list_items(
    fakes: &Fakes,
    token: Option<&str>,
    folder: &str,
    query: &str,
) -> reqwest::Response {
    let mut request = http().get(format!(
        "{}/folders/{folder}/items?{query}",
        fakes.base_urls().box_api
    ));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// A multipart body with `parts` (name, filename, bytes) in order.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "agencyos-7f3a9c2e";
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match filename {
            Some(filename) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

pub async fn upload(
    fakes: &Fakes,
    token: &str,
    name: &str,
    parent: &str,
    content: &[u8],
) -> reqwest::Response {
    let attributes = json!({ "name": name, "parent": { "id": parent } }).to_string();
    let (content_type, body) = multipart(&[
        ("attributes", None, attributes.as_bytes()),
        ("file", Some(name), content),
    ]);
    http()
        .post(format!("{}/files/content", fakes.base_urls().box_upload))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_client_credentials_grant_mints_a_fresh_token_and_tells_the_hook_first() {
    let (minted, hook) = mint_recorder();
    let fakes = support::start(box_config(0).on_mint(hook)).await;
    let (status, first) = status_and_json(post_token(&fakes, &ccg_form()).await).await;
    assert_eq!(status, 200, "{first}");
    assert_valid(box_schemas(), "AccessToken", &first);
    assert_eq!(
        (&first["token_type"], &first["restricted_to"]),
        (&json!("bearer"), &json!([]))
    );
    assert!(
        first.get("refresh_token").is_none(),
        "§2: no refresh_token for CCG"
    );
    let second = box_token(&fakes).await;
    let first = first["access_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert!(first.len() >= 16, "at least 96 random bits");
    assert_eq!(
        minted.lock().unwrap().clone(),
        [first, second].map(|token| (MINTED_ACCESS_TOKEN_LABEL.to_owned(), token))
    );
}

#[tokio::test]
async fn token_grant_rejections_are_oauth2_errors() {
    let fakes = support::start(box_config(0)).await;
    let missing_secret: Vec<_> = ccg_form()
        .into_iter()
        .filter(|(key, _)| *key != "client_secret")
        .collect();
    let cases = [
        (with_field("client_id", "canary-wrong"), "invalid_client"),
        (
            with_field("client_secret", "canary-wrong"),
            "invalid_client",
        ),
        (with_field("box_subject_id", "999"), "invalid_grant"),
        (missing_secret, "invalid_request"),
        (
            with_field("grant_type", "refresh_token"),
            "unsupported_grant_type",
        ),
        (
            with_field("box_subject_type", "user"),
            "unauthorized_client",
        ),
    ];
    for (form, error) in cases {
        let (status, body) = status_and_json(post_token(&fakes, &form).await).await;
        assert_eq!((status, &body["error"]), (400, &json!(error)), "{body}");
        assert_valid(box_schemas(), "OAuth2Error", &body);
        assert!(
            !body.to_string().contains("canary"),
            "no echo unless asked: {body}"
        );
    }
    let (_, body) =
        status_and_json(post_token(&fakes, &with_field("box_subject_type", "user")).await).await;
    assert_eq!(
        body["error_description"],
        "The \"box_subject_type\" value is unauthorized for this client_id",
        "§2's example"
    );
}

#[tokio::test]
async fn api_calls_take_only_minted_tokens_and_401_has_an_empty_body_and_a_challenge() {
    let fakes = support::start(box_config(0)).await;
    let missing = list_items(&fakes, None, "0", "").await;
    assert_eq!(missing.status(), 401);
    assert_eq!(
        header(&missing, "www-authenticate").as_deref(),
        Some("Bearer realm=\"Service\"")
    );
    assert!(missing.headers().get("content-type").is_none());
    assert!(
        missing.bytes().await.unwrap().is_empty(),
        "§2: an empty body"
    );

    let google_token = mint_access_token(&fakes).await;
    for wrong in [
        credential(CLIENT_SECRET_BINDING),
        google_token,
        "canary-never-minted".to_owned(),
    ] {
        let response = list_items(&fakes, Some(&wrong), "0", "").await;
        assert_eq!(response.status(), 401);
        let challenge = header(&response, "www-authenticate").unwrap();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let token = box_token(&fakes).await;
    assert_eq!(
        list_items(&fakes, Some(&token), "0", "").await.status(),
        200
    );
    let upload_without = upload(&fakes, "canary-never-minted", "x.txt", "0", b"x").await;
    assert_eq!(
        upload_without.status(),
        401,
        "the upload host checks the same tokens"
    );
}

#[tokio::test]
async fn folder_items_page_by_offset_and_by_marker() {
    let fakes = support::start(box_config(5)).await;
    let token = box_token(&fakes).await;
    // Offset mode (§2 "Pagination"): offset += limit until offset >= total_count.
    let mut offset = 0;
    let mut by_offset = Vec::new();
    loop {
        let response = list_items(
            &fakes,
            Some(&token),
            REPORTS_FOLDER,
            &format!("limit=2&offset={offset}"),
        )
        .await;
        let (status, page) = status_and_json(response).await;
        assert_eq!(status, 200, "{page}");
        assert_valid(box_schemas(), "Items", &page);
        assert_eq!(
            (page["total_count"].as_u64(), page["limit"].as_u64()),
            (Some(6), Some(2))
        );
        assert_eq!(page["offset"], offset);
        by_offset.extend(page["entries"].as_array().unwrap().clone());
        offset += 2;
        if offset >= 6 {
            break;
        }
    }
    assert_eq!(by_offset.len(), 6);
    assert_eq!(by_offset[0]["type"], "folder", "folders first");
    assert_eq!(by_offset[0]["name"], "Archive");
    assert!(by_offset[1..].iter().all(|entry| entry["type"] == "file"));

    // Marker mode: follow next_marker; no total_count, offset or order.
    let mut marker = String::new();
    let mut by_marker = Vec::new();
    loop {
        let response = list_items(
            &fakes,
            Some(&token),
            REPORTS_FOLDER,
            &format!("usemarker=true&limit=4&marker={marker}"),
        )
        .await;
        let (status, page) = status_and_json(response).await;
        assert_eq!(status, 200, "{page}");
        assert_valid(box_schemas(), "Items", &page);
        for absent in ["total_count", "offset", "order"] {
            assert!(page.get(absent).is_none(), "marker mode omits {absent}");
        }
        by_marker.extend(page["entries"].as_array().unwrap().clone());
        match page["next_marker"].as_str() {
            Some(next) => marker = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(by_marker, by_offset, "both modes list the same items");

    let (_, clamped) =
        status_and_json(list_items(&fakes, Some(&token), REPORTS_FOLDER, "limit=5000").await).await;
    assert_eq!(
        clamped["limit"], 1000,
        "§2: max 1000, and Box says what it used"
    );
}

#[tokio::test]
async fn folder_item_errors_are_client_errors() {
    let fakes = support::start(box_config(0)).await;
    let token = box_token(&fakes).await;
    let cases = [
        ("999", "", 404, "not_found"),
        ("d_12", "", 405, "method_not_allowed"),
        ("0", "offset=10000", 400, "bad_request"),
        (
            "0",
            "usemarker=true&marker=not-a-marker",
            400,
            "bad_request",
        ),
    ];
    for (folder, query, status, code) in cases {
        let (got, body) =
            status_and_json(list_items(&fakes, Some(&token), folder, query).await).await;
        assert_eq!(
            (got, &body["code"]),
            (status, &json!(code)),
            "{folder}?{query}: {body}"
        );
        assert_eq!(
            (&body["type"], &body["status"]),
            (&json!("error"), &json!(status))
        );
        assert!(body["request_id"].is_string() && body["help_url"].is_string());
        assert_valid(box_schemas(), "ClientError", &body);
    }
}

#[tokio::test]
async fn an_upload_is_listed_then_downloaded_from_the_download_host_without_authorization() {
    let fakes = support::start(box_config(0)).await;
    let token = box_token(&fakes).await;
    let content = b"date,sessions\n2026-11-01,1234\n".to_vec();
    let (status, files) =
        status_and_json(upload(&fakes, &token, "traffic.csv", REPORTS_FOLDER, &content).await)
            .await;
    assert_eq!(status, 201, "{files}");
    assert_valid(box_schemas(), "Files", &files);
    let file = &files["entries"][0];
    assert_eq!(
        (&files["total_count"], &file["name"], &file["size"]),
        (&json!(1), &json!("traffic.csv"), &json!(content.len()))
    );
    assert_eq!(file["parent"]["id"], REPORTS_FOLDER);
    assert_eq!(
        file["path_collection"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|folder| folder["name"].clone())
            .collect::<Vec<_>>(),
        [json!("All Files"), json!("Reports")]
    );
    let file_id = file["id"].as_str().unwrap().to_owned();

    let (_, items) =
        status_and_json(list_items(&fakes, Some(&token), REPORTS_FOLDER, "").await).await;
    assert!(items["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|entry| entry["id"] == file_id.as_str()));

    // §2: 302 with a Location on the download host; the client must follow it.
    let content_url = format!("{}/files/{file_id}/content", fakes.base_urls().box_api);
    let redirect = no_redirects()
        .get(&content_url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 302);
    let location = header(&redirect, "location").unwrap();
    assert!(
        location.starts_with(&format!("{}/d/1/", fakes.base_urls().box_download)),
        "{location}"
    );
    assert!(!location.contains(&token), "the link carries no token");

    let forwarded = http()
        .get(&location)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        forwarded.status(),
        400,
        "the download host refuses Authorization"
    );
    let (_, body) = status_and_json(forwarded).await;
    assert_valid(box_schemas(), "ClientError", &body);
    let fetched = http().get(&location).send().await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(
        header(&fetched, "content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), content);

    // A redirect-following client drops Authorization at the other origin, so it just works.
    let followed = http()
        .get(&content_url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(followed.status(), 200);
    assert_eq!(followed.bytes().await.unwrap().to_vec(), content);
    // §2: the documented access_token query parameter works on the content endpoint.
    let by_query = no_redirects()
        .get(format!("{content_url}?access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 302);

    let stored = fakes.box_files();
    assert!(stored
        .iter()
        .any(|file| file.id == file_id && file.content == content));
    let journal = fakes.journal();
    let downloads: Vec<_> = journal
        .iter()
        .filter(|entry| entry.fake == "box_download")
        .collect();
    assert_eq!(
        downloads
            .iter()
            .map(|entry| entry.status)
            .collect::<Vec<_>>(),
        [400, 200, 200]
    );
}

#[tokio::test]
async fn upload_rules_attributes_first_unique_names_known_parents() {
    let fakes = support::start(box_config(0)).await;
    let token = box_token(&fakes).await;
    let url = format!("{}/files/content", fakes.base_urls().box_upload);
    let attributes = json!({ "name": "late.txt", "parent": { "id": "0" } }).to_string();
    let (content_type, body) = multipart(&[
        ("file", Some("late.txt"), b"x"),
        ("attributes", None, attributes.as_bytes()),
    ]);
    let response = http()
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, error) = status_and_json(response).await;
    // The spec text's code for this case is outside ClientError's `code` enum.
    assert_eq!(
        (status, &error["code"]),
        (400, &json!("metadata_after_file_contents")),
        "{error}"
    );
    let mut as_enum = error.clone();
    as_enum["code"] = json!("bad_request");
    assert_valid(box_schemas(), "ClientError", &as_enum);

    let (status, conflict) =
        status_and_json(upload(&fakes, &token, "SUMMARY.TXT", "0", b"again").await).await;
    assert_eq!(
        (status, &conflict["code"]),
        (409, &json!("item_name_in_use")),
        "{conflict}"
    );
    assert_eq!(conflict["context_info"]["conflicts"]["id"], READY_FILE);
    let (status, missing) =
        status_and_json(upload(&fakes, &token, "new.txt", "404404", b"x").await).await;
    assert_eq!((status, &missing["code"]), (404, &json!("not_found")));
    assert_valid(box_schemas(), "ClientError", &missing);
    let (status, invalid) =
        status_and_json(upload(&fakes, &token, "a/b.txt", "0", b"x").await).await;
    assert_eq!(
        (status, &invalid["code"]),
        (400, &json!("item_name_invalid"))
    );
    assert_valid(box_schemas(), "ClientError", &invalid);
    assert_eq!(
        fakes.box_files().len(),
        2,
        "nothing stored by the refused uploads"
    );
}

#[tokio::test]
async fn a_file_not_ready_answers_202_with_retry_after_then_redirects() {
    let fakes = support::start(box_config(0)).await;
    let token = box_token(&fakes).await;
    let url = format!("{}/files/{PENDING_FILE}/content", fakes.base_urls().box_api);
    let first = no_redirects()
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            first.status().as_u16(),
            header(&first, "retry-after").as_deref()
        ),
        (202, Some("1"))
    );
    let second = no_redirects()
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 302);
    let (status, body) = status_and_json(
        no_redirects()
            .get(format!("{}/files/123/content", fakes.base_urls().box_api))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, &body["code"]), (404, &json!("not_found")));
}

#[test]
fn the_box_schemas_are_closed_so_passing_them_means_something() {
    let entry = json!({ "type": "file", "id": "1", "name": "a.txt", "etag": "0" });
    let items =
        |entry: Value| json!({ "total_count": 1, "entries": [entry], "offset": 0, "limit": 100 });
    assert_valid(box_schemas(), "Items", &items(entry.clone()));
    let mut undeclared = entry.clone();
    undeclared["sha256"] = json!("x");
    assert!(box_schemas().validate("Items", &items(undeclared)).is_err());
    let mut wrong_type = entry;
    wrong_type["type"] = json!("folderish");
    assert!(box_schemas().validate("Items", &items(wrong_type)).is_err());
    let error =
        json!({ "type": "error", "status": 429, "code": "rate_limit_exceeded", "message": "x" });
    assert!(
        box_schemas().validate("ClientError", &error).is_err(),
        "§2's guessed 429 code is outside the spec enum, so the fake sends too_many_requests"
    );
    assert!(box_schemas()
        .validate(
            "AccessToken",
            &json!({ "access_token": "t", "token_type": "Bearer" })
        )
        .is_err());
}
