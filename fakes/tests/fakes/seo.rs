//! AccuRanker, DataForSEO, Semrush and Ahrefs: each accepts its own canary
//! where its provider takes it, rejects anything else in its own shape, and
//! serves its documented shapes (PROVIDER-NOTES §5a–5d).

use agency_fakes::{accuranker, ahrefs, dataforseo, semrush, Fakes};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::support::{self, credential, http, status_and_json};

// ---- AccuRanker -------------------------------------------------------------

pub async fn accuranker_get(
    fakes: &Fakes,
    path: &str,
    authorization: Option<String>,
) -> reqwest::Response {
    let mut request = http().get(format!("{}{path}", fakes.base_urls().accuranker));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

pub fn accuranker_token() -> Option<String> {
    Some(format!("Token {}", credential(accuranker::API_KEY_BINDING)))
}

#[tokio::test]
async fn accuranker_takes_its_key_as_token_and_rejects_everything_else_drf_style() {
    let fakes = support::start(support::config()).await;
    let (status, body) =
        status_and_json(accuranker_get(&fakes, "/accounts/?fields=id", accuranker_token()).await)
            .await;
    assert_eq!((status, body), (200, json!([{ "id": 7001 }])));

    let key = credential(accuranker::API_KEY_BINDING);
    for (authorization, detail) in [
        (
            Some("Token canary-not-the-key".to_owned()),
            "Invalid token.",
        ),
        // The right key under another scheme is not a token.
        (Some(format!("Bearer {key}")), "Invalid token."),
        (Some(key.clone()), "Invalid token."),
        (None, "Authentication credentials were not provided."),
    ] {
        let (status, body) =
            status_and_json(accuranker_get(&fakes, "/domains/", authorization).await).await;
        assert_eq!((status, body), (401, json!({ "detail": detail })));
    }
}

#[tokio::test]
async fn accuranker_answers_bare_arrays_of_the_requested_dotted_fields_paged_by_limit_and_offset() {
    let fakes = support::start(support::config()).await;
    let (_, domains) = status_and_json(
        accuranker_get(&fakes, "/domains/?fields=id,domain", accuranker_token()).await,
    )
    .await;
    let domains = domains.as_array().expect("§5a: a bare JSON array").clone();
    assert_eq!(domains.len(), 3);
    assert_eq!(
        domains[0],
        json!({ "id": 501, "domain": "acme-outdoor.example" })
    );

    let path = "/domains/501/keywords/?fields=id,keyword,search_type,search_locale.country_code,search_volume.search_volume";
    let (_, all) = status_and_json(accuranker_get(&fakes, path, accuranker_token()).await).await;
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), 12);
    let first = &all[0];
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "keyword",
            "search_locale",
            "search_type",
            "search_volume"
        ]
    );
    assert_eq!(
        first["search_locale"],
        json!({ "country_code": "US" }),
        "dotted fields nest"
    );
    assert!(first["search_volume"]["search_volume"].is_u64());
    assert_eq!(first["search_type"], 1, "§5a: 1 is desktop");

    // §5a: no next URL; the last page is the one shorter than `limit`.
    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let (_, page) = status_and_json(
            accuranker_get(
                &fakes,
                &format!("{path}&limit=5&offset={offset}"),
                accuranker_token(),
            )
            .await,
        )
        .await;
        let page = page.as_array().unwrap().clone();
        let last = page.len() < 5;
        offset += page.len();
        paged.extend(page);
        if last {
            break;
        }
    }
    assert_eq!(paged, all);
}

#[tokio::test]
async fn accuranker_ranks_cover_the_period_day_by_day_and_bad_input_is_a_drf_error() {
    let fakes = support::start(support::config()).await;
    let path = "/domains/502/keywords/?fields=id,ranks&period_from=2026-11-01&period_to=2026-11-30";
    let (status, keywords) =
        status_and_json(accuranker_get(&fakes, path, accuranker_token()).await).await;
    assert_eq!(status, 200, "{keywords}");
    let ranks = keywords[0]["ranks"].as_array().unwrap();
    assert_eq!(ranks.len(), 30);
    assert_eq!(ranks[0]["date"], "2026-11-01");
    assert!(ranks[29]["rank"].as_u64().unwrap() >= 1);
    let (_, again) = status_and_json(accuranker_get(&fakes, path, accuranker_token()).await).await;
    assert_eq!(again, keywords, "ranks depend only on keyword and day");

    for (path, status) in [
        ("/domains/999/keywords/", 404),
        ("/domains/501/keywords/?fields=id,no_such_field", 400),
        ("/domains/501/keywords/?period_from=2026-11-01", 400),
        (
            "/domains/501/keywords/?period_from=2026-13-01&period_to=2026-12-01",
            400,
        ),
        ("/domains/?limit=ten", 400),
    ] {
        let (got, body) =
            status_and_json(accuranker_get(&fakes, path, accuranker_token()).await).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body["detail"].is_string(), "{path}: {body}");
    }
}

// ---- DataForSEO -------------------------------------------------------------

pub fn dataforseo_basic(login: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{login}:{password}")))
}

pub fn dataforseo_auth() -> String {
    dataforseo_basic(
        &credential(dataforseo::LOGIN_BINDING),
        &credential(dataforseo::PASSWORD_BINDING),
    )
}

pub async fn dataforseo_post(
    fakes: &Fakes,
    path: &str,
    authorization: Option<String>,
    body: &[u8],
) -> (u16, Value) {
    let mut request = http()
        .post(format!("{}{path}", fakes.base_urls().dataforseo))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    status_and_json(request.send().await.unwrap()).await
}

pub async fn dataforseo_get(fakes: &Fakes, path: &str) -> (u16, Value) {
    status_and_json(
        http()
            .get(format!("{}{path}", fakes.base_urls().dataforseo))
            .header("authorization", dataforseo_auth())
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub fn serp_task() -> Value {
    json!([{ "keyword": "hiking boots", "location_code": 2840, "language_code": "en", "device": "desktop", "depth": 5 }])
}

const LIVE: &str = "/serp/google/organic/live/advanced";

#[tokio::test]
async fn dataforseo_basic_auth_carries_a_password_with_every_awkward_character() {
    let password = credential(dataforseo::PASSWORD_BINDING);
    for character in ['/', '+', '=', ':', '&', '"', '<', '%', 'é'] {
        assert!(
            password.contains(character),
            "the test password lacks {character:?}"
        );
    }
    let fakes = support::start(support::config()).await;
    let body = serp_task().to_string().into_bytes();
    let (status, envelope) = dataforseo_post(&fakes, LIVE, Some(dataforseo_auth()), &body).await;
    assert_eq!(
        (status, &envelope["status_code"]),
        (200, &json!(20000)),
        "{envelope}"
    );

    let login = credential(dataforseo::LOGIN_BINDING);
    let truncated_at_colon = password.split(':').next().unwrap().to_owned();
    for authorization in [
        Some(dataforseo_basic(&login, "canary-wrong-password")),
        Some(dataforseo_basic("canary-wrong-login", &password)),
        // A client splitting the password at its `:` (RFC 7617: only the first `:` separates).
        Some(dataforseo_basic(&login, &truncated_at_colon)),
        Some(format!(
            "Basic {}",
            STANDARD.encode(format!("{login}{password}"))
        )),
        Some(format!("Bearer {password}")),
        None,
    ] {
        let (status, envelope) = dataforseo_post(&fakes, LIVE, authorization.clone(), &body).await;
        assert_eq!(status, 401, "{authorization:?}");
        assert_eq!(envelope["status_code"], 40100);
        assert_eq!(envelope["tasks"], Value::Null);
        assert!(envelope["status_message"].is_string());
    }
}

#[tokio::test]
async fn dataforseo_live_serp_answers_the_task_envelope_and_echoes_the_task_in_data() {
    let fakes = support::start(support::config()).await;
    let mut task = serp_task();
    task[0]["postback_url"] = json!("https://receiver.agency.test/dfs?token=canary-in-a-url");
    let (status, envelope) = dataforseo_post(
        &fakes,
        LIVE,
        Some(dataforseo_auth()),
        task.to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            &envelope["status_code"],
            &envelope["status_message"],
            &envelope["tasks_count"],
            &envelope["tasks_error"]
        ),
        (&json!(20000), &json!("Ok."), &json!(1), &json!(0))
    );
    let task = &envelope["tasks"][0];
    assert_eq!(task["status_code"], 20000);
    assert_eq!(
        task["path"],
        json!(["v3", "serp", "google", "organic", "live", "advanced"])
    );
    assert_eq!(task["data"]["keyword"], "hiking boots");
    assert_eq!(
        task["data"]["postback_url"], "https://receiver.agency.test/dfs?token=canary-in-a-url",
        "§5b: tasks[].data echoes postback URLs"
    );
    let result = &task["result"][0];
    assert_eq!(result["keyword"], "hiking boots");
    assert_eq!(result["items"].as_array().unwrap().len(), 5, "depth 5");
    assert_eq!(result["items"][0]["type"], "organic");
    assert_eq!(result["items"][0]["rank_absolute"], 1);

    let (_, again) = dataforseo_post(
        &fakes,
        LIVE,
        Some(dataforseo_auth()),
        serp_task().to_string().as_bytes(),
    )
    .await;
    assert_eq!(
        again["tasks"][0]["result"], envelope["tasks"][0]["result"],
        "results depend only on the task"
    );
}

#[tokio::test]
async fn dataforseo_logical_errors_are_http_200_at_request_and_task_level() {
    let fakes = support::start(support::config()).await;
    for body in [
        &b"not json"[..],
        b"{\"keyword\":\"an object, not an array\"}",
        b"[]",
        b"[1]",
    ] {
        let (status, envelope) = dataforseo_post(&fakes, LIVE, Some(dataforseo_auth()), body).await;
        assert_eq!(
            (status, &envelope["status_code"]),
            (200, &json!(40503)),
            "{envelope}"
        );
        assert_eq!(envelope["tasks"], Value::Null);
    }
    let tasks = json!([{ "keyword": "hiking boots" }, { "location_code": 2840 }, { "keyword": "x", "device": "toaster" }]);
    let (status, envelope) = dataforseo_post(
        &fakes,
        LIVE,
        Some(dataforseo_auth()),
        tasks.to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        envelope["status_code"], 20000,
        "the request succeeds while tasks fail"
    );
    assert_eq!(
        (&envelope["tasks_count"], &envelope["tasks_error"]),
        (&json!(3), &json!(2))
    );
    let codes: Vec<&Value> = envelope["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| &task["status_code"])
        .collect();
    assert_eq!(codes, [&json!(20000), &json!(40501), &json!(40501)]);
    assert_eq!(
        envelope["tasks"][1]["status_message"],
        "Invalid Field: 'keyword'."
    );
    assert_eq!(envelope["tasks"][1]["result"], Value::Null);
}

#[tokio::test]
async fn dataforseo_standard_mode_posts_lists_ready_and_collects_each_task() {
    let fakes = support::start(support::config()).await;
    let tasks =
        json!([{ "keyword": "trail shoes", "tag": "client-acme" }, { "keyword": "rain jackets" }]);
    let (_, posted) = dataforseo_post(
        &fakes,
        "/serp/google/organic/task_post",
        Some(dataforseo_auth()),
        tasks.to_string().as_bytes(),
    )
    .await;
    let ids: Vec<String> = posted["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| {
            assert_eq!(
                (&task["status_code"], &task["status_message"]),
                (&json!(20100), &json!("Task Created."))
            );
            assert_eq!(task["result"], Value::Null);
            task["id"].as_str().unwrap().to_owned()
        })
        .collect();

    let (_, ready) = dataforseo_get(&fakes, "/serp/google/organic/tasks_ready").await;
    let listed: Vec<&Value> = ready["tasks"][0]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| &task["id"])
        .collect();
    assert_eq!(listed, [&json!(ids[0]), &json!(ids[1])]);
    assert_eq!(ready["tasks"][0]["result"][0]["tag"], "client-acme");
    let endpoint = ready["tasks"][0]["result"][0]["endpoint_advanced"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        endpoint,
        format!("/v3/serp/google/organic/task_get/advanced/{}", ids[0])
    );

    let (status, got) = dataforseo_get(&fakes, endpoint.strip_prefix("/v3").unwrap()).await;
    assert_eq!(
        (status, &got["tasks"][0]["status_code"]),
        (200, &json!(20000))
    );
    assert_eq!(got["tasks"][0]["result"][0]["keyword"], "trail shoes");
    let (_, ready) = dataforseo_get(&fakes, "/serp/google/organic/tasks_ready").await;
    assert_eq!(
        ready["tasks"][0]["result"].as_array().unwrap().len(),
        1,
        "collected tasks leave tasks_ready"
    );

    let (status, missing) = dataforseo_get(
        &fakes,
        "/serp/google/organic/task_get/advanced/00000000-0000-0000-0000-000000000000",
    )
    .await;
    assert_eq!(
        (
            status,
            &missing["status_code"],
            &missing["tasks"][0]["status_code"]
        ),
        (200, &json!(20000), &json!(40401))
    );

    let (_, errors) = dataforseo_get(&fakes, "/appendix/errors").await;
    let listed: Vec<u64> = errors["tasks"][0]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["code"].as_u64().unwrap())
        .collect();
    for code in [20000, 40100, 40501, 40503] {
        assert!(listed.contains(&code), "/v3/appendix/errors lists {code}");
    }
}

// ---- Semrush ----------------------------------------------------------------

pub async fn semrush_get(fakes: &Fakes, path_and_query: &str) -> (u16, String, String) {
    let response = http()
        .get(format!("{}{path_and_query}", fakes.base_urls().semrush))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, content_type, response.text().await.unwrap())
}

pub fn semrush_key() -> String {
    credential(semrush::API_KEY_BINDING)
}

#[tokio::test]
async fn semrush_takes_its_key_in_the_query_and_says_error_120_with_http_200_otherwise() {
    let fakes = support::start(support::config()).await;
    let (status, content_type, text) = semrush_get(&fakes, &format!("/?type=domain_ranks&key={}&domain=acme-outdoor.example&database=us&export_columns=Db,Dn,Rk", semrush_key())).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(
        text.starts_with("Database;Domain;Rank\r\nus;acme-outdoor.example;"),
        "{text}"
    );

    for query in [
        "/?type=domain_ranks&key=canary-not-the-key&domain=a.example",
        "/?type=domain_ranks&domain=a.example",
    ] {
        let (status, content_type, text) = semrush_get(&fakes, query).await;
        // §5c: plain-text errors, HTTP 200.
        assert_eq!(
            (status, text.as_str()),
            (200, "ERROR 120 :: WRONG KEY - ID PAIR"),
            "{query}"
        );
        assert!(content_type.starts_with("text/plain"));
    }
    // The key in a header is not where Semrush takes it.
    let response = http()
        .get(format!(
            "{}/?type=domain_ranks&domain=a.example",
            fakes.base_urls().semrush
        ))
        .header("authorization", format!("Bearer {}", semrush_key()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.text().await.unwrap(),
        "ERROR 120 :: WRONG KEY - ID PAIR"
    );
}

#[tokio::test]
async fn semrush_answers_semicolon_csv_with_crlf_paged_by_display_limit_and_offset() {
    let fakes = support::start(support::config()).await;
    let base = format!("/?type=domain_organic&key={}&domain=acme-outdoor.example&database=uk&export_columns=Ph,Po,Nq,Ur", semrush_key());
    let (_, _, all) = semrush_get(&fakes, &base).await;
    let lines: Vec<&str> = all.split("\r\n").collect();
    assert_eq!(lines[0], "Keyword;Position;Search Volume;Url");
    assert_eq!(lines.len(), 26);
    assert!(lines[1..].iter().all(|line| line.split(';').count() == 4));
    assert!(
        !all.contains('\n') || all.matches("\r\n").count() == all.matches('\n').count(),
        "only CRLF breaks"
    );

    let (_, _, page) =
        semrush_get(&fakes, &format!("{base}&display_limit=3&display_offset=2")).await;
    let page: Vec<&str> = page.split("\r\n").collect();
    assert_eq!(page[0], lines[0]);
    assert_eq!(&page[1..], &lines[3..6]);

    let (_, _, escaped) =
        semrush_get(&fakes, &format!("{base}&display_limit=1&export_escape=1")).await;
    assert!(escaped.starts_with("\"Keyword\";\"Position\""), "{escaped}");

    let (status, _, nothing) = semrush_get(
        &fakes,
        &format!(
            "/?type=domain_ranks&key={}&domain=no-data.invalid",
            semrush_key()
        ),
    )
    .await;
    assert_eq!(
        (status, nothing.as_str()),
        (200, "ERROR 50 :: NOTHING FOUND")
    );
    let (_, _, backlinks) = semrush_get(&fakes, &format!("/analytics/v1/?type=backlinks_overview&key={}&target=acme-outdoor.example&target_type=root_domain", semrush_key())).await;
    assert!(
        backlinks.starts_with("ascore;total;domains_num"),
        "{backlinks}"
    );
}

// ---- Ahrefs -----------------------------------------------------------------

pub async fn ahrefs_get(fakes: &Fakes, path_and_query: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = http()
        .get(format!("{}{path_and_query}", fakes.base_urls().ahrefs))
        .header("accept", "application/json");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    status_and_json(request.send().await.unwrap()).await
}

pub fn ahrefs_key() -> String {
    credential(ahrefs::API_KEY_BINDING)
}

#[tokio::test]
async fn ahrefs_takes_a_bearer_key_and_nests_each_answer_under_its_key() {
    let fakes = support::start(support::config()).await;
    let key = ahrefs_key();
    let (status, rating) = ahrefs_get(
        &fakes,
        "/site-explorer/domain-rating?target=acme-outdoor.example&date=2026-11-30",
        Some(&key),
    )
    .await;
    assert_eq!(status, 200, "{rating}");
    // §5d: the value is nested under the same key.
    assert!(rating["domain_rating"]["domain_rating"].is_f64());
    assert!(rating["domain_rating"]["ahrefs_rank"].is_u64());
    let (_, stats) = ahrefs_get(
        &fakes,
        "/site-explorer/backlinks-stats?target=acme-outdoor.example&date=2026-11-30&mode=domain",
        Some(&key),
    )
    .await;
    assert!(
        stats["metrics"]["live"].as_u64().unwrap()
            <= stats["metrics"]["all_time"].as_u64().unwrap()
    );
    let (_, metrics) = ahrefs_get(
        &fakes,
        "/site-explorer/metrics?target=acme-outdoor.example&date=2026-11-30",
        Some(&key),
    )
    .await;
    assert!(metrics["metrics"]["org_traffic"].is_u64());

    for token in [Some("canary-not-the-key"), None] {
        let (status, body) = ahrefs_get(
            &fakes,
            "/site-explorer/metrics?target=a.example&date=2026-11-30",
            token,
        )
        .await;
        assert_eq!(status, 401);
        assert!(body["error"].is_string(), "{body}");
    }
    // v2-era `token=` in the query is not accepted by v3.
    let (status, _) = ahrefs_get(
        &fakes,
        &format!("/site-explorer/metrics?target=a.example&date=2026-11-30&token={key}"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    for query in [
        "target=a.example",
        "date=2026-11-30",
        "target=a.example&date=30-11-2026",
        "target=a.example&date=2026-11-30&mode=everything",
    ] {
        let (status, body) = ahrefs_get(
            &fakes,
            &format!("/site-explorer/backlinks-stats?{query}"),
            Some(&key),
        )
        .await;
        assert_eq!(status, 400, "{query}");
        assert!(body["error"].is_string());
    }
}
